"""``custom``: secrets from your own code, either a Python callable named as
``module:function`` (an installed package's entry point) or a script file that
defines ``get_secrets() -> dict``.

The function is called for each lookup batch, so it sees rotations; the resolver's
cache keeps it from being called more than needed. Dict values may be ``str``,
``bytes``, or JSON-serialisable objects (stored as JSON text).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InvalidReference, SecretBridgeError, StoreUnavailable
from .base import Capabilities, Store, StoredValue, StoreOptions

SecretsFunction = Callable[[], Mapping[str, Any]]


@dataclass(frozen=True)
class CustomOptions(StoreOptions):
    callable: str | None = None  # "package.module:function"
    script: str | None = None  # path to a .py file defining get_secrets()


class CustomStore(Store):
    kind = "custom"
    capabilities = Capabilities(binary=True, batch_size=10_000)
    Options = CustomOptions
    options: CustomOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        where = f"stores.{self.name}"
        if (self.options.callable is None) == (self.options.script is None):
            raise ConfigError(f"{where}: set exactly one of 'callable' or 'script'")
        self._function = (
            _load_callable(self.options.callable, where)
            if self.options.callable is not None
            else _load_script(self.options.script or "", self.context.base_dir, where)
        )

    def _secrets(self) -> Mapping[str, Any]:
        try:
            secrets = self._function()
        except Exception as error:  # user code: report its type, not its message
            raise StoreUnavailable(
                f"the custom secrets function raised {type(error).__name__}", store=self.name
            ) from None
        if not isinstance(secrets, Mapping):
            raise StoreUnavailable(
                f"the custom secrets function returned {type(secrets).__name__}, not a dict",
                store=self.name,
            )
        return secrets

    def get(self, path: str, version: str | None = None) -> StoredValue:
        if version is not None:
            raise InvalidReference(
                "custom stores have no versions; drop '?version='", ref=path, store=self.name
            )
        result = self.get_many([path])[path]
        if isinstance(result, SecretBridgeError):
            raise result
        return result

    def get_many(self, paths: Sequence[str]) -> dict[str, StoredValue | SecretBridgeError]:
        secrets = self._secrets()
        return {
            path: _stored(secrets[path]) if path in secrets else self.not_found(path)
            for path in paths
        }

    def list_names(self, prefix: str = "") -> list[str]:
        return sorted(name for name in self._secrets() if name.startswith(prefix))


def _stored(value: Any) -> StoredValue:
    if isinstance(value, (str, bytes)):
        return StoredValue(value)
    return StoredValue(json.dumps(value))


def _load_callable(target: str, where: str) -> SecretsFunction:
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigError(f"{where}.callable: expected 'package.module:function', got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(f"{where}.callable: cannot import {module_name!r}: {error}") from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ConfigError(f"{where}.callable: {target!r} is not a callable")
    return function  # type: ignore[no-any-return]


def _load_script(script: str, base_dir: Path, where: str) -> SecretsFunction:
    path = Path(script).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise ConfigError(f"{where}.script: no such file {path}")
    spec = importlib.util.spec_from_file_location(f"secretbridge_custom_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{where}.script: {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise ConfigError(
            f"{where}.script: {path} failed to load ({type(error).__name__})"
        ) from None
    function = getattr(module, "get_secrets", None)
    if not callable(function):
        raise ConfigError(f"{where}.script: {path} defines no get_secrets() function")
    return function  # type: ignore[no-any-return]
