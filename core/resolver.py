"""The resolver: routing, the chain of stores, cache, batching, and the policy and audit seams.

    resolver = Resolver.from_config()           # $SECRETBRIDGE_CONFIG, or the local default
    resolver.get("secret:connections/pg#password").reveal()
    resolver.get_many(["secret:a", "aws-sm://prod/b#password"])
    resolver.load("SNOWFLAKE/")                 # {"TRANSFORM.PASSWORD": Secret(...), ...}

Lookups fail closed: a store that is unreachable stops the chain (the next store might
hold a different secret under the same name) unless a recent value may be served under
``stale_if_error``. Errors name the reference and the store, never a value.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .config import Config, ResolverSettings, load_config
from .errors import (
    AccessDenied,
    ConfigError,
    InvalidReference,
    SecretBridgeError,
    SecretNotFound,
    StoreUnavailable,
)
from .naming import Selection, expand_json, rule_for
from .refs import Reference, looks_like_reference, parse_reference, validate_logical_name
from .stores import RESERVED_SCHEMES
from .stores.base import Store, StoreContext, StoredValue, build_options, load_store_class
from .values import Connection, Secret

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("secretbridge")
Clock = Callable[[], float]
Outcome = Secret | SecretBridgeError


# ------------------------------------------------------------------ policy and audit seams


class Policy(Protocol):
    """Decides whether ``principal`` may perform ``action`` on ``ref``; raises AccessDenied."""

    def authorize(self, principal: str | None, ref: Reference, action: str) -> None: ...


@dataclass(frozen=True)
class AuditEvent:
    """One resolution, as the audit log keeps it: who, what, where, never the value."""

    at: float
    principal: str | None
    action: str  # read, write, delete
    ref: str
    store: str | None
    name: str | None
    version: str | None
    outcome: str  # ok, cached, stale, not_found, denied, error


class AuditSink(Protocol):
    def record(self, event: AuditEvent) -> None: ...


# ------------------------------------------------------------------ cache


@dataclass(frozen=True, slots=True)
class _Entry:
    ref: Reference | None  # None for a literal
    secret: Secret | None  # None: a remembered miss
    miss: SecretNotFound | None
    expires: float
    stale_until: float


class _Cache:
    """Resolved values by reference string. A miss is kept ``miss_ttl`` seconds; a value
    ``ttl`` seconds, then ``stale_if_error`` more during which it is served only when the
    store fails. Bounded: the oldest entry goes first."""

    def __init__(self, settings: ResolverSettings, clock: Clock) -> None:
        self.ttl = settings.cache_ttl
        self.miss_ttl = settings.miss_ttl
        self.stale_if_error = settings.stale_if_error
        self.max_entries = settings.max_entries
        self.clock = clock
        self.entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def put(self, key: str, ref: Reference | None, outcome: Outcome) -> None:
        now = self.clock()
        if isinstance(outcome, Secret):
            if self.ttl <= 0:
                return
            entry = _Entry(ref, outcome, None, now + self.ttl, now + self.ttl + self.stale_if_error)
        elif isinstance(outcome, SecretNotFound):
            if self.miss_ttl <= 0:
                return
            entry = _Entry(ref, None, outcome, now + self.miss_ttl, now + self.miss_ttl)
        else:
            return
        with self._lock:
            self.entries.pop(key, None)
            self.entries[key] = entry
            while len(self.entries) > self.max_entries:
                del self.entries[next(iter(self.entries))]

    def stale(self, key: str) -> Secret | None:
        entry = self.entries.get(key)
        if entry is not None and entry.secret is not None and self.clock() < entry.stale_until:
            return entry.secret
        return None

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()


# ------------------------------------------------------------------ the resolver


@dataclass(frozen=True)
class Listing:
    """A name found by listing: its logical name, the store and the physical name there."""

    name: str
    store: str
    physical: str


@dataclass(frozen=True)
class Location:
    """Where a write went."""

    store: str
    name: str
    version: str | None


class Resolver:
    def __init__(
        self,
        config: Config,
        *,
        policy: Policy | None = None,
        audit: AuditSink | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.config = config
        self.policy = policy
        self.audit = audit if audit is not None else _audit_from_config(config)
        self._clock = clock
        self._cache = _Cache(config.resolver, clock)
        self._entries = self._cache.entries  # the hot path reads it directly
        self._stores: dict[str, Store] = {}
        self._stores_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: dict[str, threading.Event] = {}  # misses being fetched right now
        self._inflight_lock = threading.Lock()
        self._schemes = frozenset(RESERVED_SCHEMES | set(config.stores))
        self._routes = sorted(config.routes, key=lambda r: -len(r.prefix))
        self._context = StoreContext(home=config.home, base_dir=config.base_dir)

    @classmethod
    def from_config(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        policy: Policy | None = None,
        audit: AuditSink | None = None,
        clock: Clock = time.monotonic,
    ) -> Resolver:
        """``path``, else ``$SECRETBRIDGE_CONFIG``, else a local store in
        ``$SECRETBRIDGE_HOME``. Stores connect on first use, not here."""
        return cls(load_config(path), policy=policy, audit=audit, clock=clock)

    def __enter__(self) -> Resolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        with self._stores_lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()

    def clear_cache(self) -> None:
        """Forget every cached value and miss (the adapters call this between runs)."""
        self._cache.clear()

    # -------------------------------------------------------------- stores

    @property
    def schemes(self) -> frozenset[str]:
        """Every word that ``STORE://`` may start with here."""
        return self._schemes

    def store(self, name: str) -> Store:
        """A configured store by name, or the default store of a kind, built on first use."""
        store = self._stores.get(name)
        if store is not None:
            return store
        with self._stores_lock:
            if name not in self._stores:
                self._stores[name] = self._build_store(name)
            return self._stores[name]

    def _build_store(self, name: str) -> Store:
        spec = self.config.stores.get(name)
        if spec is None:
            # STORE:// names a kind: the first configured store of that kind, else one
            # with the kind's defaults (ambient credentials, default paths).
            for candidate in self.config.stores.values():
                if candidate.kind == name:
                    return self.store(candidate.name)
            if name not in self._schemes:
                raise ConfigError(f"no store named {name!r} is configured")
            cls = load_store_class(name, where=f"{name}:// ")
            options = build_options(cls, {}, where=f"the default {name} store: ")
            return cls(name, options, naming=rule_for(cls), context=self._context)
        cls = load_store_class(spec.kind, where=f"stores.{name}.")
        return cls(name, spec.options, naming=spec.naming, context=self._context)

    def chain_for(self, name: str) -> list[str]:
        """The stores a logical name is looked up in, in order: its route, else the chain."""
        for route in self._routes:
            if name.startswith(route.prefix):
                return [route.store]
        return list(self.config.chain)

    # -------------------------------------------------------------- reads

    def parse(self, text: str) -> Reference | None:
        """Parse with this resolver's store names as schemes; None for a literal."""
        return parse_reference(text, self._schemes)

    def get(self, ref: str | Reference, *, principal: str | None = None) -> Secret:
        """Resolve one reference (or literal) to a Secret; raises a SecretBridgeError."""
        key = ref if isinstance(ref, str) else str(ref)
        entry = self._entries.get(key)
        if entry is not None and self._clock() < entry.expires:
            return self._from_cache(principal, key, entry)
        return self._get_missed(key, principal)

    def _from_cache(self, principal: str | None, key: str, entry: _Entry) -> Secret:
        if self.policy is not None or self.audit is not None:
            self._check_and_record(principal, key, entry)
        if entry.secret is not None:
            return entry.secret
        raise _fresh(entry.miss)

    def _get_missed(self, key: str, principal: str | None) -> Secret:
        """A miss. Threads that miss the same reference at once share one fetch: the
        first fetches, the others wait for it, then read the cache (authorized for
        their own principal) or, if nothing was cached, resolve for themselves."""
        with self._inflight_lock:
            running = self._inflight.get(key)
            if running is None:
                self._inflight[key] = threading.Event()
        if running is not None:
            running.wait()
            entry = self._entries.get(key)
            if entry is not None and self._clock() < entry.expires:
                return self._from_cache(principal, key, entry)
            outcome = self._resolve([key], principal)[key]
        else:
            try:
                outcome = self._resolve([key], principal)[key]
            finally:
                with self._inflight_lock:
                    self._inflight.pop(key).set()
        if isinstance(outcome, SecretBridgeError):
            raise outcome
        return outcome

    def get_many(
        self,
        refs: Iterable[str | Reference],
        *,
        principal: str | None = None,
        return_exceptions: bool = False,
    ) -> dict[str, Secret | SecretBridgeError]:
        """Resolve many references in as few store calls as the stores allow.

        Returns a dict keyed by each reference string. The first failure (in the order
        given) is raised unless ``return_exceptions`` is true, in which case failures
        stand in the dict in place of their values.
        """
        keys = list(dict.fromkeys(r if isinstance(r, str) else str(r) for r in refs))
        now = self._clock()
        results: dict[str, Outcome] = {}
        missing: list[str] = []
        for key in keys:
            entry = self._entries.get(key)
            if entry is not None and now < entry.expires:
                if self.policy is not None or self.audit is not None:
                    try:
                        self._check_and_record(principal, key, entry)
                    except AccessDenied as denied:
                        results[key] = denied
                        continue
                results[key] = entry.secret if entry.secret is not None else _fresh(entry.miss)
            else:
                missing.append(key)
        if missing:
            results.update(self._resolve(missing, principal))
        ordered = {key: results[key] for key in keys}
        if not return_exceptions:
            for outcome in ordered.values():
                if isinstance(outcome, SecretBridgeError):
                    raise outcome
        return ordered

    def connection(self, ref: str | Reference, *, principal: str | None = None) -> Connection:
        """An Airflow-compatible connection; fields that are references are resolved too."""
        secret = self.get(ref, principal=principal)
        conn = Connection.parse(secret.reveal(), ref=secret.ref)

        def expand(value: str) -> str:
            if looks_like_reference(value, self._schemes):
                return self.get(value, principal=principal).reveal()
            return value

        return conn.map_fields(expand)

    def load(
        self, selection: str | Selection = "", *, principal: str | None = None
    ) -> dict[str, Secret]:
        """Every secret under a logical prefix, keyed by dotted name
        (``SNOWFLAKE/TRANSFORM/PASSWORD`` -> ``TRANSFORM.PASSWORD`` with the prefix
        ``SNOWFLAKE/`` stripped); JSON objects expand to one key per leaf if asked."""
        chosen = Selection.of(selection)
        names = [item.name for item in self.list_secrets(chosen.prefix)]
        refs = {name: Reference(name) for name in names}
        resolved = self.get_many([str(r) for r in refs.values()], principal=principal)
        out: dict[str, Secret] = {}
        for name, ref in refs.items():
            secret = resolved[str(ref)]
            assert isinstance(secret, Secret)
            key = chosen.key_for(name)
            if chosen.expand_json and not secret.is_binary:
                for sub_key, text in expand_json(key, secret.reveal()).items():
                    if chosen.wants(sub_key):
                        out[sub_key] = Secret(
                            text,
                            ref=secret.ref,
                            store=secret.store,
                            name=secret.name,
                            version=secret.version,
                        )
            elif chosen.wants(key):
                out[key] = secret
        return out

    def list_secrets(self, prefix: str = "", *, store: str | None = None) -> list[Listing]:
        """Logical names under ``prefix``, from one store, or from every store a name may
        resolve from (a name held by several resolves from the first in its chain)."""
        stores = [store] if store is not None else self._stores_for_prefix(prefix)
        found: dict[str, dict[str, str]] = {}  # logical -> {store: physical}
        for name in stores:
            backend = self.store(name)
            physical_prefix = "" if backend.naming.namespaces else backend.naming.prefix
            for physical in self._call(backend, backend.list_names, physical_prefix):
                logical = backend.naming.to_logical(physical)
                if logical is not None and logical.startswith(prefix):
                    found.setdefault(logical, {}).setdefault(name, physical)
        listings = []
        for logical, holders in sorted(found.items()):
            order = [store] if store is not None else self.chain_for(logical)
            winner = next((n for n in order if n in holders), None)
            if winner is not None:
                listings.append(Listing(logical, winner, holders[winner]))
        return listings

    def _stores_for_prefix(self, prefix: str) -> list[str]:
        names = list(self.config.chain)
        for route in self._routes:
            if route.prefix.startswith(prefix) or prefix.startswith(route.prefix):
                names.append(route.store)
        return list(dict.fromkeys(names))

    # -------------------------------------------------------------- writes

    def put(
        self,
        ref: str,
        value: str | bytes,
        *,
        store: str | None = None,
        principal: str | None = None,
    ) -> Location:
        """Write a new version of a ``STORE://PATH``, or of a logical name: to ``store``
        if given, else its route, else the first writable store in the chain."""
        target, physical = self._write_target(ref, store, principal, "write")
        target.check_size(physical, value)
        version = self._call(target, target.put, physical, value, ref=ref, writes_value=True)
        self._cache.clear()
        self._record(principal, "write", ref, target.name, physical, version, "ok")
        return Location(target.name, physical, version)

    def delete(
        self, ref: str, *, store: str | None = None, principal: str | None = None
    ) -> Location:
        """Delete every version of a ``STORE://PATH``, or of a logical name from ``store``
        if given, else from the store it currently resolves from."""
        target, physical = self._write_target(ref, store, principal, "delete")
        self._call(target, target.delete, physical, ref=ref)
        self._cache.clear()
        self._record(principal, "delete", ref, target.name, physical, None, "ok")
        return Location(target.name, physical, None)

    def _write_target(
        self, ref: str, store: str | None, principal: str | None, action: str
    ) -> tuple[Store, str]:
        parsed = self.parse(ref)
        if parsed is None:  # a bare logical name, as the CLI takes it
            validate_logical_name(ref, ref=ref)
            parsed = Reference(ref)
        if parsed.field is not None or parsed.version is not None:
            raise InvalidReference(f"a {action} takes a name, not a #field or ?version", ref=ref)
        if self.policy is not None:
            self.policy.authorize(principal, parsed, action)
        if parsed.store is not None:
            if store is not None and store != parsed.store:
                raise InvalidReference(
                    f"the reference names store {parsed.store!r} but {store!r} was asked for",
                    ref=ref,
                )
            return self.store(parsed.store), parsed.path
        if store is not None:
            target = self.store(store)
            return target, target.naming.to_physical(parsed.path, store=target.name)
        if action == "delete":
            found = self._fetch({parsed})[parsed]
            if isinstance(found, SecretBridgeError):
                raise _fresh_with(found, ref, keep_ref=False)
            assert found.store is not None and found.name is not None
            return self.store(found.store), found.name
        candidates = self.chain_for(parsed.path)
        writable = [n for n in candidates if self.store(n).capabilities.writable]
        if not writable:
            raise ConfigError(
                f"no writable store for this name (looked at: {', '.join(candidates)})",
                ref=ref,
            )
        target = self.store(writable[0])
        return target, target.naming.to_physical(parsed.path, store=target.name)

    # -------------------------------------------------------------- the slow path

    def _resolve(self, keys: Sequence[str], principal: str | None) -> dict[str, Outcome]:
        """Resolve cache misses: parse, authorize, fetch each distinct secret once, then
        pick fields, cache and audit."""
        results: dict[str, Outcome] = {}
        parsed: dict[str, Reference] = {}
        for key in keys:
            try:
                ref = self.parse(key)
            except InvalidReference as error:
                results[key] = error
                continue
            if ref is None:
                results[key] = self._literal(key)
                continue
            if self.policy is not None:
                try:
                    self.policy.authorize(principal, ref, "read")
                except AccessDenied as denied:
                    self._record(principal, "read", key, ref.store, None, None, "denied")
                    results[key] = denied
                    continue
            parsed[key] = ref

        documents = self._fetch({ref.without_field() for ref in parsed.values()})
        for key, ref in parsed.items():
            outcome = documents[ref.without_field()]
            if isinstance(outcome, SecretBridgeError):
                outcome = _fresh_with(outcome, key, keep_ref=False)
            elif isinstance(outcome, Secret):
                outcome = outcome.with_ref(key)
                if ref.field is not None:
                    try:
                        outcome = outcome.field(ref.field)
                    except SecretBridgeError as error:
                        outcome = error
            if isinstance(outcome, StoreUnavailable):
                stale = self._cache.stale(key)
                if stale is not None:
                    log.warning("serving a stale value for %s: %s", key, outcome)
                    self._record_outcome(principal, key, stale, "stale")
                    results[key] = stale
                    continue
            self._cache.put(key, ref, outcome)
            self._record_outcome(principal, key, outcome, "ok")
            results[key] = outcome
        return results

    def _literal(self, key: str) -> Outcome:
        if not self.config.resolver.literals:
            # Never echo the literal itself: it is likely a value typed in by hand.
            return InvalidReference(
                "a literal value was given where a reference is required "
                "(resolver.literals = false); write secret:NAME or STORE://PATH"
            )
        return Secret(key, store=None)

    def _fetch(self, refs: set[Reference]) -> dict[Reference, Outcome]:
        """Fetch whole secrets: explicit ``STORE://`` paths from their store, logical
        names through their chain, one batch per store per step."""
        out: dict[Reference, Outcome] = {}
        # position in each logical name's chain; explicit refs have a chain of one
        chains: dict[Reference, list[str]] = {}
        for ref in refs:
            if ref.store is not None:
                chains[ref] = [ref.store]
            else:
                chains[ref] = self.chain_for(ref.path)
        tried: dict[Reference, list[str]] = {ref: [] for ref in refs}
        step = 0
        pending = set(refs)
        while pending:
            groups: dict[str, list[Reference]] = {}
            for ref in pending:
                groups.setdefault(chains[ref][step], []).append(ref)
            next_pending: set[Reference] = set()
            for store_name, group in groups.items():
                for ref, outcome in self._fetch_from(store_name, group).items():
                    if isinstance(outcome, _Skip | SecretNotFound) and ref.store is None:
                        tried[ref].append(
                            outcome.describe()
                            if isinstance(outcome, _Skip)
                            else (f"{store_name} as {outcome.ref!r}")
                        )
                        if step + 1 < len(chains[ref]):
                            next_pending.add(ref)
                            continue
                        outcome = SecretNotFound(
                            f"not found in any store it may live in ({'; '.join(tried[ref])})",
                            ref=str(ref),
                        )
                    elif isinstance(outcome, _Skip):
                        outcome = outcome.error
                    out[ref] = outcome
            pending = next_pending
            step += 1
        return out

    def _fetch_from(self, store_name: str, refs: list[Reference]) -> dict[Reference, Any]:
        """One store's share of a lookup: map names, batch or fan out, wrap the values."""
        try:
            store = self.store(store_name)
        except SecretBridgeError as error:
            return {ref: _fresh_with(error, str(ref)) for ref in refs}
        out: dict[Reference, Any] = {}
        physical: dict[Reference, str] = {}
        for ref in refs:
            if ref.store is not None:
                physical[ref] = ref.path
                continue
            try:
                physical[ref] = store.naming.to_physical(ref.path, store=store.name)
            except InvalidReference as error:
                out[ref] = _Skip(store.name, error)
        latest = [r for r in physical if r.version is None]
        pinned = [r for r in physical if r.version is not None]
        values = self._get_latest(store, sorted({physical[r] for r in latest}))
        pinned_values = self._map(
            store, [(physical[r], r.version) for r in pinned], lambda item: store.get(*item)
        )
        for ref in latest:
            out[ref] = self._wrap(store, ref, physical[ref], values[physical[ref]])
        for ref, value in zip(pinned, pinned_values, strict=True):
            out[ref] = self._wrap(store, ref, physical[ref], value)
        return out

    def _get_latest(self, store: Store, paths: list[str]) -> dict[str, Any]:
        if not paths:
            return {}
        size = store.capabilities.batch_size
        if size is None:
            return dict(zip(paths, self._map(store, paths, store.get), strict=True))
        out: dict[str, Any] = {}
        for start in range(0, len(paths), size):
            chunk = paths[start : start + size]
            batch = self._call_safely(store, store.get_many, chunk)
            if isinstance(batch, SecretBridgeError):
                out.update(dict.fromkeys(chunk, batch))
            else:
                out.update(batch)
        return out

    def _map(self, store: Store, items: Sequence[Any], fn: Callable[[Any], Any]) -> list[Any]:
        """Run ``fn`` over ``items`` with a bounded pool; failures come back as values."""
        if len(items) <= 1:
            return [self._call_safely(store, fn, item) for item in items]
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor  # only stores without batches

            self._pool = ThreadPoolExecutor(
                self.config.resolver.max_workers, thread_name_prefix="secretbridge"
            )
        return list(self._pool.map(partial(self._call_safely, store, fn), items))

    def _call_safely(self, store: Store, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return self._call(store, fn, *args)
        except SecretBridgeError as error:
            return error

    def _call(
        self,
        store: Store,
        fn: Callable[..., Any],
        *args: Any,
        ref: str | None = None,
        writes_value: bool = False,
    ) -> Any:
        """Call into a store; anything it raises that is not ours becomes StoreUnavailable
        naming the store and the cause. A read's cause is kept (SDK read errors carry no
        values); a write's is reduced to its type, as its text may quote the request."""
        try:
            return fn(*args)
        except SecretBridgeError:
            raise
        except Exception as error:
            cause = type(error).__name__ if writes_value else f"{type(error).__name__}: {error}"
            failure = StoreUnavailable(f"the store failed: {cause}", ref=ref, store=store.name)
            if writes_value:
                raise failure from None
            raise failure from error

    def _wrap(self, store: Store, ref: Reference, physical: str, value: Any) -> Any:
        if isinstance(value, StoredValue):
            return Secret(
                value.value, ref=str(ref), store=store.name, name=physical, version=value.version
            )
        if isinstance(value, SecretBridgeError):
            return _fresh_with(value, str(ref) if ref.store is not None else physical)
        return value

    # -------------------------------------------------------------- policy and audit

    def _check_and_record(self, principal: str | None, key: str, entry: _Entry) -> None:
        if self.policy is not None and entry.ref is not None:
            try:
                self.policy.authorize(principal, entry.ref, "read")
            except AccessDenied:
                self._record(principal, "read", key, entry.ref.store, None, None, "denied")
                raise
        if self.audit is not None:
            if entry.secret is not None:
                self._record_outcome(principal, key, entry.secret, "cached")
            else:
                self._record(principal, "read", key, None, None, None, "not_found")

    def _record_outcome(self, principal: str | None, key: str, outcome: Outcome, ok: str) -> None:
        if self.audit is None:
            return
        if isinstance(outcome, Secret):
            if outcome.store is None:
                return  # literals are not secrets from a store
            self._record(principal, "read", key, outcome.store, outcome.name, outcome.version, ok)
        else:
            result = "not_found" if isinstance(outcome, SecretNotFound) else "error"
            self._record(principal, "read", key, outcome.store, None, None, result)

    def _record(
        self,
        principal: str | None,
        action: str,
        ref: str,
        store: str | None,
        name: str | None,
        version: str | None,
        outcome: str,
    ) -> None:
        if self.audit is not None:
            event = AuditEvent(time.time(), principal, action, ref, store, name, version, outcome)
            self.audit.record(event)


@dataclass(frozen=True)
class _Skip:
    """A store in the chain that cannot spell the name, so cannot hold it."""

    store: str
    error: InvalidReference

    def describe(self) -> str:
        return f"{self.store} cannot hold it: {self.error.message}"


def _fresh(error: SecretBridgeError | None) -> SecretBridgeError:
    """A new exception like ``error``: re-raising one instance would grow its traceback."""
    assert error is not None
    return type(error)(error.message, ref=error.ref, store=error.store)


def _fresh_with(error: SecretBridgeError, ref: str, *, keep_ref: bool = True) -> SecretBridgeError:
    """A copy of ``error`` that names ``ref`` (unless it names one already and
    ``keep_ref``), keeping its cause."""
    fresh = type(error)(
        error.message, ref=(error.ref if keep_ref else None) or ref, store=error.store
    )
    fresh.__cause__ = error.__cause__
    return fresh


class JsonLinesAudit:
    """Appends one JSON object per event to a file created private (0600)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, event: AuditEvent) -> None:
        line = json.dumps(asdict(event), separators=(",", ":")) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)


def _audit_from_config(config: Config) -> AuditSink | None:
    if config.audit is None:
        return None
    return JsonLinesAudit(str(config.base_dir / Path(config.audit.path).expanduser()))
