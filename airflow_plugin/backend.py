"""The Airflow 3 secrets backend: connections, variables and config values from secretbridge.

    [secrets]
    backend = secretbridge.airflow.SecretsBackend
    backend_kwargs = {"config": "/etc/secretbridge.toml"}
    [workers]
    secrets_backend = secretbridge.airflow.SecretsBackend
    secrets_backend_kwargs = {"config": "/etc/secretbridge.toml"}

Connection ``X`` is the logical name ``connections/X``, variable ``K`` is ``variables/K``
and ``[section] key_secret = NAME`` is ``config/NAME`` (write NAME as ``section/key``);
the first segments come from the config's ``[namespaces]``. With a team (multi-team mode),
``teams/<team>/connections/X`` is tried first, then the shared ``connections/X``.

A connection that no store holds is looked up where Airflow keeps its own (the metadata
database on the server side, the Execution API in a task process) and its reference
fields (``secret:connections/x#password`` typed into the Connections form) are resolved.

Fail closed: a miss is None, any other failure (a store down, a policy denial, a broken
config, a bad reference) raises ``AirflowSecretsBackendAccessDenied``, the one exception
that stops Airflow's chain, unless ``fall_through`` is on. In a task process every value
this backend resolved is registered with Airflow's log masking before it is returned.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

try:  # the Task SDK's base serves every process, workers without airflow-core included
    from airflow.sdk.bases.secrets_backend import BaseSecretsBackend
except ImportError:  # pragma: no cover - an Airflow without the Task SDK
    from airflow.secrets import BaseSecretsBackend  # type: ignore[assignment]

try:
    from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied
except ImportError:  # pragma: no cover
    from airflow.exceptions import (  # type: ignore[no-redef]
        AirflowSecretsBackendAccessDenied,
    )

if TYPE_CHECKING:
    from secretbridge import Connection, Resolver, Secret, SecretBridgeError

__all__ = ["SecretsBackend"]

log = logging.getLogger("secretbridge.airflow")
T = TypeVar("T")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_OUR_PATHS = frozenset({"secretbridge.airflow.SecretsBackend", f"{__name__}.SecretsBackend"})


class SecretsBackend(BaseSecretsBackend):
    """``config``: the secretbridge config file (else ``$SECRETBRIDGE_CONFIG``, else the
    embedded default). ``fall_through``: on a failure other than a miss, log one line and
    let Airflow ask its next backend (off by default: a store that is down must not hand
    a task the metastore's or an env var's connection of the same id).
    ``team_fallback``: in multi-team mode, whether a team that has no
    ``teams/<team>/...`` secret of a name gets the shared one (on by default; off, a
    team sees only its own secrets).

    Building one reads nothing and connects to nothing (Airflow builds one in every
    process, even ``airflow version``); bad kwargs fail each lookup instead.
    """

    def __init__(
        self,
        config: str | None = None,
        fall_through: bool | str = False,
        team_fallback: bool | str = True,
        **unknown: Any,
    ) -> None:
        super().__init__()
        self.config = config or None
        self._problem: str | None = None
        # A bad switch fails closed until fixed: no fall-through, no shared fallback.
        self.fall_through = self._switch("fall_through", fall_through, failed=False)
        self.team_fallback = self._switch("team_fallback", team_fallback, failed=False)
        if unknown:
            self._problem = (
                f"unknown backend_kwargs key(s): {', '.join(sorted(unknown))}; "
                "expected config, fall_through, team_fallback"
            )

    @property
    def problem(self) -> str | None:
        """What is wrong with the kwargs this backend was given (never a value), or None."""
        return self._problem

    def _switch(self, key: str, value: bool | str, *, failed: bool) -> bool:
        try:
            return _flag(value)
        except ValueError:
            self._problem = f"{key} must be true or false"
            return failed

    # ------------------------------------------------------------------ Airflow's API

    def get_conn_value(self, conn_id: str, team_name: str | None = None) -> str | None:
        """The connection as Airflow JSON, its reference fields resolved; None if no
        store holds it."""
        if _team_blind():
            return None
        found = self._store_connection(conn_id, team_name)
        return None if found is None else found.to_json()

    def get_connection(self, conn_id: str, team_name: str | None = None) -> Any:
        """From the stores, else Airflow's own connection with its references resolved."""
        if _team_blind():
            return None
        found = self._store_connection(conn_id, team_name)
        if found is not None:
            return self.deserialize_connection(conn_id=conn_id, value=found.to_json())
        return self._orchestrator_connection(conn_id, team_name)

    def get_variable(self, key: str, team_name: str | None = None) -> str | None:
        if _team_blind():
            return None

        def lookup(resolver: Resolver) -> str | None:
            names = resolver.refs_for(
                "variables", key, team=team_name, team_fallback=self.team_fallback
            )
            for name in names:
                secret = _get_or_none(resolver, name)
                if secret is not None:
                    value = secret.reveal()
                    _mask(value)  # whatever the key: Airflow masks only sensitive-looking ones
                    return value
            return None

        return self._guarded(f"variable {key!r}", lookup)

    def get_config(self, key: str) -> str | None:
        """``[section] option_secret = KEY``: the logical name ``config/KEY``, or KEY
        itself when it is a reference (``vault://airflow/db#uri``)."""

        def lookup(resolver: Resolver) -> str | None:
            from secretbridge import parse_reference

            if parse_reference(key, resolver.schemes) is not None:
                return resolver.get(key).reveal()
            for name in resolver.refs_for("config", key):
                secret = _get_or_none(resolver, name)
                if secret is not None:
                    return secret.reveal()
            return None

        return self._guarded(f"config {key!r}", lookup)

    # ------------------------------------------------------------------ lookups

    def _store_connection(self, conn_id: str, team_name: str | None) -> Connection | None:
        def lookup(resolver: Resolver) -> Connection | None:
            from secretbridge import Connection

            for name in resolver.refs_for(
                "connections", conn_id, team=team_name, team_fallback=self.team_fallback
            ):
                secret = _get_or_none(resolver, name)
                if secret is None:
                    continue
                # One fetch (also with cache_ttl = 0): parse it, note which fields are
                # references (to mask what they resolve to), then resolve them.
                stored = Connection.parse(secret.reveal(), ref=name)
                references = set(resolver.reference_fields(stored))
                conn = resolver.resolve_fields(stored, ref=name)
                _mask_connection(conn, references)
                return conn
            return None

        return self._guarded(f"connection {conn_id!r}", lookup)

    def _orchestrator_connection(self, conn_id: str, team_name: str | None) -> Any:
        """Airflow's own connection ``conn_id`` with its reference fields resolved, read
        where this process's chain would read it next: the metadata database (server
        side) or the Execution API (task side). None lets the chain go on: no such
        connection here, or an ``AIRFLOW_CONN_`` variable that Airflow's order puts first.
        """
        if f"AIRFLOW_CONN_{conn_id.upper()}" in os.environ:
            return None
        server_chain = self._in_server_chain()
        if server_chain and _serving_tasks_that_resolve():
            return None  # Airflow's connection goes to the task as stored; the task resolves
        kept = _read_orchestrator(conn_id, team_name, server_chain)
        if kept is None:
            return None
        from secretbridge import Connection

        fields = Connection.from_attributes(kept)

        def resolve(resolver: Resolver) -> Connection | None:
            references = set(resolver.reference_fields(fields))
            if not references:
                return None
            resolved = resolver.resolve_fields(fields, ref=f"airflow connection {conn_id!r}")
            _mask_connection(resolved, references)
            return resolved

        resolved = self._guarded(f"connection {conn_id!r} (Airflow's own)", resolve)
        if resolved is None:
            return kept  # no references: Airflow's connection as it is
        return self.deserialize_connection(conn_id=conn_id, value=resolved.to_json())

    def _in_server_chain(self) -> bool:
        """True when Airflow built this instance for a server chain, the one whose next
        backend reads the metadata database (it is given ``airflow.models.Connection``;
        ``airflow dags test`` runs both chains in one process)."""
        conn_class = getattr(self, "_connection_class", None)
        if conn_class is not None and conn_class.__module__.startswith("airflow.models"):
            return True
        return not _in_task_process() and os.environ.get("_AIRFLOW_PROCESS_CONTEXT") == "server"

    def _guarded(self, what: str, lookup: Callable[[Resolver], T | None]) -> T | None:
        """Run ``lookup(resolver)``: a secretbridge failure becomes the one exception that
        stops Airflow's chain (or, with fall_through, one log line and None)."""
        from secretbridge import ConfigError, SecretBridgeError, shared_resolver

        try:
            if self._problem is not None:
                raise ConfigError(f"[secrets] backend_kwargs: {self._problem}")
            return lookup(shared_resolver(self.config))
        except SecretBridgeError as error:
            failure = error
        message = _describe(what, failure)
        if isinstance(failure, ConfigError):
            log.error("%s", message)  # once per lookup: a config Airflow reads may be broken
        if self.fall_through:
            if not isinstance(failure, ConfigError):
                log.warning("%s; falling through to the next backend", message)
            return None
        raise AirflowSecretsBackendAccessDenied(message) from None


# ---------------------------------------------------------------------- helpers


def _flag(value: bool | str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(text)


def _describe(what: str, error: SecretBridgeError) -> str:
    # str(error) names the reference and the store, never a value (secretbridge's rule).
    return f"secretbridge could not resolve {what}: {type(error).__name__}: {error}"


def _get_or_none(resolver: Resolver, ref: str) -> Secret | None:
    """The secret a name of ours holds, or None: not found, or an id that no logical name
    can spell (``a//b``, whitespace), so that no store can hold it either."""
    from secretbridge import InvalidReference, SecretNotFound

    try:
        return resolver.get(ref)
    except (SecretNotFound, InvalidReference):
        return None


def _in_task_process() -> bool:
    # Not _AIRFLOW_PROCESS_CONTEXT: the scheduler sets it to "server" for its children.
    runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    return getattr(runner, "SUPERVISOR_COMMS", None) is not None


def _team_blind() -> bool:
    """True in a task process of a multi-team Airflow: Airflow does not tell a task
    process's backend its team, so connections and variables are left to the API server,
    which looks them up with the task's team (``teams/<team>/...`` first); answering here
    would hand a team's task the shared secret instead of its team's."""
    if not _in_task_process():
        return False
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # pragma: no cover - an Airflow without the Task SDK's config
        from airflow.configuration import conf
    return bool(conf.getboolean("core", "multi_team", fallback=False))


def _mask(value: str | None) -> None:
    """Register a value with the task's log masking; never in a server process, where
    the masker's pattern grows (and is rebuilt) with every secret for the process's life."""
    if value and _in_task_process():
        from airflow.sdk.log import mask_secret

        mask_secret(value)


def _mask_connection(conn: Connection, references: set[str]) -> None:
    """The password, the whole extra, and every field that came from a reference (login
    and host too, which Airflow itself does not mask), each registered once."""
    if not _in_task_process():
        return
    extra = conn.extra_dejson
    values = [conn.password, conn.extra]
    for field in sorted(references):
        if field.startswith("extra."):
            value = extra.get(field[len("extra.") :])
            values.append(value if isinstance(value, str) else None)
        else:
            values.append(getattr(conn, field, None))
    for value in dict.fromkeys(values):
        _mask(value)


def _serving_tasks_that_resolve() -> bool:
    """True in a process that serves the Execution API (the API server; ``airflow dags
    test`` in-process) when this Airflow's task processes run this backend too
    (``[workers] secrets_backend``, else ``[secrets] backend``). Those tasks resolve the
    references of Airflow's own connections themselves, and mask each field that came
    from one: resolved here, they would reach the task as plain values it cannot tell
    from literals (a login or host would go unmasked)."""
    if "airflow.api_fastapi.execution_api.app" not in sys.modules:
        return False  # the CLI, the scheduler: resolve here
    from airflow.configuration import conf

    if conf.getboolean("core", "multi_team", fallback=False):
        return False  # tasks leave it to the API server, which knows their team

    workers = conf.get("workers", "secrets_backend", fallback="") or conf.get(
        "secrets", "backend", fallback=""
    )
    return workers.strip() in _OUR_PATHS


def _read_orchestrator(conn_id: str, team_name: str | None, server_chain: bool) -> Any:
    """Airflow's own connection ``conn_id``: from the metadata database in a server chain,
    through the Execution API in a task process; None elsewhere (the supervisor and
    other processes whose chain reads neither)."""
    if server_chain:
        from airflow.secrets.metastore import MetastoreBackend

        return MetastoreBackend().get_connection(conn_id, team_name=team_name)
    if _in_task_process():
        from airflow.sdk.execution_time.secrets import ExecutionAPISecretsBackend

        return ExecutionAPISecretsBackend().get_connection(conn_id)
    return None
