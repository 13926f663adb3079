"""The resolver's memory: cached values and misses, shared fetches, and store backoff.

- A value is fresh for ``cache_ttl`` seconds, less up to 10 % jitter so that names
  fetched together do not all expire together. It is then kept ``stale_if_error`` more
  seconds, served only when its store fails. ``cache_ttl = 0`` serves nothing from the
  cache but still keeps the last good value for stale-if-error.
- A miss ("not found") is remembered ``miss_ttl`` seconds (same jitter).
- A caller may ask for entries fetched after a moment (``fetched_after``): an
  orchestrator's run then sees what the store holds now, not what an earlier run in the
  same process read, while names fetched during the run are fetched once.
- A write forgets only what it may have changed: the values read from the written
  store and physical name, and the entries of the written logical name.
- :class:`Flights`: concurrent misses of one reference (from ``get`` or ``get_many``)
  share one fetch.
- :class:`Backoff`: a store that failed is not called again for a growing, jittered,
  capped delay; the first success resets it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .config import ResolverSettings
from .errors import SecretBridgeError, SecretNotFound, StoreUnavailable
from .refs import Reference
from .values import Secret

Clock = Callable[[], float]
Random = Callable[[], float]  # uniform in [0, 1)
Outcome = Secret | SecretBridgeError

EXPIRY_JITTER = 0.1  # a cached entry lives 90-100 % of its TTL
BACKOFF_FIRST = 1.0  # seconds after the first failure
BACKOFF_MAX = 60.0
BACKOFF_JITTER = 0.5  # a delay is 50-100 % of the doubling sequence's value


def default_random() -> float:
    import random  # imported on the first cache write, not with secretbridge

    return random.random()  # noqa: S311 - jitter, not cryptography


def jittered(seconds: float, fraction: float, rng: Random) -> float:
    return seconds * (1.0 - fraction * rng())


@dataclass(frozen=True, slots=True)
class Entry:
    ref: Reference | None  # None for a literal
    secret: Secret | None  # None: a remembered miss
    miss: SecretNotFound | None
    expires: float
    stale_until: float
    fetched: float

    def serves(self, now: float, fetched_after: float | None) -> bool:
        """Whether a lookup at ``now`` may be answered from this entry: not expired, and
        fetched no earlier than ``fetched_after`` when the caller asks for that."""
        return now < self.expires and (fetched_after is None or self.fetched >= fetched_after)


class Cache:
    """Resolved values and misses by reference string. Bounded: the oldest entry goes first.
    ``entries`` is read without the lock (the resolver's hot path); writers hold it."""

    def __init__(self, settings: ResolverSettings, clock: Clock, rng: Random) -> None:
        self.ttl = settings.cache_ttl
        self.miss_ttl = settings.miss_ttl
        self.stale_if_error = settings.stale_if_error
        self.max_entries = settings.max_entries
        self.clock = clock
        self.rng = rng
        self.entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def put(self, key: str, ref: Reference | None, outcome: Outcome) -> None:
        now = self.clock()
        if isinstance(outcome, Secret):
            if self.ttl <= 0 and self.stale_if_error <= 0:
                return
            expires = now + jittered(self.ttl, EXPIRY_JITTER, self.rng)
            entry = Entry(ref, outcome, None, expires, expires + self.stale_if_error, now)
        elif isinstance(outcome, SecretNotFound):
            if self.miss_ttl <= 0:
                return
            expires = now + jittered(self.miss_ttl, EXPIRY_JITTER, self.rng)
            entry = Entry(ref, None, outcome, expires, expires, now)
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

    def invalidate(self, store: str, physical: str, logical: str | None) -> None:
        """Forget what a write to ``physical`` in ``store`` may have changed: values read
        from there, and every entry (value or miss) for that logical or physical path."""
        paths = {physical, logical}
        with self._lock:
            for key, entry in list(self.entries.items()):
                secret = entry.secret
                if (secret is not None and (secret.store, secret.name) == (store, physical)) or (
                    entry.ref is not None and entry.ref.path in paths
                ):
                    del self.entries[key]

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()


@dataclass
class Flight:
    """A fetch in progress; ``outcome`` is set before ``done`` (None: the fetch died)."""

    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome | None = None


class Flights:
    """Who is fetching which reference right now. A caller claims the keys nobody is
    fetching, fetches them, lands them, and only then waits for the others' flights: it
    never waits while holding a claim, so two callers cannot wait for each other."""

    def __init__(self) -> None:
        self.running: dict[str, Flight] = {}
        self._lock = threading.Lock()

    def claim(self, keys: Iterable[str]) -> tuple[list[str], dict[str, Flight]]:
        """The keys now ours to fetch, and the flights of those being fetched by others."""
        mine: list[str] = []
        theirs: dict[str, Flight] = {}
        with self._lock:
            for key in keys:
                flight = self.running.get(key)
                if flight is None:
                    self.running[key] = Flight()
                    mine.append(key)
                else:
                    theirs[key] = flight
        return mine, theirs

    def land(self, keys: Iterable[str], outcomes: Mapping[str, Outcome]) -> None:
        with self._lock:
            flights = [(key, self.running.pop(key)) for key in keys]
        for key, flight in flights:
            flight.outcome = outcomes.get(key)
            flight.done.set()


@dataclass
class _Failing:
    failures: int
    retry_at: float
    last: str


class Backoff:
    """Per store: after ``n`` failures in a row the store is left alone for
    ``BACKOFF_FIRST * 2**(n-1)`` seconds (capped at ``BACKOFF_MAX``, jittered down by up
    to half), during which :meth:`blocked` answers in its place."""

    def __init__(self, clock: Clock, rng: Random) -> None:
        self.clock = clock
        self.rng = rng
        self._failing: dict[str, _Failing] = {}
        self._lock = threading.Lock()

    def blocked(self, store: str) -> StoreUnavailable | None:
        """The error to answer with instead of calling ``store``, or None to call it."""
        state = self._failing.get(store)
        if state is None:
            return None
        wait = state.retry_at - self.clock()
        if wait <= 0:
            return None
        return StoreUnavailable(
            f"backing off from the store after {state.failures} failure(s) in a row; "
            f"next try in {wait:.1f} s; last error: {state.last}",
            store=store,
        )

    def failed(self, store: str, error: SecretBridgeError) -> None:
        with self._lock:
            state = self._failing.get(store)
            failures = state.failures + 1 if state is not None else 1
            delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** min(failures - 1, 30))
            retry_at = self.clock() + jittered(delay, BACKOFF_JITTER, self.rng)
            self._failing[store] = _Failing(failures, retry_at, error.message)

    def succeeded(self, store: str) -> None:
        if store in self._failing:
            with self._lock:
                self._failing.pop(store, None)
