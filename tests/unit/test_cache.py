"""The resolver's cache: TTL with jitter, misses, stale-if-error (also with cache_ttl = 0),
is_cached, what a write forgets, shared fetches for get and get_many, and store backoff."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from resolver_kit import Clock, DenyTeamB, MemoryStore, Recorder, over

from secretbridge import AccessDenied, Resolver, SecretNotFound, StoreUnavailable
from secretbridge.cache import Flight, Flights
from secretbridge.config import ResolverSettings

CANARY = "canary-c4c8-do-not-leak"
SETTINGS = ResolverSettings(cache_ttl=60, miss_ttl=5, stale_if_error=300)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore("s")


@pytest.fixture
def resolver(store: MemoryStore, clock: Clock) -> Iterator[Resolver]:
    with over(store, clock=clock, settings=SETTINGS) as resolver:
        yield resolver


# ------------------------------------------------------------------ TTL, misses, stale


def test_cache_hit_within_ttl_then_refetch_after(
    resolver: Resolver, store: MemoryStore, clock: Clock
) -> None:
    store.set("k", "v1")
    assert resolver.get("secret:k").reveal() == "v1"
    calls = len(store.calls)
    store.set("k", "v2")
    clock.now += 59
    assert resolver.get("secret:k").reveal() == "v1"
    assert len(store.calls) == calls, "a cache hit does not call the store"
    clock.now += 2
    assert resolver.get("secret:k").reveal() == "v2"
    assert len(store.calls) == calls + 1


def test_expiry_is_jittered_down_by_at_most_a_tenth(store: MemoryStore, clock: Clock) -> None:
    """Names fetched together do not all expire together (the largest jitter here)."""
    resolver = Resolver.from_stores({"s": store}, settings=SETTINGS, clock=clock, rng=lambda: 1.0)
    store.set("k", "v")
    resolver.get("secret:k")
    clock.now += 53.9
    resolver.get("secret:k")
    assert len(store.calls) == 1, "fresh for at least 90 % of the TTL"
    clock.now += 0.2
    resolver.get("secret:k")
    assert len(store.calls) == 2, "and no longer than the jittered TTL"


def test_misses_are_remembered_for_miss_ttl_only(
    resolver: Resolver, store: MemoryStore, clock: Clock
) -> None:
    with pytest.raises(SecretNotFound):
        resolver.get("secret:later")
    store.set("later", "now-here")
    clock.now += 4
    with pytest.raises(SecretNotFound):
        resolver.get("secret:later")
    clock.now += 2
    assert resolver.get("secret:later").reveal() == "now-here"


def test_cached_miss_raises_a_fresh_exception_each_time(resolver: Resolver) -> None:
    errors = []
    for _ in range(3):
        with pytest.raises(SecretNotFound) as caught:
            resolver.get("secret:nothing")
        errors.append(caught.value)
    assert errors[1] is not errors[2]


def test_stale_if_error_serves_a_recent_value_during_an_outage(
    resolver: Resolver, store: MemoryStore, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    store.set("k", CANARY)
    resolver.get("secret:k")
    store.down = True
    clock.now += 61  # expired, within stale_if_error
    assert resolver.get("secret:k").reveal() == CANARY
    assert "stale" in caplog.text
    assert CANARY not in caplog.text
    clock.now += 300  # past the stale window
    with pytest.raises(StoreUnavailable):
        resolver.get("secret:k")


def test_stale_is_not_served_for_a_name_never_resolved(
    resolver: Resolver, store: MemoryStore
) -> None:
    store.down = True
    with pytest.raises(StoreUnavailable):
        resolver.get("secret:never")
    assert resolver._flights.running == {}, "nothing left waiting after a failure"


def test_zero_ttl_disables_caching(store: MemoryStore) -> None:
    resolver = over(store, settings=ResolverSettings(cache_ttl=0, miss_ttl=0))
    store.set("k", "v")
    resolver.get("secret:k")
    resolver.get("secret:k")
    assert len(store.calls) == 2


def test_zero_ttl_still_keeps_the_last_good_value_for_stale_if_error(
    store: MemoryStore, clock: Clock
) -> None:
    """cache_ttl = 0 serves nothing from the cache, but an outage is still bridged."""
    resolver = over(store, clock=clock, settings=ResolverSettings(cache_ttl=0, stale_if_error=60))
    store.set("k", "v")
    assert resolver.get("secret:k").reveal() == "v"
    assert resolver.get("secret:k").reveal() == "v"
    assert len(store.calls) == 2, "every get asks the store"
    store.down = True
    assert resolver.get("secret:k").reveal() == "v"
    clock.now += 61
    with pytest.raises(StoreUnavailable):
        resolver.get("secret:k")


def test_is_cached_follows_values_misses_and_expiry(store: MemoryStore, clock: Clock) -> None:
    """What the Airflow Secrets page shows as "cached", asked without calling a store or
    writing an audit record."""
    store.set("connections/pg", "postgres://u:p@h/db")
    audit = Recorder()
    with over(store, clock=clock, settings=SETTINGS, audit=audit) as resolver:
        ref = "secret:connections/pg"
        assert not resolver.is_cached(ref)
        resolver.get(ref)
        assert resolver.is_cached(ref)
        assert not resolver.is_cached("secret:connections/other")
        with pytest.raises(SecretNotFound):
            resolver.get("secret:connections/other")
        assert resolver.is_cached("secret:connections/other"), "a remembered miss is cached too"
        calls, events = len(store.calls), len(audit.events)
        assert resolver.is_cached(resolver.parse(ref))  # a Reference works as its string
        assert (len(store.calls), len(audit.events)) == (calls, events), "no call, no record"
        clock.now += resolver.config.resolver.cache_ttl + 1
        assert not resolver.is_cached(ref)


def test_cache_is_bounded() -> None:
    store = MemoryStore("s", {f"k{i}": str(i) for i in range(50)})
    resolver = over(store, settings=ResolverSettings(max_entries=10))
    resolver.get_many([f"secret:k{i}" for i in range(50)])
    assert len(resolver._cache.entries) == 10


# ------------------------------------------------------------------ writes


def test_writes_invalidate_the_cache(resolver: Resolver) -> None:
    resolver.put("k", "one")
    assert resolver.get("secret:k").reveal() == "one"
    resolver.put("k", "two")
    assert resolver.get("secret:k").reveal() == "two"
    resolver.put("s://k", "three")
    assert resolver.get("secret:k").reveal() == "three"
    assert resolver.get("s://k").reveal() == "three"
    resolver.delete("k")
    with pytest.raises(SecretNotFound):
        resolver.get("s://k")


def test_a_write_forgets_only_its_name_so_others_stay_for_stale_if_error(
    resolver: Resolver, store: MemoryStore, clock: Clock
) -> None:
    store.set("a", "a1")
    store.set("b", "b1")
    resolver.get_many(["secret:a", "secret:b"])
    resolver.put("b", "b2")
    store.down = True
    clock.now += 61
    assert resolver.get("secret:a").reveal() == "a1", "a was not written: still stale-able"
    with pytest.raises(StoreUnavailable):
        resolver.get("secret:b")  # written since: its old value is never served


def test_a_write_to_an_earlier_store_forgets_the_name_cached_from_a_later_one(
    clock: Clock,
) -> None:
    first, second = MemoryStore("first"), MemoryStore("second", {"k": "from-second"})
    resolver = over(first, second, clock=clock, settings=SETTINGS)
    assert resolver.get("secret:k").store == "second"
    resolver.put("k", "from-first", store="first")
    assert resolver.get("secret:k").reveal() == "from-first"


# ------------------------------------------------------------------ shared fetches


def _watch_waiters(resolver: Resolver) -> threading.Semaphore:
    """A semaphore released each time a caller finds another's fetch in flight."""
    waiting = threading.Semaphore(0)
    claim = resolver._flights.claim

    def spy(keys: Any) -> tuple[list[str], dict[str, Flight]]:
        mine, theirs = claim(keys)
        if theirs:
            waiting.release()
        return mine, theirs

    resolver._flights.claim = spy  # type: ignore[method-assign]
    return waiting


def _run_all(targets: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
        assert not thread.is_alive(), "a caller hung"


def test_concurrent_misses_of_one_name_share_one_fetch(store: MemoryStore) -> None:
    resolver = over(store, policy=DenyTeamB())
    store.set("team-a/db", "v")
    store.gate = threading.Event()
    waiting = _watch_waiters(resolver)
    principals = ["team-a"] * 7 + ["team-b"]
    outcomes: dict[int, object] = {}

    def read(index: int) -> None:
        try:
            outcomes[index] = resolver.get("secret:team-a/db", principal=principals[index]).reveal()
        except AccessDenied as denied:
            outcomes[index] = denied

    def first() -> None:
        read(0)

    def others() -> None:
        assert store.entered.wait(timeout=10)
        _run_all([lambda i=i: read(i) for i in range(1, 8)])  # type: ignore[misc]

    def release() -> None:
        for _ in range(7):
            assert waiting.acquire(timeout=10), "seven callers wait for the first fetch"
        assert store.gate is not None
        store.gate.set()

    _run_all([first, others, release])
    assert len(store.calls) == 1, "eight concurrent misses, one store call"
    assert [outcomes[i] for i in range(7)] == ["v"] * 7
    assert isinstance(outcomes[7], AccessDenied), "a waiter is authorized for itself"


def test_get_many_shares_fetches_with_concurrent_get_and_get_many(store: MemoryStore) -> None:
    for name in ("k1", "k2", "k3"):
        store.set(name, name.upper())
    resolver = over(store)
    store.gate = threading.Event()
    waiting = _watch_waiters(resolver)
    results: dict[str, object] = {}

    def many_a() -> None:
        results["a"] = {
            k: s.reveal() for k, s in resolver.get_many(["secret:k1", "secret:k2"]).items()
        }  # type: ignore[union-attr]

    def later() -> None:
        assert store.entered.wait(timeout=10)
        _run_all([one_b, many_c])

    def one_b() -> None:
        results["b"] = resolver.get("secret:k1").reveal()

    def many_c() -> None:
        results["c"] = {
            k: s.reveal() for k, s in resolver.get_many(["secret:k2", "secret:k3"]).items()
        }  # type: ignore[union-attr]

    def release() -> None:
        for _ in range(2):
            assert waiting.acquire(timeout=10)
        assert store.gate is not None
        store.gate.set()

    _run_all([many_a, later, release])
    assert sorted(store.calls) == [("k1", "k2"), ("k3",)], "one fetch per name"
    assert results == {
        "a": {"secret:k1": "K1", "secret:k2": "K2"},
        "b": "K1",
        "c": {"secret:k2": "K2", "secret:k3": "K3"},
    }


def test_a_flight_whose_fetch_died_lets_its_waiter_resolve_for_itself() -> None:
    flights = Flights()
    mine, _ = flights.claim(["k"])
    _, theirs = flights.claim(["k"])
    flights.land(mine, {})  # the fetcher raised before it had an outcome
    assert theirs["k"].done.is_set() and theirs["k"].outcome is None


# ------------------------------------------------------------------ backoff


def test_a_failing_store_is_backed_off_and_the_first_success_resets(
    resolver: Resolver, store: MemoryStore, clock: Clock
) -> None:
    store.set("cached", "old")
    resolver.get("secret:cached")
    store.down = True
    clock.now += 61
    assert resolver.get("secret:cached").reveal() == "old"  # stale, and the store failed
    assert len(store.calls) == 2
    with pytest.raises(StoreUnavailable, match="backing off") as caught:
        resolver.get("secret:other")
    assert caught.value.store == "s" and "ConnectionError" in str(caught.value)
    assert resolver.get("secret:cached").reveal() == "old", "stale while backing off"
    assert len(store.calls) == 2, "no call while backing off"
    clock.now += 1.01  # the first delay: one second
    with pytest.raises(StoreUnavailable, match="ConnectionError"):
        resolver.get("secret:other")
    assert len(store.calls) == 3
    clock.now += 1.01  # the second delay is two seconds
    with pytest.raises(StoreUnavailable, match="backing off"):
        resolver.get("secret:other")
    assert len(store.calls) == 3
    store.down = False
    store.set("other", "new")
    clock.now += 1.0
    assert resolver.get("secret:other").reveal() == "new"
    store.down = True
    with pytest.raises(StoreUnavailable, match="ConnectionError"):
        resolver.get("secret:third")  # reset: the next failure calls the store
    assert len(store.calls) == 5


def test_backoff_delays_grow_jittered_and_capped(store: MemoryStore, clock: Clock) -> None:
    resolver = Resolver.from_stores({"s": store}, clock=clock, rng=lambda: 1.0)
    store.down = True
    waits = []
    for _ in range(10):
        with pytest.raises(StoreUnavailable):
            resolver.get("secret:x")
        with pytest.raises(StoreUnavailable, match="backing off") as caught:
            resolver.get("secret:x")
        waits.append(float(str(caught.value).split("next try in ")[1].split(" s")[0]))
        clock.now += 120
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


# ------------------------------------------------------------------ fetched_after (per run)


def test_fetched_after_refetches_what_an_earlier_run_read_and_reuses_this_runs(
    resolver: Resolver, store: MemoryStore, clock: Clock
) -> None:
    """An orchestrator's run asks for values fetched since it started: a rotated secret
    is seen by the next run in the same process, and within a run each name is fetched
    once (by get, get_many, connection and load alike)."""
    store.set("app/k", "v1")
    store.set("conn", '{"conn_type": "postgres", "password": "secret:app/k"}')
    assert resolver.get("secret:app/k").reveal() == "v1"
    store.set("app/k", "v2")  # rotated between runs, well within the TTL
    clock.now += 1
    run_started = resolver.now()
    calls = len(store.calls)
    assert resolver.get("secret:app/k", fetched_after=run_started).reveal() == "v2"
    assert len(store.calls) == calls + 1
    value = resolver.get_many(["secret:app/k"], fetched_after=run_started)["secret:app/k"].reveal()
    assert value == "v2"
    conn = resolver.connection("secret:conn", fetched_after=run_started)
    assert conn.password == "v2"
    assert resolver.load("app/", fetched_after=run_started)["k"].reveal() == "v2"
    fetched = [path for call in store.calls[calls:] for path in call]
    assert fetched.count("app/k") == 1, store.calls[calls:]
    assert resolver.get("secret:app/k").reveal() == "v2", "without fetched_after: the cache"


def test_fetched_after_still_serves_a_stale_value_when_the_store_is_down(
    resolver: Resolver, store: MemoryStore, clock: Clock
) -> None:
    store.set("app/k", "v1")
    resolver.get("secret:app/k")
    clock.now += 1
    store.down = True
    assert resolver.get("secret:app/k", fetched_after=resolver.now()).reveal() == "v1"
