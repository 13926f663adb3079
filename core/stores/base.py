"""The public interface of a store, and loading a store kind by name.

This docstring is the one place the plugin API is documented. A store kind is a
:class:`Store` subclass: built in (one module in ``secretbridge.stores`` plus one line in
``BUILTIN_KINDS``) or registered by another package under the ``secretbridge.stores``
entry-point group (``mykind = my_package.module:MyStore``). Everything a plugin needs is
exported from ``secretbridge.stores``: ``Store``, ``StoredValue``, ``Capabilities``,
``StoreOptions``, ``TransportOptions``, ``BackoffOptions``, ``StoreContext``, ``Lazy``,
``import_sdk``, ``load_store_class``, ``BUILTIN_KINDS``.

What a store class declares
    ``kind``            the name used in ``kind = ...`` and as ``KIND://`` in references.
    ``Options``         a frozen dataclass extending ``StoreOptions`` (remote stores:
                        ``TransportOptions`` or ``BackoffOptions``); the store's config table
                        is validated into it, unknown keys and wrong types are errors naming
                        the key, and ``__post_init__`` may raise ``ValueError("key: why")``.
    ``capabilities``    a ``Capabilities``; set a different one per instance in ``__init__``
                        when it depends on the options.
    ``default_naming``  the kind's ``NamingRule`` (logical -> physical names); default plain.
    ``naming_presets``  ``{"airflow": rule, ...}``: rules picked with ``naming = { preset = ... }``.

What the resolver guarantees to a store
    * Every ``path`` is a physical name: the logical name already went through the
      store's naming rule, or the user wrote ``STORE://path`` literally. A store still
      checks what its backend cannot take (InvalidReference).
    * ``check_size`` was called before ``put``: a store declares its limit as
      ``capabilities.max_value_size`` instead of checking in ``put``.
    * Methods are called from several threads at once (``get_many`` fans out over a pool
      when ``batch_size`` is None); a store builds shared clients once (``Lazy``).
    * ``close`` is called once, when the resolver closes; nothing is called after it.

Methods and what they raise (every error is a ``SecretBridgeError`` naming the path and
the store, never a value; an SDK exception that may hold a value is not chained)
    ``get(path, version=None) -> StoredValue``  SecretNotFound (the store positively
        answered so), StoreUnavailable (it could not answer), AccessDenied,
        InvalidReference (a path or version the store cannot take), InvalidSecretValue
        (the stored value cannot be decoded).
    ``get_many(paths) -> {path: StoredValue | error}``  the latest value of each path; a
        failure takes the value's place. Default: ``get`` for each path.
    ``list_names(prefix="") -> Iterable[str]``  physical names starting with ``prefix``;
        StoreUnavailable or AccessDenied if the store cannot list.
    ``versions(path) -> list[str]``  version ids, oldest first; SecretNotFound for a missing
        path. A store without the ``versions`` capability keeps one unnamed value per name:
        the default returns ``[]`` for a path that exists.
    ``put(path, value) -> str | None``  writes a new value, returns its version id (None
        where the store has none); ReadOnlyStore unless ``capabilities.writable``.
    ``delete(path)``  removes the secret (every version); SecretNotFound if absent.
    ``health()``  returns if the store can serve reads, else raises StoreUnavailable.
    ``close()``  releases clients and connections.
"""

from __future__ import annotations

import importlib
import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Generic, TypeVar

from ..config import validate
from ..errors import (
    ConfigError,
    InvalidSecretValue,
    MissingDependency,
    ReadOnlyStore,
    SecretBridgeError,
    SecretNotFound,
)
from ..naming import PLAIN, NamingRule
from ..values import encode_text
from . import BUILTIN_KINDS, ENTRY_POINT_GROUP

T = TypeVar("T")


class Lazy(Generic[T]):
    """A value built on first use, once, even when threads race for it: a store's SDK
    client, which the resolver's thread pool shares."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                value = self._value
        return value

    def take(self) -> T | None:
        """Hand the value over (to be closed); the next ``get`` builds a new one."""
        with self._lock:
            value, self._value = self._value, None
        return value


@dataclass(frozen=True)
class StoredValue:
    """What a store returns: the raw value and the version it came from."""

    value: str | bytes = field(repr=False)
    version: str | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a store can do. ``batch_size`` is how many names one ``get_many`` call may
    take; None means the store has no batch API and the resolver fans ``get`` out in
    parallel instead. ``max_value_size`` is the largest value in bytes (None: no
    documented limit); the resolver refuses a larger one before it is sent."""

    writable: bool = False
    versions: bool = False
    binary: bool = False
    batch_size: int | None = None
    max_value_size: int | None = None


@dataclass(frozen=True)
class StoreContext:
    """Where a store may keep files: the secretbridge home, and the folder that relative
    paths in the config are read against."""

    home: Path
    base_dir: Path


@dataclass(frozen=True)
class StoreOptions:
    """Base of each store's settings (a dataclass); unknown keys are an error naming
    the key."""


@dataclass(frozen=True)
class TransportOptions(StoreOptions):
    """Settings of a store reached over the network, with the same names and checks in
    every remote store. A subclass may change a default (``max_attempts: int = 5``); any
    field it adds whose name ends in ``timeout`` is checked like ``timeout``."""

    timeout: float = 10.0  # seconds to wait for an answer, per attempt
    max_attempts: int = 3  # attempts per call, the first one included

    def __post_init__(self) -> None:
        for option in fields(self):
            value = getattr(self, option.name)
            if option.name.endswith("timeout") and not (0 < value < math.inf):
                raise ValueError(f"{option.name}: must be more than 0 seconds")
        if self.max_attempts < 1:
            raise ValueError("max_attempts: must be at least 1")


@dataclass(frozen=True)
class BackoffOptions(TransportOptions):
    """Transport settings of a store whose retry waits can be tuned: ``backoff`` is the
    first wait, doubled per retry (with jitter), never over ``backoff_max``, which also
    caps a server's Retry-After."""

    backoff: float = 0.5  # seconds
    backoff_max: float = 10.0  # seconds

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("backoff", "backoff_max"):
            if not 0 <= getattr(self, key) < math.inf:
                raise ValueError(f"{key}: must be zero or more seconds")


class Store(ABC):
    """One configured store. Works in physical names; the resolver maps logical names
    through ``naming`` before it calls a store. See the module docstring."""

    kind: ClassVar[str]
    Options: ClassVar[type[StoreOptions]] = StoreOptions
    default_naming: ClassVar[NamingRule] = PLAIN
    naming_presets: ClassVar[Mapping[str, NamingRule]] = {}
    capabilities: Capabilities = Capabilities()

    def __init__(self, name: str, options: Any, *, naming: NamingRule, context: StoreContext):
        self.name = name
        self.options = options
        self.naming = naming
        self.context = context

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    @abstractmethod
    def get(self, path: str, version: str | None = None) -> StoredValue:
        """The value at ``path`` (the latest, or ``version``)."""

    def get_many(self, paths: Sequence[str]) -> dict[str, StoredValue | SecretBridgeError]:
        """The latest value of each path; a failure is returned in place of its value so
        one missing name does not hide the others."""
        out: dict[str, StoredValue | SecretBridgeError] = {}
        for path in paths:
            try:
                out[path] = self.get(path)
            except SecretBridgeError as error:
                out[path] = error
        return out

    @abstractmethod
    def list_names(self, prefix: str = "") -> Iterable[str]:
        """Physical names that start with ``prefix``."""

    def versions(self, path: str) -> list[str]:
        """Version ids of ``path``, oldest first; ``[]`` from a store without versions."""
        self.get(path)  # SecretNotFound if it does not exist
        return []

    def put(self, path: str, value: str | bytes) -> str | None:
        """Write a new version; returns its version id where the store has versions."""
        raise ReadOnlyStore(f"store kind {self.kind!r} is read-only", ref=path, store=self.name)

    def delete(self, path: str) -> None:
        raise ReadOnlyStore(f"store kind {self.kind!r} is read-only", ref=path, store=self.name)

    def health(self) -> None:
        """Raise StoreUnavailable (with the reason) if the store cannot serve reads."""
        self.list_names()

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release connections and clients."""

    def check_size(self, path: str, value: str | bytes) -> None:
        """Refuse a value over the store's documented limit, or text that cannot be
        encoded as UTF-8 (lone surrogates, e.g. from ``os.environ``), before it is sent."""
        limit = self.capabilities.max_value_size
        size = len(encode_text(value, path, self.name) if isinstance(value, str) else value)
        if limit is not None and size > limit:
            raise InvalidSecretValue(
                f"the value is {size} bytes; a {self.kind} store holds at most {limit}",
                ref=path,
                store=self.name,
            )

    def not_found(self, path: str, version: str | None = None) -> SecretNotFound:
        what = f"version {version!r} of the secret" if version else "the secret"
        return SecretNotFound(f"{what} does not exist in the store", ref=path, store=self.name)


def import_sdk(module: str, *, kind: str, extra: str) -> ModuleType:
    """Import a vendor SDK on first use; if it is missing, say which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependency(
            f"store kind {kind!r} needs the Python package that provides {module!r}; "
            f"install it with: pip install 'secretbridge[{extra}]'"
        ) from error


def load_store_class(kind: str, *, where: str = "") -> type[Store]:
    """The Store class for ``kind``: a built-in one, or one registered by another package
    under the ``secretbridge.stores`` entry-point group."""
    target = BUILTIN_KINDS.get(kind)
    if target is not None:
        module_name, _, class_name = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            raise ConfigError(
                f"{where}kind: store kind {kind!r} is not available in this version of secretbridge"
            ) from None
        cls: type[Store] = getattr(module, class_name)
        return cls
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP, name=kind):
        try:
            loaded = entry.load()
        except ImportError as error:
            raise MissingDependency(
                f"{where}kind: the plugin store {kind!r} ({entry.value}) failed to import: {error}"
            ) from error
        if not (isinstance(loaded, type) and issubclass(loaded, Store)):
            raise ConfigError(f"{where}kind: {entry.value} is not a secretbridge Store class")
        return loaded
    known = ", ".join(sorted(BUILTIN_KINDS))
    raise ConfigError(
        f"{where}kind: unknown store kind {kind!r}; built in: {known}, "
        f"or a package registering one under the {ENTRY_POINT_GROUP!r} entry points"
    )


def build_options(cls: type[Store], settings: Mapping[str, Any], *, where: str) -> Any:
    """Validate a store's settings into its Options struct; errors name the key."""
    if not settings:
        return cls.Options()
    return validate(settings, cls.Options, where=where)
