"""One configuration file for both orchestrators.

Found at an explicit path, else ``$SECRETBRIDGE_CONFIG``; with neither, the embedded
default is a single ``local`` store under ``$SECRETBRIDGE_HOME`` (``~/.secretbridge``).
TOML, or YAML when the file ends in ``.yaml``/``.yml`` and PyYAML is installed::

    [resolver]
    chain = ["vault", "local"]     # lookup order for secret:NAME (default: as declared)
    cache_ttl = 300                # seconds a resolved value is reused
    miss_ttl = 30                  # seconds a "not found" is remembered
    stale_if_error = 900           # seconds past expiry a value may serve during an outage
    literals = true                # false: plain strings are refused, only references resolve

    [stores.vault]
    kind = "vault"
    token = "env:VAULT_TOKEN"      # credentials come from env:VAR or file:/path
    naming = { preset = "airflow" }

    [[routes]]
    prefix = "connections/"        # names under this prefix go to one store only
    store = "vault"

Every validation error names the key (``stores.vault.timeout: expected `float`...``).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, MissingDependency, unchained
from .naming import NamingRule, rule_for
from .refs import is_store_name

if TYPE_CHECKING:
    import msgspec

CONFIG_ENV = "SECRETBRIDGE_CONFIG"
HOME_ENV = "SECRETBRIDGE_HOME"
DEFAULT_STORE = "local"


# Settings are plain dataclasses so that the embedded default needs no validation
# library; a config file is validated into them with msgspec, imported only then.


@dataclass(frozen=True)
class ResolverSettings:
    chain: list[str] | None = None
    literals: bool = True
    cache_ttl: float = 300.0
    miss_ttl: float = 30.0
    stale_if_error: float = 900.0
    max_entries: int = 10_000
    max_workers: int = 8


@dataclass(frozen=True)
class Route:
    prefix: str
    store: str


@dataclass(frozen=True)
class Namespaces:
    """Logical prefixes the adapters use: Airflow connection ``X`` is ``connections/X``."""

    connections: str = "connections"
    variables: str = "variables"
    config: str = "config"


@dataclass(frozen=True)
class AuditSettings:
    path: str  # JSON lines, one per resolution; never a value


@dataclass(frozen=True)
class _File:
    resolver: ResolverSettings = field(default_factory=ResolverSettings)
    stores: dict[str, Any] = field(default_factory=dict)  # checked per store, naming it
    routes: list[Route] = field(default_factory=list)
    namespaces: Namespaces = field(default_factory=Namespaces)
    audit: AuditSettings | None = None


@dataclass(frozen=True)
class StoreSpec:
    """A store as configured: validated, not yet connected."""

    name: str
    kind: str
    options: Any
    naming: NamingRule


@dataclass(frozen=True)
class Config:
    stores: dict[str, StoreSpec]
    chain: list[str]
    routes: list[Route] = field(default_factory=list)
    resolver: ResolverSettings = field(default_factory=ResolverSettings)
    namespaces: Namespaces = field(default_factory=Namespaces)
    audit: AuditSettings | None = None
    home: Path = field(default_factory=lambda: default_home())
    base_dir: Path = field(default_factory=Path.cwd)
    source: Path | None = None  # None: the embedded default


def default_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".secretbridge").expanduser()


def config_path(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file in force: ``path``, else ``$SECRETBRIDGE_CONFIG``, else None."""
    chosen = path if path is not None else os.environ.get(CONFIG_ENV)
    return Path(chosen).expanduser() if chosen else None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    source = config_path(path)
    if source is None:
        return parse_config({}, source=None)
    try:
        text = source.read_bytes()
    except OSError as error:
        where = f"${CONFIG_ENV}" if path is None else "the config path"
        raise ConfigError(f"cannot read {source} ({where}): {error.strerror}") from None
    return parse_config(_decode(source, text), source=source)


@unchained()  # the parsers' errors keep the document, and a config may hold a token
def _decode(source: Path, text: bytes) -> Any:
    if source.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise MissingDependency(
                f"{source} is YAML; install PyYAML with: pip install 'secretbridge[yaml]'"
            ) from None
        try:
            return yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            # Not str(error): it quotes the offending line of the file.
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(error, "problem", None) or type(error).__name__
            raise ConfigError(f"{source}: not valid YAML{where}: {problem}") from None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        return tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None


def parse_config(document: Any, *, source: Path | None = None) -> Config:
    """Validate a decoded config document; every error names the key at fault."""
    from .stores.base import build_options, load_store_class

    prefix = f"{source}: " if source else ""
    if not isinstance(document, Mapping):
        raise ConfigError(f"{prefix}the config must be a table/mapping at the top level")
    raw = validate(document, _File, where=prefix) if document else _File()

    stores_in = raw.stores or {DEFAULT_STORE: {"kind": "local"}}
    specs: dict[str, StoreSpec] = {}
    for name, settings in stores_in.items():
        where = f"{prefix}stores.{name}."
        if not is_store_name(name):
            raise ConfigError(
                f"{prefix}stores.{name}: a store name must be lower case letters, digits "
                "and dashes, starting with a letter (it is used as STORE:// in references)"
            )
        if not isinstance(settings, Mapping):
            raise ConfigError(f"{prefix}stores.{name}: expected a table of settings")
        settings = dict(settings)
        kind = settings.pop("kind", None)
        if kind is None:
            raise ConfigError(f"{where}kind: missing; every store needs a kind (e.g. 'local')")
        if not isinstance(kind, str):
            raise ConfigError(f"{where}kind: expected a string such as 'local'")
        naming = settings.pop("naming", None) or {}
        if not isinstance(naming, Mapping):
            raise ConfigError(f"{where}naming: expected a table such as {{ preset = 'airflow' }}")
        cls = load_store_class(kind, where=where)
        specs[name] = StoreSpec(
            name=name,
            kind=kind,
            options=build_options(cls, settings, where=where),
            naming=rule_for(cls, naming, where=f"{where}naming."),
        )

    chain = raw.resolver.chain if raw.resolver.chain is not None else list(specs)
    for index, name in enumerate(chain):
        if name not in specs:
            raise ConfigError(f"{prefix}resolver.chain[{index}]: no store named {name!r}")
    for index, route in enumerate(raw.routes):
        if route.store not in specs:
            raise ConfigError(f"{prefix}routes[{index}].store: no store named {route.store!r}")
        if not route.prefix:
            raise ConfigError(f"{prefix}routes[{index}].prefix: must not be empty")
    _check_resolver(raw.resolver, prefix)

    base_dir = source.parent.resolve() if source else Path.cwd()
    return Config(
        stores=specs,
        chain=chain,
        routes=raw.routes,
        resolver=raw.resolver,
        namespaces=raw.namespaces,
        audit=raw.audit,
        home=default_home(),
        base_dir=base_dir,
        source=source,
    )


def _check_resolver(settings: ResolverSettings, prefix: str) -> None:
    for key in ("cache_ttl", "miss_ttl", "stale_if_error"):
        seconds = getattr(settings, key)
        if not math.isfinite(seconds) or seconds < 0:
            raise ConfigError(
                f"{prefix}resolver.{key}: must be a finite number of seconds, zero or more"
            )
    for key in ("max_entries", "max_workers"):
        if getattr(settings, key) < 1:
            raise ConfigError(f"{prefix}resolver.{key}: must be at least 1")


def validate(document: Mapping[str, Any], cls: type[Any], *, where: str) -> Any:
    """Convert ``document`` into the dataclass ``cls``, refusing unknown keys; every
    error names the key path (``resolver.cache_ttl: expected `float`, got `str```)."""
    import msgspec

    _refuse_unknown(document, cls, where)
    try:
        return msgspec.convert(document, cls, strict=cls is _File)
    except msgspec.ValidationError as error:
        raise ConfigError(f"{where}{explain_validation_error(error)}") from None


_NESTED: dict[str, type[Any]] = {
    "resolver": ResolverSettings,
    "namespaces": Namespaces,
    "audit": AuditSettings,
}


def _refuse_unknown(
    document: Mapping[str, Any], cls: type[Any], where: str, path: str = ""
) -> None:
    known = {f.name for f in fields(cls)}
    for key in document:
        if key not in known:
            expected = ", ".join(sorted(known))
            raise ConfigError(f"{where}{path}{key}: unknown setting; expected one of: {expected}")
    if cls is _File:
        for key, nested in _NESTED.items():
            if isinstance(document.get(key), Mapping):
                _refuse_unknown(document[key], nested, where, f"{key}.")
        routes = document.get("routes")
        for index, route in enumerate(routes if isinstance(routes, list) else ()):
            if isinstance(route, Mapping):
                _refuse_unknown(route, Route, where, f"routes[{index}].")


def explain_validation_error(error: msgspec.ValidationError) -> str:
    """msgspec says "Expected `int`, got `str` - at `$.timeout`"; we say "timeout: ..."."""
    text, sep, path = str(error).rpartition(" - at `$")
    if not sep:
        return str(error)
    key = path.rstrip("`").lstrip(".")
    return f"{key}: {text[0].lower()}{text[1:]}" if key else text


def resolve_indirection(value: str, *, where: str) -> str:
    """``env:VAR`` reads an environment variable, ``file:/path`` a file (one trailing
    newline dropped); anything else is the value itself. Errors name the config key,
    the variable or the file, never a value."""
    if value.startswith("env:"):
        variable = value[4:]
        if not variable:
            raise ConfigError(f"{where}: 'env:' needs a variable name")
        if variable not in os.environ:
            raise ConfigError(f"{where}: environment variable {variable} is not set")
        return os.environ[variable]
    if value.startswith("file:"):
        path = Path(value[5:]).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{where}: cannot read {path}: {error.strerror}") from None
        return text[:-1] if text.endswith("\n") else text
    return value
