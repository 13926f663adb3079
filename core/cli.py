"""The ``secretbridge`` command.

Values never travel on the command line (they would land in shell history and ``ps``):
``put`` reads them from a file or standard input, and only ``get --reveal`` prints one.
Exit codes: 0 ok, 1 other error, 2 bad input or config (a malformed name or reference,
an unusable value, a config error, a write to a read-only store), 3 not found, 4 access
denied, 5 store unavailable.

A bare NAME is read exactly as ``secret:NAME`` in every command: ``#`` starts a field and
``%23`` writes a '#' that belongs to the name. Errors about what was typed name the
argument and the character position, never the text: it may be a value typed by mistake.
"""

from __future__ import annotations

import json
import stat
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import EntryPoint, entry_points
from typing import Any, BinaryIO, NoReturn

import click

from . import __version__
from .errors import (
    AccessDenied,
    ConfigError,
    InvalidReference,
    InvalidSecretValue,
    ReadOnlyStore,
    SecretBridgeError,
    SecretNotFound,
    StoreUnavailable,
    unchained,
)
from .refs import Reference, parse_name
from .resolver import Resolver
from .stores.local import LocalStore
from .values import Secret

EXIT_CODES: tuple[tuple[type[SecretBridgeError], int], ...] = (
    (InvalidReference, 2),
    (InvalidSecretValue, 2),
    (ConfigError, 2),
    (ReadOnlyStore, 2),
    (SecretNotFound, 3),
    (AccessDenied, 4),
    (StoreUnavailable, 5),
)


class _State:
    """The resolver, built on first use so that ``--help`` never touches a store."""

    def __init__(self, config: str | None) -> None:
        self.config = config
        self._resolver: Resolver | None = None

    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = Resolver.from_config(self.config)
        return self._resolver


def _fail(error: SecretBridgeError) -> NoReturn:
    code = next((code for cls, code in EXIT_CODES if isinstance(error, cls)), 1)
    click.echo(f"secretbridge: error: {error}", err=True)
    sys.exit(code)


@contextmanager
def exit_on_error() -> Iterator[None]:
    """Turn a SecretBridgeError into one ``secretbridge: error:`` line and this CLI's exit
    code; for the commands other packages register, so that every command fails alike."""
    try:
        yield
    except SecretBridgeError as error:
        _fail(error)


def _emit(data: Any, as_json: bool, lines: Sequence[str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        for line in lines:
            click.echo(line)


@unchained()  # the parser's error holds the text as ``ref``
def _reference(state: _State, text: str, argument: str, *, whole: bool = False) -> Reference:
    """``text`` as typed: ``secret:NAME``, ``STORE://PATH``, or a bare NAME read as
    ``secret:NAME``. ``whole``: a name to write or delete, without #field or ?version."""
    try:
        parsed = state.resolver.parse(text) or parse_name(text)
    except InvalidReference as error:
        raise InvalidReference(f"{argument}: {error.message}") from None
    if whole and (parsed.field is not None or parsed.version is not None):
        raise InvalidReference(
            f"{argument}: a whole name is written or deleted, not a #field or ?version; "
            "write a '#' that belongs to the name as %23"
        )
    return parsed


def _describe(secret: Secret) -> dict[str, Any]:
    info: dict[str, Any] = {
        "ref": secret.ref,
        "store": secret.store,
        "name": secret.name,
        "version": secret.version,
    }
    if secret.is_binary:
        info["type"] = "binary"
        info["length"] = len(secret.reveal_bytes())
        return info
    text = secret.reveal()
    info["length"] = len(text)
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict):
        info["type"] = "json"
        info["fields"] = sorted(map(str, document))
    else:
        info["type"] = "text"
    return info


class _Command(click.Command):
    """Refuses extra arguments without repeating them (click quotes them): one may be a
    value typed on the command line by mistake."""

    allow_extra_args = True

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        extra = super().parse_args(ctx, args)
        if extra and not ctx.resilient_parsing:
            ctx.fail(
                f"{len(extra)} unexpected extra argument(s), not shown in case one is a value; "
                "values are read from -f FILE or standard input, never from the command line"
            )
        return extra


#: Entry-point group through which other packages add commands (``airflow`` comes from
#: ``secretbridge.airflow.cli``); the target is loaded only when its name is invoked, so
#: ``secretbridge --help`` lists it without importing an orchestrator.
COMMANDS_GROUP = "secretbridge.commands"


def _registered_commands() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=COMMANDS_GROUP)}


class _Group(click.Group):
    command_class = _Command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_registered_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        entry = _registered_commands().get(cmd_name)
        if entry is None:
            return None
        loaded = entry.load()
        if not isinstance(loaded, click.Command):
            raise click.ClickException(
                f"command {cmd_name!r} ({entry.value}, entry point group {COMMANDS_GROUP}) "
                "is not a click command"
            )
        return loaded

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Registered commands are listed with their entry point's target, not their
        docstring: reading that would import the package (Airflow, for ``airflow``)."""
        rows = []
        registered = _registered_commands()
        for name in self.list_commands(ctx):
            if name in registered and name not in self.commands:
                rows.append((name, f"(from {registered[name].value.split(':')[0]})"))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    metavar="PATH",
    envvar="SECRETBRIDGE_CONFIG",
    help="Config file (default: $SECRETBRIDGE_CONFIG, else a local store in $SECRETBRIDGE_HOME).",
)
@click.version_option(__version__, prog_name="secretbridge")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Name a secret, never hold its value: one resolver for Airflow, Dagster and you."""
    ctx.obj = _State(config)


def _local_stores(state: _State, store: str | None) -> list[LocalStore]:
    """The local store named ``store``, or every local store configured (other kinds
    are not built: that would import their SDKs for nothing)."""
    specs = state.resolver.config.stores
    if store is not None:
        if store not in specs:
            raise ConfigError(f"no store named {store!r} is configured")
        if specs[store].kind != "local":
            raise ConfigError(f"store {store!r} is a {specs[store].kind} store, not a local one")
    names = [store] if store is not None else [n for n, s in specs.items() if s.kind == "local"]
    if not names:
        raise ConfigError("no local store is configured")
    stores = [state.resolver.store(name) for name in names]
    return [s for s in stores if isinstance(s, LocalStore)]


@cli.command()
@click.option("--store", help="Only this local store (default: every local store configured).")
@click.pass_obj
def init(state: _State, store: str | None) -> None:
    """Create the local encrypted store(s): key file (0600) and database. Existing files
    and the home folder are made private (said so); ones of another user are refused."""
    with exit_on_error():
        for target in _local_stores(state, store):
            result = target.init()
            for line in result.fixed:
                click.echo(f"made private: {line}")
            verb = "initialised" if result.created else "already initialised"
            click.echo(f"{verb} local store {target.name!r} at {target.path} ({target.key_source})")


@cli.command()
@click.argument("name")
@click.option(
    "-f", "--file", "source", type=click.File("rb"), help="Read the value from FILE ('-': stdin)."
)
@click.option("--store", help="Write to this store (default: the name's route, else the chain).")
@click.option("--keep-newline", is_flag=True, help="Keep a trailing newline of a text value.")
@click.pass_obj
def put(
    state: _State, name: str, source: BinaryIO | None, store: str | None, keep_newline: bool
) -> None:
    """Store a new version of NAME. The value comes from -f FILE or standard input,
    never from the command line."""
    with exit_on_error():
        ref = str(_reference(state, name, "NAME", whole=True))
        if source is None and sys.stdin.isatty():
            value: str | bytes = click.prompt(
                "Value", hide_input=True, confirmation_prompt=True, err=True
            )
        else:
            raw = (source if source is not None else sys.stdin.buffer).read()
            value = _decode(raw, keep_newline)
        if not value:
            raise InvalidSecretValue("the value is empty; nothing was stored", ref=ref)
        location = state.resolver.put(ref, value, store=store)
        version = f", version {location.version}" if location.version else ""
        click.echo(f"stored {name} in store {location.store!r} as {location.name!r}{version}")


def _decode(raw: bytes, keep_newline: bool) -> str | bytes:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw  # binary: stored byte for byte
    if not keep_newline:
        text = text.removesuffix("\n").removesuffix("\r")
    return text


@cli.command()
@click.argument("ref")
@click.option("--reveal", is_flag=True, help="Print the value alone (and nothing else).")
@click.option("--json", "as_json", is_flag=True, help="Print the metadata as JSON.")
@click.pass_obj
def get(state: _State, ref: str, reveal: bool, as_json: bool) -> None:
    """Show a secret's metadata (store, name, version, type); --reveal prints its value."""
    with exit_on_error():
        secret = state.resolver.get(_reference(state, ref, "REF"))
        if reveal:
            out = sys.stdout.buffer
            out.write(secret.reveal_bytes())
            if not secret.is_binary and sys.stdout.isatty():
                out.write(b"\n")
            out.flush()
            return
        info = _describe(secret)
        lines = [f"{key:8} {value}" for key, value in info.items() if value is not None]
        if "fields" in info:
            lines[-1] = f"{'fields':8} {', '.join(info['fields'])}"
        _emit(info, as_json, lines)


@cli.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def resolve(state: _State, ref: str, as_json: bool) -> None:
    """Say where REF resolves: store, physical name, version. Never the value."""
    with exit_on_error():
        parsed = _reference(state, ref, "REF")
        resolver = state.resolver
        secret = resolver.get(parsed)
        chain = [parsed.store] if parsed.store else resolver.chain_for(parsed.path)
        info = {
            "ref": str(parsed),
            "store": secret.store,
            "kind": resolver.store(secret.store).kind if secret.store else None,
            "name": secret.name,
            "version": secret.version,
            "field": parsed.field,
            "chain": chain,
        }
        version = f" version {secret.version}" if secret.version else ""
        field = f" field {parsed.field!r}" if parsed.field else ""
        line = f"{parsed} -> store {secret.store!r} name {secret.name!r}{version}{field}"
        _emit(info, as_json, [line, f"looked in: {' -> '.join(chain)}"])


@cli.command("ls")
@click.argument("prefix", default="")
@click.option("--store", help="List one store only.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def ls(state: _State, prefix: str, store: str | None, as_json: bool) -> None:
    """List logical names under PREFIX, with the store and physical name of each."""
    with exit_on_error():
        items = state.resolver.list_secrets(prefix, store=store)
        rows = [(item.name, item.store, item.physical) for item in items]
        data = [{"name": n, "store": s, "physical": p} for n, s, p in rows]
        _emit(data, as_json, _table(("NAME", "STORE", "PHYSICAL NAME"), rows) if rows else [])


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


@cli.command()
@click.argument("name")
@click.option("--store", help="Delete from this store (default: where NAME resolves from).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def rm(state: _State, name: str, store: str | None, yes: bool) -> None:
    """Delete every version of NAME."""
    with exit_on_error():
        ref = str(_reference(state, name, "NAME", whole=True))
        if not yes:
            if not sys.stdin.isatty():
                raise InvalidReference("refusing to delete without --yes (no terminal to ask)")
            click.confirm(f"Delete every version of {name}?", abort=True, err=True)
        location = state.resolver.delete(ref, store=store)
        click.echo(f"deleted {name} from store {location.store!r} ({location.name!r})")


@cli.command("rotate-key")
@click.option("--store", help="Only this local store (default: every local store configured).")
@click.pass_obj
def rotate_key(state: _State, store: str | None) -> None:
    """Re-encrypt local stores under a new key (or the first key of $SECRETBRIDGE_KEY)."""
    with exit_on_error():
        for target in _local_stores(state, store):
            count = target.rotate_key()
            click.echo(f"re-encrypted {count} value(s) in local store {target.name!r}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def doctor(state: _State, as_json: bool) -> None:
    """Check the config and that every configured store answers; exit 1 if one does not."""
    with exit_on_error():
        resolver = state.resolver
    config = resolver.config
    checks: list[dict[str, Any]] = []
    for name, spec in config.stores.items():
        started = time.perf_counter()
        problem: str | None = None
        try:
            store = resolver.store(name)
            store.health()
            problem = _key_file_problem(store)
        except SecretBridgeError as error:
            problem = f"{type(error).__name__}: {error.message}"
        except Exception as error:
            problem = f"{type(error).__name__}: {error}"
        checks.append(
            {
                "store": name,
                "kind": spec.kind,
                "ok": problem is None,
                "problem": problem,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
        )
    source = str(config.source) if config.source else "embedded default (no config file)"
    lines = [
        f"config   {source}",
        f"home     {config.home}",
        f"chain    {' -> '.join(config.chain)}",
    ]
    for check in checks:
        status = "ok  " if check["ok"] else "FAIL"
        reason = f"  {check['problem']}" if check["problem"] else ""
        lines.append(f"{status} {check['store']} ({check['kind']}, {check['ms']} ms){reason}")
    _emit({"config": source, "home": str(config.home), "stores": checks}, as_json, lines)
    if not all(check["ok"] for check in checks):
        sys.exit(1)


def _key_file_problem(store: object) -> str | None:
    if not isinstance(store, LocalStore) or not store.key_file.exists():
        return None
    mode = stat.S_IMODE(store.key_file.stat().st_mode)
    if mode & 0o077:
        return f"key file {store.key_file} is readable by others (mode {mode:o}); chmod 600 it"
    return None


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="secretbridge")


if __name__ == "__main__":  # pragma: no cover
    main()
