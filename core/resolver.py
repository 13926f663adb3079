"""The resolver: routing, the chain of stores, the cache, batching, and the policy and
audit seams. The cache (with shared fetches and store backoff) is in ``cache``, the walk
through the chain in ``chain``, the audit log in ``audit``.

    resolver = Resolver.from_config()           # $SECRETBRIDGE_CONFIG, or the local default
    resolver.get("secret:connections/pg#password").reveal()
    resolver.get_many(["secret:a", "aws-sm://prod/b#password"])
    resolver.load("SNOWFLAKE/")                 # {"TRANSFORM.PASSWORD": Secret(...), ...}

Lookups fail closed: a store that is unreachable stops the chain (the next store might
hold a different secret under the same name) unless a recent value may be served under
``stale_if_error``; a store that keeps failing is backed off from rather than called on
every lookup. An audit log that cannot be written refuses the call. Errors name the
reference and the store, never a value.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal, Protocol, overload

from .audit import AuditEvent, AuditSink, AuditTrail, audit_from_config
from .cache import Backoff, Cache, Clock, Entry, Flights, Outcome, Random, default_random
from .chain import Fetcher, call_store, copy_error
from .config import Config, ResolverSettings, Route, StoreSpec, load_config
from .errors import (
    AccessDenied,
    AuditError,
    ConfigError,
    InvalidReference,
    SecretBridgeError,
    StoreUnavailable,
)
from .naming import Selection, expand_json, rule_for
from .refs import Reference, format_reference, parse_name, parse_reference
from .stores import RESERVED_SCHEMES
from .stores.base import Store, StoreContext, build_options, load_store_class
from .values import Connection, Secret

__all__ = [
    "AuditEvent",
    "AuditSink",
    "Listing",
    "Location",
    "Policy",
    "Resolver",
]

log = logging.getLogger("secretbridge")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class Policy(Protocol):
    """Decides whether ``principal`` may perform ``action`` on ``ref``; raises AccessDenied."""

    def authorize(self, principal: str | None, ref: Reference, action: str) -> None: ...


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
    """Resolves references (``secret:NAME[#FIELD]``, ``STORE://PATH[?version=V][#FIELD]``)
    and literals to :class:`Secret` values, and writes, deletes and lists secrets.

    Build one from a config file (:meth:`from_config`) or from store instances
    (:meth:`from_stores`); stores named in the config connect on first use. Thread-safe:
    one resolver serves a whole process. A cache hit costs a dict lookup (plus the policy
    and audit when configured); misses of one reference share one fetch across threads.
    ``principal`` names the caller for the policy and the audit log.
    """

    def __init__(
        self,
        config: Config,
        *,
        policy: Policy | None = None,
        audit: AuditSink | None = None,
        clock: Clock = time.monotonic,
        rng: Random = default_random,
    ) -> None:
        self.config = config
        self.policy = policy
        self.audit = audit if audit is not None else audit_from_config(config)
        self._trail = AuditTrail(self.audit)
        self._clock = clock
        self._cache = Cache(config.resolver, clock, rng)
        self._entries = self._cache.entries  # the hot path reads it directly
        self._flights = Flights()
        self._stores: dict[str, Store] = {}  # by store name, and by kind for KIND://
        self._stores_lock = threading.Lock()
        self._schemes = frozenset(RESERVED_SCHEMES | set(config.stores))
        self._routes = sorted(config.routes, key=lambda r: -len(r.prefix))
        self._context = StoreContext(home=config.home, base_dir=config.base_dir)
        self._fetcher = Fetcher(
            self.store, self.chain_for, Backoff(clock, rng), config.resolver.max_workers
        )

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

    @classmethod
    def from_stores(
        cls,
        stores: Mapping[str, Store],
        *,
        chain: Sequence[str] | None = None,
        routes: Mapping[str, str] | None = None,
        settings: ResolverSettings | None = None,
        policy: Policy | None = None,
        audit: AuditSink | None = None,
        clock: Clock = time.monotonic,
        rng: Random = default_random,
    ) -> Resolver:
        """A resolver over stores built already (tests, embedding): ``stores`` by name
        (each key its store's ``name``), ``chain`` the lookup order (default: as given),
        ``routes`` name prefix -> store."""
        for name, store in stores.items():
            if store.name != name:
                raise ConfigError(f"stores[{name!r}] is a store named {store.name!r}")
        order = list(chain) if chain is not None else list(stores)
        route_list = [Route(prefix, store) for prefix, store in (routes or {}).items()]
        for name in [*order, *(route.store for route in route_list)]:
            if name not in stores:
                raise ConfigError(f"no store named {name!r} was given")
        config = Config(
            stores={n: StoreSpec(n, s.kind, s.options, s.naming) for n, s in stores.items()},
            chain=order,
            routes=route_list,
            resolver=settings if settings is not None else ResolverSettings(),
        )
        resolver = cls(config, policy=policy, audit=audit, clock=clock, rng=rng)
        resolver._stores.update(stores)
        return resolver

    def __enter__(self) -> Resolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._fetcher.close()
        with self._stores_lock:
            for store in {id(s): s for s in self._stores.values()}.values():
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
        target = self._store_name(name)
        with self._stores_lock:  # not re-entered: building a store never asks for another
            store = self._stores.get(target)
            if store is None:
                store = self._stores[target] = self._build_store(target)
            self._stores[name] = store
        return store

    def _store_name(self, name: str) -> str:
        """The store ``name`` means: a configured store, else the first configured store of
        that kind (``KIND://``), else the kind's default store."""
        if name in self.config.stores:
            return name
        for spec in self.config.stores.values():
            if spec.kind == name:
                return spec.name
        if name not in self._schemes:
            raise ConfigError(f"no store named {name!r} is configured")
        return name

    def _build_store(self, name: str) -> Store:
        """Build a store. Its errors name where it is configured, like other config errors:
        the file, then ``stores.NAME``."""
        spec = self.config.stores.get(name)
        try:
            if spec is None:  # a kind's default store: ambient credentials, default paths
                cls = load_store_class(name, where=f"{name}:// ")
                options = build_options(cls, {}, where=f"the default {name} store: ")
                return cls(name, options, naming=rule_for(cls), context=self._context)
            cls = load_store_class(spec.kind, where=f"stores.{name}.")
            return cls(name, spec.options, naming=spec.naming, context=self._context)
        except SecretBridgeError as error:
            own = f"stores.{name}"
            message = error.message
            if spec is None:
                message = f"the default {name} store: {message}"
            else:
                named = message.startswith((f"{own}.", f"{own}:"))
                source = f"{self.config.source}: " if self.config.source else ""
                message = f"{source}{message}" if named else f"{source}{own}: {message}"
            failure = type(error)(message, ref=error.ref, store=error.store)
            failure.__cause__ = error.__cause__
        raise failure

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

    def refs_for(
        self,
        kind: Literal["connections", "variables", "config"],
        key: str,
        *,
        team: str | None = None,
        team_fallback: bool = True,
    ) -> list[str]:
        """The references an orchestrator's connection id, variable key or config key is
        looked up under, in order: ``secret:connections/X`` (the first segment from the
        config's ``[namespaces]``); with a team, ``teams/<team>/...`` first, then the
        shared name unless ``team_fallback`` is off. Airflow and Dagster both ask this, so
        the same id names the same secret in both."""
        shared = f"{getattr(self.config.namespaces, kind)}/{key}"
        if not team:
            names = [shared]
        elif team_fallback:
            names = [f"teams/{team}/{shared}", shared]
        else:
            names = [f"teams/{team}/{shared}"]
        return [format_reference(Reference(name)) for name in names]

    def now(self) -> float:
        """This resolver's clock, the time base of ``fetched_after``."""
        return self._clock()

    def get(
        self,
        ref: str | Reference,
        *,
        principal: str | None = None,
        fetched_after: float | None = None,
    ) -> Secret:
        """Resolve one reference (or literal) to a Secret; raises a SecretBridgeError.

        ``fetched_after`` (a :meth:`now` reading, e.g. when a run started): a cached value
        or miss fetched before it is fetched again (an outage may still be answered by the
        stale value, as configured)."""
        key = ref if isinstance(ref, str) else str(ref)
        entry = self._entries.get(key)
        if entry is not None and entry.serves(self._clock(), fetched_after):
            return self._from_cache(principal, key, entry)
        outcome = self._lookup([key], principal)[key]
        if isinstance(outcome, SecretBridgeError):
            raise outcome
        return outcome

    def is_cached(self, ref: str | Reference) -> bool:
        """Whether a lookup of ``ref`` now would be served from the cache (a value or a
        remembered miss) rather than by a store; no store is called, nothing is audited."""
        entry = self._entries.get(ref if isinstance(ref, str) else str(ref))
        return entry is not None and entry.serves(self._clock(), None)

    def _from_cache(self, principal: str | None, key: str, entry: Entry) -> Secret:
        if self.policy is not None or self.audit is not None:
            self._check_and_record(principal, key, entry.ref, entry.secret or entry.miss)
        if entry.secret is not None:
            return entry.secret
        assert entry.miss is not None
        raise copy_error(entry.miss)

    @overload
    def get_many(
        self,
        refs: Iterable[str | Reference],
        *,
        principal: str | None = None,
        fetched_after: float | None = None,
        return_exceptions: Literal[False] = False,
    ) -> dict[str, Secret]: ...

    @overload
    def get_many(
        self,
        refs: Iterable[str | Reference],
        *,
        principal: str | None = None,
        fetched_after: float | None = None,
        return_exceptions: bool,
    ) -> dict[str, Secret | SecretBridgeError]: ...

    def get_many(
        self,
        refs: Iterable[str | Reference],
        *,
        principal: str | None = None,
        fetched_after: float | None = None,
        return_exceptions: bool = False,
    ) -> dict[str, Secret] | dict[str, Secret | SecretBridgeError]:
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
            if entry is not None and entry.serves(now, fetched_after):
                try:
                    results[key] = self._from_cache(principal, key, entry)
                except AuditError:
                    raise
                except SecretBridgeError as error:
                    results[key] = error
            else:
                missing.append(key)
        if missing:
            results.update(self._lookup(missing, principal))
        ordered = {key: results[key] for key in keys}
        if not return_exceptions:
            for outcome in ordered.values():
                if isinstance(outcome, SecretBridgeError):
                    raise outcome
        return ordered

    def _lookup(self, keys: Sequence[str], principal: str | None) -> dict[str, Outcome]:
        """Cache misses. Callers that miss the same reference at once share one fetch:
        this one fetches the keys nobody is fetching, lands them, then takes the others'
        outcomes (authorized and audited for its own principal)."""
        mine, theirs = self._flights.claim(keys)
        results: dict[str, Outcome] = {}
        try:
            if mine:
                results.update(self._resolve(mine, principal))
        finally:
            self._flights.land(mine, results)
        for key, flight in theirs.items():
            flight.done.wait()
            results[key] = self._shared(principal, key, flight.outcome)
        return results

    def _shared(self, principal: str | None, key: str, outcome: Outcome | None) -> Outcome:
        """Another caller's outcome for ``key``, as this caller's own."""
        if outcome is None or isinstance(outcome, AccessDenied | InvalidReference):
            # The fetch died, or was refused for its principal (or never parsed):
            # resolve for ourselves.
            return self._resolve([key], principal)[key]
        ref = self.parse(key)
        try:
            self._check_and_record(principal, key, ref, outcome)
        except AccessDenied as denied:
            return denied
        return copy_error(outcome) if isinstance(outcome, SecretBridgeError) else outcome

    def connection(
        self,
        ref: str | Reference,
        *,
        principal: str | None = None,
        fetched_after: float | None = None,
    ) -> Connection:
        """An Airflow-compatible connection; fields that parse as references are resolved.

        A field is a reference only when it parses as one; any other text is a literal.
        A field that starts like a reference but is malformed is an error naming the
        field and the problem, never its text (a literal field may be a password).
        """
        secret = self.get(ref, principal=principal, fetched_after=fetched_after)
        conn = Connection.parse(secret.reveal(), ref=secret.ref)
        return self.resolve_fields(
            conn, ref=secret.ref, principal=principal, fetched_after=fetched_after
        )

    def reference_fields(self, conn: Connection) -> dict[str, Reference | None]:
        """The fields of ``conn`` (``password``, ``extra.KEY``, ...) that are references:
        field -> the parsed reference, or None for one that starts like a reference but
        is malformed (its text is not kept: it may be a value typed in by hand)."""
        found: dict[str, Reference | None] = {}

        def note(field: str, text: str) -> str:
            try:
                parsed = self.parse(text)
            except InvalidReference:
                found[field] = None
            else:
                if parsed is not None:
                    found[field] = parsed
            return text

        conn.map_fields(note)
        return found

    def resolve_fields(
        self,
        conn: Connection,
        *,
        ref: str | None = None,
        principal: str | None = None,
        fetched_after: float | None = None,
    ) -> Connection:
        """``conn`` with its reference fields resolved, as :meth:`connection` does for a
        connection kept in a store; for a connection kept elsewhere (an orchestrator's
        own database). ``ref`` names the connection in errors."""
        return conn.map_fields(partial(self._connection_field, ref, principal, fetched_after))

    def _connection_field(
        self,
        conn_ref: str | None,
        principal: str | None,
        fetched_after: float | None,
        field: str,
        text: str,
    ) -> str:
        try:
            parsed = self.parse(text)
        except InvalidReference as error:
            problem = error.message  # a position and what was expected: never the text
        else:
            if parsed is None:
                return text
            try:
                return self.get(parsed, principal=principal, fetched_after=fetched_after).reveal()
            except SecretBridgeError as error:
                failure = type(error)(
                    f"field {field!r} of the connection holds a reference that could not be "
                    f"resolved ({type(error).__name__})",
                    ref=conn_ref,
                    store=error.store,
                )
            raise failure  # not chained: the error names the field's text
        raise InvalidReference(
            f"field {field!r} of the connection starts like a reference but is malformed: "
            f"{problem}; store such a literal as a secret of its own and reference it",
            ref=conn_ref,
        )

    def load(
        self,
        selection: str | Selection = "",
        *,
        principal: str | None = None,
        fetched_after: float | None = None,
    ) -> dict[str, Secret]:
        """Every secret under a logical prefix, keyed by dotted name
        (``SNOWFLAKE/TRANSFORM/PASSWORD`` -> ``TRANSFORM.PASSWORD`` with the prefix
        ``SNOWFLAKE/`` stripped); JSON objects expand to one key per leaf if asked."""
        chosen = Selection.of(selection)
        names = [item.name for item in self.list_secrets(chosen.prefix)]
        refs = {name: Reference(name) for name in names}
        resolved = self.get_many(
            [str(r) for r in refs.values()], principal=principal, fetched_after=fetched_after
        )
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
            for physical in call_store(backend, backend.list_names, physical_prefix):
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
        if given, else its route, else the first writable store in the chain. A bare
        name reads as ``secret:`` + name (write a ``#`` in a name as ``%23``)."""
        target, physical = self._write_target(ref, store, principal, "write")
        target.check_size(physical, value)
        version = self._write(
            target, physical, ref, principal, "write", target.put, physical, value
        )
        return Location(target.name, physical, version)

    def delete(
        self, ref: str, *, store: str | None = None, principal: str | None = None
    ) -> Location:
        """Delete every version of a ``STORE://PATH``, or of a logical name from ``store``
        if given, else from the store it currently resolves from."""
        target, physical = self._write_target(ref, store, principal, "delete")
        self._write(target, physical, ref, principal, "delete", target.delete, physical)
        return Location(target.name, physical, None)

    def _write(
        self,
        target: Store,
        physical: str,
        ref: str,
        principal: str | None,
        action: str,
        fn: Callable[..., str | None],
        *args: object,
    ) -> str | None:
        """Check the audit log can take the record, write, forget what the write changed,
        record it. A record that fails after the store committed says so."""
        self._trail.check()
        version = call_store(target, fn, *args, ref=ref, writes_value=action == "write")
        self._cache.invalidate(target.name, physical, target.naming.to_logical(physical))
        try:
            self._trail.event(principal, action, ref, target.name, physical, version, "ok")
        except AuditError as error:
            pinned = f" (version {version})" if version else ""
            message = (
                f"the {action} was committed to store {target.name!r} as {physical!r}{pinned}, "
                f"but its audit record failed: {error.message}"
            )
        else:
            return version
        raise AuditError(message, ref=ref, store=target.name)

    def _write_target(
        self, ref: str, store: str | None, principal: str | None, action: str
    ) -> tuple[Store, str]:
        parsed = self._write_reference(ref, action)
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
            found = self._fetcher.fetch({parsed})[parsed]
            if isinstance(found, SecretBridgeError):
                raise copy_error(found, ref, replace_ref=True)
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

    def _write_reference(self, text: str, action: str) -> Reference:
        """``STORE://PATH``, ``secret:NAME``, or a bare name read as ``secret:`` + name
        (so ``#`` starts a field in every command); a write takes no field or version."""
        parsed = self.parse(text)
        if parsed is None:
            if _URI.match(text):  # never echoed: a URI may carry a password
                raise InvalidReference(
                    f"a {action} takes secret:NAME, STORE://PATH or a bare name; "
                    "this looks like a URI of another scheme"
                )
            parsed = parse_name(text)
        if parsed.field is not None or parsed.version is not None:
            raise InvalidReference(
                f"a {action} takes a name, not a #field or ?version "
                "(to put '#' in a name write %23, '?' %3F)",
                ref=text,
            )
        return parsed

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
                    self._trail.event(principal, "read", key, ref.store, None, None, "denied")
                    results[key] = denied
                    continue
            parsed[key] = ref

        documents = self._fetcher.fetch({ref.without_field() for ref in parsed.values()})
        for key, ref in parsed.items():
            outcome = documents[ref.without_field()]
            if isinstance(outcome, SecretBridgeError):
                outcome = copy_error(outcome, key, replace_ref=True)
            else:
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
                    self._trail.read(principal, key, stale, "stale")
                    results[key] = stale
                    continue
            self._cache.put(key, ref, outcome)
            self._trail.read(principal, key, outcome, "ok")
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

    # -------------------------------------------------------------- policy and audit

    def _check_and_record(
        self, principal: str | None, key: str, ref: Reference | None, outcome: Outcome | None
    ) -> None:
        """Authorize a read served without a fetch (a cache hit, another's fetch), and
        audit it as ``cached``."""
        if self.policy is not None and ref is not None:
            try:
                self.policy.authorize(principal, ref, "read")
            except AccessDenied:
                self._trail.event(principal, "read", key, ref.store, None, None, "denied")
                raise
        if self.audit is not None and outcome is not None:
            self._trail.read(principal, key, outcome, "cached")
