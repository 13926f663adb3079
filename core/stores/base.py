"""The small interface every store implements, and loading a store kind by name."""

from __future__ import annotations

import importlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
from ..naming import NamingRule
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
    parallel instead."""

    writable: bool = False
    versions: bool = False
    binary: bool = False
    batch_size: int | None = None
    max_value_size: int | None = None  # bytes one value may take (None: no documented limit)


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


class Store(ABC):
    """One configured store. Works in physical names; the resolver maps logical names
    through ``naming`` before it calls a store."""

    kind: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    Options: ClassVar[type[StoreOptions]] = StoreOptions

    def __init__(self, name: str, options: Any, *, naming: NamingRule, context: StoreContext):
        self.name = name
        self.options = options
        self.naming = naming
        self.context = context

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    @abstractmethod
    def get(self, path: str, version: str | None = None) -> StoredValue:
        """The value at ``path``; raises SecretNotFound, StoreUnavailable or AccessDenied."""

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
        """Refuse a value over the store's documented limit before it is sent."""
        limit = self.capabilities.max_value_size
        size = len(value.encode() if isinstance(value, str) else value)
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
