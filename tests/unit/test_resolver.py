"""The resolver: chain, routing, cache (TTL, misses, stale-if-error), batching, literals,
connections, and the policy and audit seams."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from secretbridge import (
    AccessDenied,
    AuditEvent,
    InvalidReference,
    Reference,
    Resolver,
    SecretNotFound,
    Selection,
    StoreUnavailable,
)
from secretbridge.config import parse_config
from secretbridge.stores.base import Capabilities

CANARY = "canary-7f3e-do-not-leak"

SCRIPT = """
import json, pathlib
HERE = pathlib.Path(__file__).parent
def get_secrets():
    with open(HERE / "calls.log", "a") as log:
        log.write("call\\n")
    if (HERE / "down").exists():
        raise ConnectionError("backend is down")
    if (HERE / "slow").exists():
        import time
        time.sleep(0.3)
    return json.loads((HERE / "secrets.json").read_text())
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Scripted:
    """A real ``custom`` store whose secrets, outage and call count the test controls."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "store.py").write_text(SCRIPT)
        self.set({})

    def set(self, secrets: dict[str, Any]) -> None:
        (self.folder / "secrets.json").write_text(json.dumps(secrets))

    def down(self, is_down: bool = True) -> None:
        flag = self.folder / "down"
        if is_down:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)

    @property
    def calls(self) -> int:
        log = self.folder / "calls.log"
        return len(log.read_text().splitlines()) if log.exists() else 0

    @property
    def script(self) -> str:
        return str(self.folder / "store.py")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def scripted(tmp_path: Path) -> Scripted:
    return Scripted(tmp_path / "scripted")


def make(document: dict[str, Any], clock: Clock | None = None, **kwargs: Any) -> Resolver:
    return Resolver(parse_config(document), clock=clock or Clock(), **kwargs)


def counting(fn: Callable[..., Any], calls: list[Any]) -> Callable[..., Any]:
    def wrapper(*args: Any) -> Any:
        calls.append(args)
        return fn(*args)

    return wrapper


@pytest.fixture
def two_stores(scripted: Scripted, clock: Clock) -> Iterator[Resolver]:
    resolver = make(
        {
            "resolver": {"cache_ttl": 60, "miss_ttl": 5, "stale_if_error": 300},
            "stores": {
                "first": {"kind": "custom", "script": scripted.script},
                "second": {"kind": "local"},
            },
        },
        clock,
    )
    resolver.store("second").init()  # type: ignore[attr-defined]  # never initialised: unavailable
    with resolver:
        yield resolver


# ------------------------------------------------------------------ chain and routing


def test_chain_order_first_store_holding_the_name_wins(
    two_stores: Resolver, scripted: Scripted
) -> None:
    two_stores.put("shared", "from-second", store="second")
    two_stores.put("only-second", "deep", store="second")
    scripted.set({"shared": "from-first"})
    shared = two_stores.get("secret:shared")
    assert (shared.reveal(), shared.store) == ("from-first", "first")
    deep = two_stores.get("secret:only-second")
    assert (deep.reveal(), deep.store, deep.version) == ("deep", "second", "1")


def test_miss_everywhere_names_every_store_tried(two_stores: Resolver) -> None:
    with pytest.raises(SecretNotFound) as caught:
        two_stores.get("secret:ghost#pw")
    message = str(caught.value)
    assert "first" in message and "second" in message
    assert "secret:ghost#pw" in message


def test_unavailable_store_fails_closed_instead_of_falling_through(
    two_stores: Resolver, scripted: Scripted
) -> None:
    two_stores.put("db", "from-second", store="second")
    scripted.down()
    with pytest.raises(StoreUnavailable) as caught:
        two_stores.get("secret:db")
    assert caught.value.store == "first"
    assert "ConnectionError" in str(caught.value)


def test_routes_send_a_prefix_to_one_store(scripted: Scripted) -> None:
    scripted.set({"connections/pg": "routed"})
    resolver = make(
        {
            "stores": {
                "loc": {"kind": "local"},
                "team": {"kind": "custom", "script": scripted.script},
            },
            "resolver": {"chain": ["loc"]},
            "routes": [{"prefix": "connections/", "store": "team"}],
        }
    )
    resolver.put("connections/pg", "in-local", store="loc")
    assert resolver.get("secret:connections/pg").reveal() == "routed"
    assert resolver.chain_for("connections/pg") == ["team"]
    assert resolver.chain_for("variables/x") == ["loc"]


def test_a_store_that_cannot_spell_the_name_is_skipped_with_a_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolver = make({"stores": {"env": {"kind": "env"}, "loc": {"kind": "local"}}})
    resolver.put("naïve/名前", "unicode-ok", store="loc")
    assert resolver.get("secret:naïve/名前").store == "loc"
    with pytest.raises(SecretNotFound, match="env cannot hold it"):
        resolver.get("secret:ünknown")


def test_explicit_store_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_PASSWORD", "from-env")
    resolver = make({"stores": {"loc": {"kind": "local"}}})
    resolver.put("prod/db", json.dumps({"password": "pw-1"}))
    resolver.put("prod/db", json.dumps({"password": "pw-2"}))
    assert resolver.get("env://DB_PASSWORD").reveal() == "from-env"  # a kind's default store
    assert resolver.get("loc://prod/db#password").reveal() == "pw-2"
    assert resolver.get("local://prod/db?version=1#password").reveal() == "pw-1"
    with pytest.raises(SecretNotFound, match="version '9'"):
        resolver.get("loc://prod/db?version=9")


# ------------------------------------------------------------------ cache


def test_cache_hit_within_ttl_then_refetch_after(
    two_stores: Resolver, scripted: Scripted, clock: Clock
) -> None:
    scripted.set({"k": "v1"})
    assert two_stores.get("secret:k").reveal() == "v1"
    calls = scripted.calls
    scripted.set({"k": "v2"})
    clock.now += 59
    assert two_stores.get("secret:k").reveal() == "v1"
    assert scripted.calls == calls, "a cache hit does not call the store"
    clock.now += 2
    assert two_stores.get("secret:k").reveal() == "v2"
    assert scripted.calls == calls + 1


def test_misses_are_remembered_for_miss_ttl_only(
    two_stores: Resolver, scripted: Scripted, clock: Clock
) -> None:
    with pytest.raises(SecretNotFound):
        two_stores.get("secret:later")
    scripted.set({"later": "now-here"})
    clock.now += 4
    with pytest.raises(SecretNotFound):
        two_stores.get("secret:later")
    clock.now += 2
    assert two_stores.get("secret:later").reveal() == "now-here"


def test_cached_miss_raises_a_fresh_exception_each_time(two_stores: Resolver) -> None:
    errors = []
    for _ in range(3):
        with pytest.raises(SecretNotFound) as caught:
            two_stores.get("secret:nothing")
        errors.append(caught.value)
    assert errors[1] is not errors[2]


def test_stale_if_error_serves_a_recent_value_during_an_outage(
    two_stores: Resolver, scripted: Scripted, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    scripted.set({"k": CANARY})
    two_stores.get("secret:k")
    scripted.down()
    clock.now += 61  # expired, within stale_if_error
    assert two_stores.get("secret:k").reveal() == CANARY
    assert "stale" in caplog.text
    assert CANARY not in caplog.text
    clock.now += 300  # past the stale window
    with pytest.raises(StoreUnavailable):
        two_stores.get("secret:k")


def test_stale_is_not_served_for_a_name_never_resolved(
    two_stores: Resolver, scripted: Scripted
) -> None:
    scripted.down()
    with pytest.raises(StoreUnavailable):
        two_stores.get("secret:never")


def test_zero_ttl_disables_caching(scripted: Scripted) -> None:
    resolver = make(
        {
            "resolver": {"cache_ttl": 0, "miss_ttl": 0},
            "stores": {"s": {"kind": "custom", "script": scripted.script}},
        }
    )
    scripted.set({"k": "v"})
    resolver.get("secret:k")
    resolver.get("secret:k")
    assert scripted.calls == 2


def test_cache_is_bounded(scripted: Scripted) -> None:
    resolver = make(
        {
            "resolver": {"max_entries": 10},
            "stores": {"s": {"kind": "custom", "script": scripted.script}},
        }
    )
    scripted.set({f"k{i}": str(i) for i in range(50)})
    resolver.get_many([f"secret:k{i}" for i in range(50)])
    assert len(resolver._cache.entries) == 10


def test_writes_invalidate_the_cache() -> None:
    resolver = make({"stores": {"loc": {"kind": "local"}}})
    resolver.put("k", "one")
    assert resolver.get("secret:k").reveal() == "one"
    resolver.put("k", "two")
    assert resolver.get("secret:k").reveal() == "two"


def test_concurrent_misses_of_one_name_share_one_fetch(scripted: Scripted) -> None:
    import threading

    policy = DenyTeamB()
    resolver = make({"stores": {"s": {"kind": "custom", "script": scripted.script}}}, policy=policy)
    scripted.set({"team-a/db": "v"})
    (scripted.folder / "slow").touch()
    principals = ["team-a"] * 7 + ["team-b"]
    barrier = threading.Barrier(len(principals))
    outcomes: dict[int, object] = {}

    def read(index: int) -> None:
        barrier.wait(timeout=5)
        try:
            outcomes[index] = resolver.get("secret:team-a/db", principal=principals[index]).reveal()
        except AccessDenied as denied:
            outcomes[index] = denied

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(principals))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert scripted.calls == 1, "eight concurrent misses, one store call"
    assert [outcomes[i] for i in range(7)] == ["v"] * 7
    assert isinstance(outcomes[7], AccessDenied), "a waiter is authorized for itself"


def test_a_failed_shared_fetch_lets_each_waiter_see_the_error(scripted: Scripted) -> None:
    resolver = make({"stores": {"s": {"kind": "custom", "script": scripted.script}}})
    scripted.down()
    with pytest.raises(StoreUnavailable):
        resolver.get("secret:k")
    assert resolver._inflight == {}, "nothing left waiting after a failure"


# ------------------------------------------------------------------ batching


def test_get_many_batches_and_fetches_each_secret_once() -> None:
    resolver = make({"stores": {"loc": {"kind": "local"}}})
    for i in range(300):
        resolver.put(f"conn/c{i}", json.dumps({"user": f"u{i}", "password": f"p{i}"}))
    store = resolver.store("loc")
    calls: list[Any] = []
    store.get_many = counting(store.get_many, calls)  # type: ignore[method-assign]
    refs = [f"secret:conn/c{i}#{f}" for i in range(300) for f in ("user", "password")]
    results = resolver.get_many(refs)
    assert len(calls) == 1, "300 names fit in one local batch"
    assert sum(len(args[0]) for args in calls) == 300, "two fields of one secret: one fetch"
    assert results["secret:conn/c7#password"].reveal() == "p7"  # type: ignore[union-attr]
    assert list(results) == refs, "results keep the order asked"


def test_get_many_keeps_failures_apart(two_stores: Resolver, scripted: Scripted) -> None:
    scripted.set({"a": "1", "b": json.dumps({"x": 1})})
    results = two_stores.get_many(
        ["secret:a", "secret:missing", "secret:b#nofield", "bad://", "secret:b#x"],
        return_exceptions=True,
    )
    assert results["secret:a"].reveal() == "1"  # type: ignore[union-attr]
    assert isinstance(results["secret:missing"], SecretNotFound)
    assert isinstance(results["secret:b#nofield"], SecretNotFound)
    assert results["secret:b#x"].reveal() == "1"  # type: ignore[union-attr]
    assert results["bad://"].reveal() == "bad://", "an unknown scheme is a literal"  # type: ignore[union-attr]
    with pytest.raises(SecretNotFound, match="secret:missing"):
        two_stores.get_many(["secret:a", "secret:missing"])


def test_stores_without_batch_api_are_fanned_out_in_parallel(scripted: Scripted) -> None:
    resolver = make({"stores": {"s": {"kind": "custom", "script": scripted.script}}})
    store = resolver.store("s")
    store.capabilities = Capabilities(batch_size=None)  # type: ignore[misc]  # as remote stores
    scripted.set({f"k{i}": str(i) for i in range(20)})
    results = resolver.get_many([f"secret:k{i}" for i in range(20)])
    assert [s.reveal() for s in results.values()] == [str(i) for i in range(20)]  # type: ignore[union-attr]
    assert scripted.calls == 20, "one get per name, through the pool"


# ------------------------------------------------------------------ literals, load, connections


def test_literals_pass_through_unless_forbidden() -> None:
    assert make({}).get(CANARY).reveal() == CANARY
    strict = make({"resolver": {"literals": False}})
    with pytest.raises(InvalidReference) as caught:
        strict.get(CANARY)
    assert CANARY not in str(caught.value), "a refused literal is never echoed"
    assert "secret:NAME" in str(caught.value)


def test_malformed_reference_is_an_error_not_a_literal() -> None:
    with pytest.raises(InvalidReference, match="character"):
        make({}).get("secret:a//b")


def test_load_selects_strips_and_expands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNOWFLAKE_TRANSFORM_PASSWORD", "pw")
    monkeypatch.setenv("SNOWFLAKE_TRANSFORM_USER", "bob")
    monkeypatch.setenv("SNOWFLAKE_LOADER", json.dumps({"user": "l", "key": {"id": 3}}))
    monkeypatch.setenv("OTHER_THING", "x")
    resolver = make({"stores": {"env": {"kind": "env"}}})
    loaded = resolver.load("SNOWFLAKE/")
    assert {k: v.reveal() for k, v in loaded.items()} == {
        "TRANSFORM.PASSWORD": "pw",
        "TRANSFORM.USER": "bob",
        "LOADER": json.dumps({"user": "l", "key": {"id": 3}}),
    }
    expanded = resolver.load(
        Selection(prefix="SNOWFLAKE/", expand_json=True, exclude=("TRANSFORM.*",))
    )
    assert {k: v.reveal() for k, v in expanded.items()} == {
        "LOADER.user": "l",
        "LOADER.key.id": "3",
    }
    kept = resolver.load(Selection(prefix="SNOWFLAKE/", strip_prefix=False, include=("*.USER",)))
    assert list(kept) == ["SNOWFLAKE.TRANSFORM.USER"]


def test_connection_fields_may_be_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_PASSWORD", CANARY)
    resolver = make({"stores": {"loc": {"kind": "local"}}})
    resolver.put(
        "connections/pg",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": "db.internal",
                "login": "etl",
                "password": "env://PG_PASSWORD",
                "port": 5432,
                "extra": {"sslmode": "require", "token": "secret:tokens/pg"},
            }
        ),
    )
    resolver.put("tokens/pg", "tok-1")
    conn = resolver.connection("secret:connections/pg")
    assert (conn.conn_type, conn.host, conn.port, conn.password) == (
        "postgres",
        "db.internal",
        5432,
        CANARY,
    )
    assert conn.extra_dejson == {"sslmode": "require", "token": "tok-1"}
    assert CANARY not in repr(conn)


# ------------------------------------------------------------------ policy and audit seams


class DenyTeamB:
    def __init__(self) -> None:
        self.asked: list[tuple[str | None, Reference, str]] = []

    def authorize(self, principal: str | None, ref: Reference, action: str) -> None:
        self.asked.append((principal, ref, action))
        if principal == "team-b" and ref.path.startswith("team-a/"):
            raise AccessDenied("team-b may not read team-a secrets", ref=str(ref))


class Recorder:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)


def test_policy_is_asked_on_every_lookup_even_cache_hits() -> None:
    policy = DenyTeamB()
    resolver = make({"stores": {"loc": {"kind": "local"}}}, policy=policy)
    resolver.put("team-a/db", "a-secret", principal="team-a")
    assert resolver.get("secret:team-a/db", principal="team-a").reveal() == "a-secret"
    with pytest.raises(AccessDenied):
        resolver.get("secret:team-a/db", principal="team-b")  # cached, still denied
    denied = resolver.get_many(["secret:team-a/db"], principal="team-b", return_exceptions=True)
    assert isinstance(denied["secret:team-a/db"], AccessDenied)
    assert [a for _, _, a in policy.asked].count("write") == 1


def test_audit_records_who_what_where_and_never_the_value(tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.jsonl"
    resolver = make(
        {"stores": {"loc": {"kind": "local"}}, "audit": {"path": str(audit_path)}},
    )
    resolver.put("db", CANARY, principal="dag:etl")
    resolver.get("secret:db", principal="dag:etl")
    resolver.get("secret:db", principal="dag:etl")
    with pytest.raises(SecretNotFound):
        resolver.get("secret:nope", principal="dag:etl")
    text = audit_path.read_text()
    assert CANARY not in text
    events = [json.loads(line) for line in text.splitlines()]
    assert [(e["action"], e["outcome"]) for e in events] == [
        ("write", "ok"),
        ("read", "ok"),
        ("read", "cached"),
        ("read", "not_found"),
    ]
    assert events[1]["store"] == "loc" and events[1]["version"] == "1"
    assert all(e["principal"] == "dag:etl" for e in events)
    assert (audit_path.stat().st_mode & 0o777) == 0o600


def test_audit_sink_object() -> None:
    recorder = Recorder()
    resolver = make({"stores": {"loc": {"kind": "local"}}}, audit=recorder)
    resolver.put("k", "v")
    resolver.get("secret:k")
    assert [(e.action, e.ref, e.store) for e in recorder.events] == [
        ("write", "k", "loc"),
        ("read", "secret:k", "loc"),
    ]


def test_a_failed_write_never_carries_the_value_in_its_error() -> None:
    """A store bug that quotes the request in its exception: the resolver reports the
    failure with the exception's type only, and does not chain it."""
    import traceback

    resolver = make({"stores": {"loc": {"kind": "local"}}})
    store = resolver.store("loc")

    def buggy_put(path: str, value: str | bytes) -> str:
        raise RuntimeError(f"rejected request body {value!r}")

    store.put = buggy_put  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailable, match="RuntimeError") as caught:
        resolver.put("k", CANARY)
    assert CANARY not in "".join(traceback.format_exception(caught.value))
