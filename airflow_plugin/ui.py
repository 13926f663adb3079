"""The Secrets page: a FastAPI app mounted by Airflow's API server at ``/secretbridge``.

Airflow lists only the connections and variables kept in its own database; this page
shows what the configured stores hold (names, stores, physical names, versions), which
database connections hold references, the stores' health as this API server sees them,
where a connection id, variable key or reference resolves, and recent audit records.
It never returns a value: a lookup resolves in this process and answers with where the
value came from.

Imported only by the API server (through ``plugin._LazyApps``). Airflow's security
dependencies are imported at module level: FastAPI must see the real objects in the
annotations, or it takes them for query parameters.
"""

import json
import logging
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from airflow.api_fastapi.core_api.security import (
    GetUserDep,
    requires_access_connection,
    requires_access_variable,
)
from airflow.configuration import ensure_secrets_loaded
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse, Response

from secretbridge import (
    ConfigError,
    Connection,
    InvalidReference,
    Reference,
    Resolver,
    SecretBridgeError,
    SecretNotFound,
    format_reference,
    shared_resolver,
)
from secretbridge.audit import JsonLinesAudit

from .backend import SecretsBackend

log = logging.getLogger(__name__)

MAX_NAMES = 500  # per namespace: the page is an overview, not an export
MAX_AUDIT = 200
_STATIC = Path(__file__).with_name("static")
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
_NO_STORE = {"Cache-Control": "no-store"}

# Reading any of it needs both read permissions: names and locations of secrets are
# what a connection or variable list would show. Anonymous: 401; otherwise denied: 403.
_READERS = [
    Depends(requires_access_connection("GET")),
    Depends(requires_access_variable("GET")),
]


def config_path() -> str | None:
    """The config file of the secretbridge backend Airflow built in this process from
    ``[secrets] backend`` and its kwargs (Airflow's own reading of them), else None: then
    ``shared_resolver`` takes ``$SECRETBRIDGE_CONFIG`` or the embedded default."""
    for backend in ensure_secrets_loaded():
        if isinstance(backend, SecretsBackend):
            if backend.problem is not None:
                raise ConfigError(f"[secrets] backend_kwargs: {backend.problem}")
            return backend.config
    return None


def resolver() -> Resolver:
    try:
        return shared_resolver(config_path())
    except SecretBridgeError as error:  # a config error names the file and key, no value
        raise HTTPException(503, f"secretbridge is not configured: {error}") from None


ResolverDep = Annotated[Resolver, Depends(resolver)]


def _principal(user: Any) -> str:
    return f"airflow-ui:{user.get_name()}"


def _failure(error: BaseException) -> str:
    """An error for the page: our own errors' messages never hold a value; anything else
    (an SDK's exception) is named by its type only."""
    if isinstance(error, InvalidReference):  # its ``ref`` may be text that was typed
        return f"{type(error).__name__}: {error.message}"
    if isinstance(error, SecretBridgeError):
        return f"{type(error).__name__}: {error}"
    return type(error).__name__


# ------------------------------------------------------------------ listing


def _stores_listed(res: Resolver) -> list[str]:
    """Every store a name may resolve from: the chain, then the route targets."""
    routed = [route.store for route in res.config.routes]
    return list(dict.fromkeys([*res.config.chain, *routed]))


def _latest_version(res: Resolver, store: str, physical: str) -> str | None:
    backend = res.store(store)
    if not backend.capabilities.versions:
        return None
    try:
        versions = backend.versions(physical)
    except Exception as error:  # shown as missing, logged without the store's text
        log.warning("secretbridge: versions of %s in %s: %s", physical, store, type(error).__name__)
        return None
    return versions[-1] if versions else None


def _names(res: Resolver, namespace: str) -> dict[str, Any]:
    """The names under ``namespace/`` in each store; a name held by several stores is
    listed for each, the later ones marked ``shadowed`` (the chain reads the first)."""
    prefix = f"{namespace}/"
    held: dict[str, list[str]] = {}
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    for store in _stores_listed(res):
        try:
            listings = res.list_secrets(prefix, store=store)
        except Exception as error:
            errors.append({"store": store, "error": _failure(error)})
            continue
        for item in listings:
            held.setdefault(item.name, []).append(store)
            rows.append(
                {"name": item.name[len(prefix) :], "store": store, "physical": item.physical}
            )
    truncated = len(rows) > MAX_NAMES
    rows = rows[:MAX_NAMES]
    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = pool.map(lambda r: _latest_version(res, r["store"], r["physical"]), rows)
        for row, version in zip(rows, versions, strict=True):
            logical = f"{prefix}{row['name']}"
            first = next((s for s in res.chain_for(logical) if s in held[logical]), None)
            row["version"] = version
            row["shadowed"] = first != row["store"]  # not the copy the chain reads
    rows.sort(key=lambda r: (r["name"], r["shadowed"]))
    return {"items": rows, "errors": errors, "truncated": truncated}


# ------------------------------------------------------------------ references in fields


def _reference_fields(res: Resolver, conn: Connection) -> list[dict[str, Any]]:
    """The fields of ``conn`` that hold references, with the reference (a name, not a
    value); a malformed one is flagged, its text withheld."""
    return [
        {"field": field, "reference": None if ref is None else str(ref), "malformed": ref is None}
        for field, ref in res.reference_fields(conn).items()
    ]


def _db_connections(res: Resolver, conn_id: str | None = None) -> list[dict[str, Any]]:
    """Connections in Airflow's database (or the one ``conn_id``) with at least one
    reference field. A row that cannot be read (a wrong Fernet key) says so by type."""
    from airflow.models.connection import Connection as DbConnection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = select(DbConnection).order_by(DbConnection.conn_id)
    if conn_id is not None:
        query = query.where(DbConnection.conn_id == conn_id)
    rows: list[dict[str, Any]] = []
    with create_session() as session:
        for db in session.scalars(query):
            row = {"conn_id": db.conn_id, "conn_type": db.conn_type}
            try:
                fields = _reference_fields(res, Connection.from_attributes(db))
            except Exception as error:
                rows.append({**row, "fields": [], "error": type(error).__name__})
                continue
            if fields or conn_id is not None:
                rows.append({**row, "fields": fields})
    return rows


# ------------------------------------------------------------------ health, lookup, audit


def _health(res: Resolver, name: str) -> dict[str, Any]:
    spec = res.config.stores[name]
    try:
        res.store(name).health()
    except Exception as error:
        return {"store": name, "kind": spec.kind, "healthy": False, "error": _failure(error)}
    return {"store": name, "kind": spec.kind, "healthy": True, "error": None}


@dataclass(frozen=True)
class Where:
    ref: str
    found: bool
    cached: bool
    store: str | None = None
    physical: str | None = None
    version: str | None = None
    error: str | None = None


def _locate(res: Resolver, ref: str, principal: str) -> tuple[Where, str | None]:
    """Resolve ``ref`` here and say where it came from; the value stays in this process
    (returned alongside only so a connection's fields can be inspected)."""
    cached = res.is_cached(ref)
    try:
        secret = res.get(ref, principal=principal)
    except SecretNotFound as missing:
        return Where(ref, False, cached, store=missing.store), None
    except SecretBridgeError as error:
        return Where(ref, False, cached, store=error.store, error=_failure(error)), None
    where = Where(ref, True, cached, secret.store, secret.name, secret.version)
    return where, None if secret.is_binary else secret.reveal()


def _lookup_ref(res: Resolver, kind: str, q: str) -> str:
    """The reference to look up; what was typed is never echoed when it does not parse
    (a value may have been pasted in by mistake), whatever the kind."""
    if kind == "reference":
        try:
            parsed = res.parse(q)
        except InvalidReference:  # its message quotes the text: not echoed either
            raise HTTPException(
                400,
                "not a valid reference: it starts like one but does not parse "
                "(secret:NAME[#FIELD] or STORE://PATH[?version=V][#FIELD])",
            ) from None
        if parsed is None:  # never echoed: a literal may be a value pasted in by mistake
            raise HTTPException(400, "not a reference: write secret:NAME or STORE://PATH")
        return str(parsed)
    spaces = res.config.namespaces
    namespace = spaces.connections if kind == "connection" else spaces.variables
    ref = format_reference(Reference(f"{namespace}/{q}"))
    try:
        res.parse(ref)
    except InvalidReference as error:  # its ``ref`` is the text; its message is positions
        what = "connection id" if kind == "connection" else "variable key"
        raise HTTPException(
            400, f"not a valid {what}: in the name {namespace}/ID, {error.message}"
        ) from None
    return ref


def _audit_path(res: Resolver) -> Path | None:
    """The file of the resolver's own ``[audit]`` log, if it keeps one."""
    return res.audit.path if isinstance(res.audit, JsonLinesAudit) else None


def _recent_audit(path: Path, limit: int) -> list[dict[str, Any]]:
    """The last ``limit`` records, newest first (the file holds no values)."""
    try:
        with path.open("rb") as file:
            lines = deque(file, maxlen=limit)
    except FileNotFoundError:
        return []
    events = []
    for line in reversed(lines):
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a record being appended right now
        if isinstance(event, dict):
            events.append(event)
    return events


# ------------------------------------------------------------------ the app


def create_app() -> FastAPI:
    app = FastAPI(title="secretbridge", docs_url=None, redoc_url=None, openapi_url=None)
    api = APIRouter(prefix="/api", dependencies=_READERS)

    @app.middleware("http")
    async def headers(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @app.get("/", response_class=HTMLResponse)
    def page(user: GetUserDep) -> Response:  # the data behind it checks permissions
        return _static("index.html", "text/html; charset=utf-8")

    @app.get("/page.js")
    def script(user: GetUserDep) -> Response:
        return _static("page.js", "text/javascript; charset=utf-8")

    @app.get("/page.css")
    def style(user: GetUserDep) -> Response:
        return _static("page.css", "text/css; charset=utf-8")

    @api.get("/names")
    def names(res: ResolverDep) -> Response:
        spaces = res.config.namespaces
        body = {
            "connections": _names(res, spaces.connections),
            "variables": _names(res, spaces.variables),
        }
        return _json(body)

    @api.get("/db-connections")
    def db_connections(res: ResolverDep) -> Response:
        return _json({"items": _db_connections(res)})

    @api.get("/stores")
    def stores(res: ResolverDep) -> Response:
        names = list(res.config.stores)
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
            items = list(pool.map(lambda n: _health(res, n), names))
        chain = res.config.chain
        source = str(res.config.source) if res.config.source else None
        return _json({"config": source, "chain": chain, "items": items})

    @api.get("/lookup")
    def lookup(
        res: ResolverDep,
        user: GetUserDep,
        q: Annotated[str, Query(min_length=1, max_length=1000)],
        kind: Literal["connection", "variable", "reference"] = "reference",
    ) -> Response:
        principal = _principal(user)
        where, text = _locate(res, _lookup_ref(res, kind, q.strip()), principal)
        body: dict[str, Any] = {"kind": kind, **where.__dict__}
        if kind != "connection":
            return _json(body)
        if text is not None:
            try:
                conn = Connection.parse(text, ref=where.ref)
            except SecretBridgeError as error:
                body["error"] = _failure(error)
            else:
                body["fields"] = _locate_fields(res, _reference_fields(res, conn), principal)
        elif where.error is None:
            # Not in the stores: Airflow's chain goes on to its database, where the
            # connection's reference fields resolve through secretbridge.
            [db] = _db_connections(res, q.strip()) or [None]
            body["airflow_db"] = db is not None
            if db is not None:
                body["fields"] = _locate_fields(res, db["fields"], principal)
        return _json(body)

    @api.get("/audit")
    def audit(res: ResolverDep, limit: Annotated[int, Query(ge=1, le=MAX_AUDIT)] = 50) -> Response:
        path = _audit_path(res)
        if path is None:
            return _json({"configured": False, "items": []})
        return _json({"configured": True, "path": str(path), "items": _recent_audit(path, limit)})

    app.include_router(api)
    return app


def _locate_fields(
    res: Resolver, fields: list[dict[str, Any]], principal: str
) -> list[dict[str, Any]]:
    """Where each reference field of a connection resolves."""
    out = []
    for field in fields:
        if field["reference"] is not None:
            where, _ = _locate(res, field["reference"], principal)
            field = {**field, **where.__dict__}
        out.append(field)
    return out


def _static(name: str, media_type: str) -> Response:
    return Response((_STATIC / name).read_bytes(), media_type=media_type, headers=_NO_STORE)


def _json(body: Any) -> Response:
    return Response(json.dumps(body), media_type="application/json", headers=_NO_STORE)
