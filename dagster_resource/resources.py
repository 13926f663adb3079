"""Dagster resources that name secrets and resolve them per run, in the executing process.

A resource's fields hold references and settings only; Dagster stores those (in
``Definitions``, snapshots, the UI) and never a value. Values are resolved when a run sets
the resource up (``setup_for_execution``, on Dagster's per-run copy): in the step's own
process under the multiprocess executor, once per run under the in-process one. Within a
run, every resource of the process shares one view of the store: a name is fetched once
(batched where the store can) and a secret rotated since an earlier run is fetched again.
Every value is registered with :mod:`secretbridge.dagster.redaction` before user code sees
it, and the redaction hooks stay installed while any of these resources is set up.
"""

from __future__ import annotations

import pkgutil
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from secretbridge import (
    ConfigError,
    Connection,
    InvalidReference,
    Resolver,
    Secret,
    SecretBridgeError,
    Selection,
    shared_resolver,
)

from . import redaction

__all__ = [
    "ConnectionResource",
    "ResolvedResource",
    "ResolvedResourceError",
    "SecretsResource",
]

T = TypeVar("T")

_CONFIG_DESCRIPTION = (
    "The secretbridge config file (the one Airflow's backend reads); else "
    "$SECRETBRIDGE_CONFIG, else the embedded local store in $SECRETBRIDGE_HOME."
)


class ResolvedResourceError(SecretBridgeError):
    """The resource a :class:`ResolvedResource` wraps refused its fields or failed to set
    up. The message is the original error's, each resolved value masked (a validation
    error quotes its input); the original is not chained, its traceback is kept."""


class RunView:
    """One run's access to a resolver, in one process: values fetched since the run
    started (so each name once per run, and a rotation is seen by the next run), each
    registered for redaction before it is returned."""

    def __init__(self, resolver: Resolver, fetched_after: float) -> None:
        self.resolver = resolver
        self.fetched_after = fetched_after

    def get(self, ref: str) -> Secret:
        secret = self.resolver.get(ref, fetched_after=self.fetched_after)
        _register(secret)
        return secret

    def get_many(self, refs: Iterable[str]) -> dict[str, Secret]:
        found = self.resolver.get_many(refs, fetched_after=self.fetched_after)
        _register(*found.values())
        return found

    def load(self, selection: Selection) -> dict[str, Secret]:
        found = self.resolver.load(selection, fetched_after=self.fetched_after)
        _register(*found.values())
        return found

    def connection(self, conn_id: str) -> Connection:
        """The connection ``conn_id`` exactly as Airflow's backend builds it from the same
        secret: ``connections/<conn_id>``, its reference fields resolved."""
        (ref,) = self.resolver.refs_for("connections", conn_id)
        conn = self.resolver.connection(ref, fetched_after=self.fetched_after)
        redaction.register(
            conn.host, conn.login, conn.password, conn.schema, conn.extra,
            *_strings(conn.extra_dejson),
        )  # fmt: skip
        return conn


def _register(*secrets: Secret) -> None:
    # One call: each call that adds values recompiles the pattern.
    redaction.register(*(secret.reveal() for secret in secrets if not secret.is_binary))


def _masking_failures(what: str, build: Callable[[], T]) -> T:
    """``build()``, its failure re-raised as :class:`ResolvedResourceError`."""
    try:
        return build()
    except Exception as error:
        failure = ResolvedResourceError(f"{what}: {redaction.describe(error)}")
        traceback = error.__traceback__
    raise failure.with_traceback(traceback)  # out of the except block: no __context__


def _strings(value: Any) -> Iterator[str]:
    """Every string leaf of a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass
class _Run:
    """A run with resources set up in this process."""

    started: float  # the resolver's clock when the run's first resource was set up
    resources: int = 0  # how many of its resources are set up now


_runs_lock = threading.Lock()
_runs: dict[tuple[int, str | None], _Run] = {}  # by (resolver, run id)


@contextmanager
def run_view(config: str | None, context: InitResourceContext | None) -> Iterator[RunView]:
    """The run's view of the resolver for ``config``, with redaction installed, for as long
    as a resource of the run is set up. Building the resolver reads the config file only;
    stores connect on first use."""
    resolver = shared_resolver(config)
    run = context.run if context is not None else None
    key = (id(resolver), run.run_id if run is not None else None)
    with _runs_lock:
        entry = _runs.setdefault(key, _Run(resolver.now()))
        entry.resources += 1
    try:
        with redaction.redacting():
            yield RunView(resolver, entry.started)
    finally:
        with _runs_lock:
            entry.resources -= 1
            if not entry.resources:
                del _runs[key]


class _Resolving(ConfigurableResource):
    """What the resources share: the config file field, and the run's view held on
    Dagster's per-run copy of the resource."""

    config: str | None = Field(default=None, description=_CONFIG_DESCRIPTION)

    _view: RunView | None = PrivateAttr(default=None)
    _stack: ExitStack | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._stack = ExitStack()
        self._view = self._stack.enter_context(run_view(self.config, context))

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        stack, self._stack, self._view = self._stack, None, None
        if stack is not None:
            stack.close()

    @property
    def view(self) -> RunView:
        if self._view is None:
            raise self._outside_run()
        return self._view

    def _outside_run(self) -> ConfigError:
        return ConfigError(
            f"{type(self).__name__} resolves secrets only while a run has it set up "
            "(give it to Definitions and read it in an asset or op, not at import)"
        )


class SecretsResource(_Resolving):
    """Secrets by reference, resolved in the run that asks::

        Definitions(assets=[...], resources={"secrets": SecretsResource()})

        @asset
        def orders(secrets: SecretsResource):
            conn = secrets.connection("warehouse")        # connections/warehouse
            token = secrets.get("secret:api/token").reveal()

    ``prefetch``: references resolved (in one batch where the store allows) when the run
    sets the resource up, so that a store outage fails the run before any step's work.
    """

    prefetch: list[str] = Field(
        default_factory=list,
        description="References resolved when a run sets the resource up (batched).",
    )

    def setup_for_execution(self, context: InitResourceContext) -> None:
        super().setup_for_execution(context)
        if self.prefetch:
            try:
                self.view.get_many(self.prefetch)
            except BaseException:
                self.teardown_after_execution(context)
                raise

    def get(self, ref: str) -> Secret:
        """One reference (``secret:NAME#FIELD``, ``STORE://PATH``) as a :class:`Secret`
        (``.reveal()`` gives the value; its repr never does)."""
        return self.view.get(ref)

    def get_many(self, refs: Iterable[str]) -> dict[str, Secret]:
        """Many references, in as few store calls as the stores allow."""
        return self.view.get_many(refs)

    def load(
        self,
        prefix: str = "",
        *,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        strip_prefix: bool = True,
        expand_json: bool = False,
    ) -> dict[str, Secret]:
        """Every secret under a logical prefix, keyed by dotted name
        (``SNOWFLAKE/TRANSFORM/PASSWORD`` under ``SNOWFLAKE/`` is ``TRANSFORM.PASSWORD``);
        ``include``/``exclude`` are globs on those keys."""
        selection = Selection(prefix, tuple(include), tuple(exclude), strip_prefix, expand_json)
        return self.view.load(selection)

    def connection(self, conn_id: str) -> Connection:
        """The connection Airflow's backend gives for the same id: conn_type, host, login,
        password, port, schema, extra, with its reference fields resolved."""
        return self.view.connection(conn_id)


class ConnectionResource(_Resolving):
    """One connection by id (the logical name ``connections/<conn_id>``), resolved when a
    run sets the resource up: ``ConnectionResource(conn_id="warehouse").connection``."""

    conn_id: str = Field(description="The connection id, as in Airflow.")

    _connection: Connection | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        super().setup_for_execution(context)
        try:
            self._connection = self.view.connection(self.conn_id)
        except BaseException:
            self.teardown_after_execution(context)
            raise

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        self._connection = None
        super().teardown_after_execution(context)

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise self._outside_run()
        return self._connection


class ResolvedResource(_Resolving):
    """Feeds a third-party resource that wants plain values (``password: str``) with values
    resolved at run time::

        from dagster_aws.s3 import S3Resource

        resources = {"s3": ResolvedResource.of(
            S3Resource,
            aws_access_key_id="secret:aws/pipeline#access_key_id",
            aws_secret_access_key="secret:aws/pipeline#secret_access_key",
            region_name="eu-west-1",
        )}

    A string field that parses as a reference is resolved when a run sets the resource
    up; any other value is passed as it is. Dagster stores this resource's fields (the
    references), never the inner resource's: that is built in the run, with
    ``process_config_and_initialize_cm()``, and handed to the asset in place of this one
    (annotate the asset's parameter with the inner class).
    """

    resource: str = Field(description="The wrapped resource class, as module:QualName.")
    fields: dict[str, Any] = Field(
        default_factory=dict,
        description="The wrapped resource's fields: references (resolved per run) and settings.",
    )

    @classmethod
    def of(
        cls, resource: type[ConfigurableResource], *, config: str | None = None, **fields: Any
    ) -> ResolvedResource:
        unknown = sorted(set(fields) - set(resource.model_fields))
        if unknown:
            raise ConfigError(
                f"ResolvedResource.of({resource.__name__}): no such field(s): "
                f"{', '.join(unknown)}; {resource.__name__} has "
                f"{', '.join(sorted(resource.model_fields)) or 'no fields'}"
            )
        path = f"{resource.__module__}:{resource.__qualname__}"
        return cls(resource=path, fields=fields, config=config)

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[Any]:
        with run_view(self.config, context) as view, ExitStack() as stack:
            wrapped, fields = self._wrapped(), self._resolved(view)
            what = f"ResolvedResource({self.resource})"
            inner = _masking_failures(what, lambda: wrapped(**fields))
            yield _masking_failures(
                what, lambda: stack.enter_context(inner.process_config_and_initialize_cm())
            )

    def _wrapped(self) -> type[ConfigurableResource]:
        try:
            found = pkgutil.resolve_name(self.resource)
        except (ImportError, AttributeError, ValueError) as error:
            raise ConfigError(
                f"ResolvedResource: cannot import {self.resource!r}: {error}"
            ) from None
        if not (isinstance(found, type) and issubclass(found, ConfigurableResource)):
            raise ConfigError(f"ResolvedResource: {self.resource!r} is not a ConfigurableResource")
        return found

    def _resolved(self, view: RunView) -> dict[str, Any]:
        refs: dict[str, str] = {}
        for field, value in self.fields.items():
            if not isinstance(value, str):
                continue
            try:
                parsed = view.resolver.parse(value)
                malformed = False
            except InvalidReference:
                malformed = True
            if malformed:  # raised here, unchained: the parse error quotes the text
                raise InvalidReference(
                    f"ResolvedResource({self.resource}): field {field!r} starts like a "
                    "reference but is malformed (check it with: secretbridge get REF)"
                )
            if parsed is not None:
                refs[field] = value
        found = view.get_many(refs.values())
        return {
            field: found[refs[field]].reveal() if field in refs else value
            for field, value in self.fields.items()
        }
