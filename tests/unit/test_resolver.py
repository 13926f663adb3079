"""The resolver: stores and the chain, routing, batching, literals, load, connections,
writes and the policy seam. The cache is in test_cache.py, the audit in test_audit.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from leaks import assert_no_leak
from resolver_kit import DenyTeamB, MemoryStore, Recorder, UnbatchedMemoryStore, over
from resolvers import Resolvers

from secretbridge import (
    AccessDenied,
    ConfigError,
    Connection,
    InvalidReference,
    Reference,
    Resolver,
    SecretNotFound,
    Selection,
    StoreUnavailable,
)
from secretbridge.config import ResolverSettings

CANARY = "canary-7f3e-do-not-leak"


def counting(fn: Callable[..., Any], calls: list[Any]) -> Callable[..., Any]:
    def wrapper(*args: Any) -> Any:
        calls.append(args)
        return fn(*args)

    return wrapper


def in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a thread that may hang: the test fails instead of the run."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as error:  # handed to the test thread
            result["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "the call hung (a deadlock)"
    if "error" in result:
        raise result["error"]
    return result["value"]


# ------------------------------------------------------------------ stores


def test_a_kind_reference_to_a_store_configured_under_another_name_does_not_hang(
    tmp_path: Path, resolvers: Resolvers
) -> None:
    """The README's example: custom://team/api_token with [stores.team] kind = "custom"."""
    script = tmp_path / "team_secrets.py"
    script.write_text("def get_secrets():\n    return {'team/api_token': 'tok'}\n")
    resolver = resolvers.document({"stores": {"team": {"kind": "custom", "script": str(script)}}})
    secret = in_thread(lambda: resolver.get("custom://team/api_token"))
    assert (secret.reveal(), secret.store) == ("tok", "team")
    assert resolver.store("custom") is resolver.store("team"), "one store, built once"


def test_a_kind_reference_writes_and_reads_the_configured_store_of_that_kind(
    resolvers: Resolvers,
) -> None:
    resolver = resolvers.document({"stores": {"main": {"kind": "local"}}})
    location = in_thread(lambda: resolver.put("local://x", "v"))
    assert location.store == "main"
    assert in_thread(lambda: resolver.get("local://x")).reveal() == "v"


def test_a_configured_name_wins_over_a_kind_of_the_same_name(
    monkeypatch: pytest.MonkeyPatch, resolvers: Resolvers
) -> None:
    monkeypatch.setenv("K", "from-env")
    resolver = resolvers.document({"stores": {"env": {"kind": "local"}, "vars": {"kind": "env"}}})
    resolver.put("env://k", "from-local")
    assert resolver.get("env://k").store == "env"
    assert resolver.get("vars://K").reveal() == "from-env"


def test_store_construction_errors_name_the_config_file_and_the_store(tmp_path: Path) -> None:
    config = tmp_path / "sb.toml"
    config.write_text('[stores.team]\nkind = "custom"\nscript = "missing.py"\n')
    resolver = Resolver.from_config(config)
    with pytest.raises(ConfigError) as caught:
        resolver.get("secret:x")
    assert str(caught.value).startswith(f"{config}: stores.team.script: no such file")


def test_from_stores_checks_names_chain_and_routes() -> None:
    a = MemoryStore("a")
    with pytest.raises(ConfigError, match=r"stores\['b'\] is a store named 'a'"):
        Resolver.from_stores({"b": a})
    with pytest.raises(ConfigError, match="no store named 'c'"):
        Resolver.from_stores({"a": a}, chain=["c"])
    with pytest.raises(ConfigError, match="no store named 'c'"):
        Resolver.from_stores({"a": a}, routes={"x/": "c"})
    resolver = Resolver.from_stores({"a": a}, settings=ResolverSettings(cache_ttl=7))
    assert resolver.store("a") is a
    assert resolver.config.resolver.cache_ttl == 7


# ------------------------------------------------------------------ chain and routing


def test_chain_order_first_store_holding_the_name_wins() -> None:
    first, second = MemoryStore("first"), MemoryStore("second")
    resolver = over(first, second)
    resolver.put("shared", "from-second", store="second")
    resolver.put("only-second", "deep", store="second")
    first.set("shared", "from-first")
    shared = resolver.get("secret:shared")
    assert (shared.reveal(), shared.store) == ("from-first", "first")
    deep = resolver.get("secret:only-second")
    assert (deep.reveal(), deep.store, deep.version) == ("deep", "second", "1")


def test_miss_everywhere_names_every_store_tried() -> None:
    resolver = over(MemoryStore("first"), MemoryStore("second"))
    with pytest.raises(SecretNotFound) as caught:
        resolver.get("secret:ghost#pw")
    message = str(caught.value)
    assert "first" in message and "second" in message
    assert "secret:ghost#pw" in message


def test_unavailable_store_fails_closed_instead_of_falling_through() -> None:
    first, second = MemoryStore("first"), MemoryStore("second", {"db": "from-second"})
    resolver = over(first, second)
    first.down = True
    with pytest.raises(StoreUnavailable) as caught:
        resolver.get("secret:db")
    assert caught.value.store == "first"
    assert "ConnectionError" in str(caught.value)


def test_routes_send_a_prefix_to_one_store() -> None:
    loc, team = MemoryStore("loc", {"connections/pg": "in-loc"}), MemoryStore("team")
    team.set("connections/pg", "routed")
    resolver = over(loc, team, chain=["loc"], routes={"connections/": "team"})
    assert resolver.get("secret:connections/pg").reveal() == "routed"
    assert resolver.chain_for("connections/pg") == ["team"]
    assert resolver.chain_for("variables/x") == ["loc"]


def test_a_store_that_cannot_spell_the_name_is_skipped_with_a_reason(resolvers: Resolvers) -> None:
    resolver = resolvers.document({"stores": {"env": {"kind": "env"}, "loc": {"kind": "local"}}})
    resolver.put("naïve/名前", "unicode-ok", store="loc")
    assert resolver.get("secret:naïve/名前").store == "loc"
    with pytest.raises(SecretNotFound, match="env cannot hold it"):
        resolver.get("secret:ünknown")


def test_explicit_store_references(monkeypatch: pytest.MonkeyPatch, resolvers: Resolvers) -> None:
    monkeypatch.setenv("DB_PASSWORD", "from-env")
    resolver = resolvers.document({"stores": {"loc": {"kind": "local"}}})
    resolver.put("prod/db", json.dumps({"password": "pw-1"}))
    resolver.put("prod/db", json.dumps({"password": "pw-2"}))
    assert resolver.get("env://DB_PASSWORD").reveal() == "from-env"  # a kind's default store
    assert resolver.get("loc://prod/db#password").reveal() == "pw-2"
    assert resolver.get("local://prod/db?version=1#password").reveal() == "pw-1"
    with pytest.raises(SecretNotFound, match="version '9'"):
        resolver.get("loc://prod/db?version=9")


# ------------------------------------------------------------------ batching


def test_get_many_batches_and_fetches_each_secret_once(resolvers: Resolvers) -> None:
    resolver = resolvers.document({"stores": {"loc": {"kind": "local"}}})
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


def test_get_many_keeps_failures_apart() -> None:
    resolver = over(MemoryStore("first", {"a": "1", "b": json.dumps({"x": 1})}))
    results = resolver.get_many(
        ["secret:a", "secret:missing", "secret:b#nofield", "bad://", "secret:b#x"],
        return_exceptions=True,
    )
    assert results["secret:a"].reveal() == "1"  # type: ignore[union-attr]
    assert isinstance(results["secret:missing"], SecretNotFound)
    assert isinstance(results["secret:b#nofield"], SecretNotFound)
    assert results["secret:b#x"].reveal() == "1"  # type: ignore[union-attr]
    assert results["bad://"].reveal() == "bad://", "an unknown scheme is a literal"  # type: ignore[union-attr]
    with pytest.raises(SecretNotFound, match="secret:missing"):
        resolver.get_many(["secret:a", "secret:missing"])


def test_stores_without_batch_api_are_fanned_out_in_parallel() -> None:
    store = UnbatchedMemoryStore("s", {f"k{i}": str(i) for i in range(20)})
    results = over(store).get_many([f"secret:k{i}" for i in range(20)])
    assert [s.reveal() for s in results.values()] == [str(i) for i in range(20)]  # type: ignore[union-attr]
    assert len(store.calls) == 20, "one get per name, through the pool"


# ------------------------------------------------------------------ literals, load, connections


def test_literals_pass_through_unless_forbidden(resolvers: Resolvers) -> None:
    assert resolvers.document({}).get(CANARY).reveal() == CANARY
    strict = resolvers.document({"resolver": {"literals": False}})
    with pytest.raises(InvalidReference) as caught:
        strict.get(CANARY)
    assert CANARY not in str(caught.value), "a refused literal is never echoed"
    assert "secret:NAME" in str(caught.value)


def test_malformed_reference_is_an_error_not_a_literal(resolvers: Resolvers) -> None:
    with pytest.raises(InvalidReference, match="character"):
        resolvers.document({}).get("secret:a//b")


def test_load_selects_strips_and_expands(
    monkeypatch: pytest.MonkeyPatch, resolvers: Resolvers
) -> None:
    monkeypatch.setenv("SNOWFLAKE_TRANSFORM_PASSWORD", "pw")
    monkeypatch.setenv("SNOWFLAKE_TRANSFORM_USER", "bob")
    monkeypatch.setenv("SNOWFLAKE_LOADER", json.dumps({"user": "l", "key": {"id": 3}}))
    monkeypatch.setenv("OTHER_THING", "x")
    resolver = resolvers.document({"stores": {"env": {"kind": "env"}}})
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


def test_connection_fields_may_be_references(
    monkeypatch: pytest.MonkeyPatch, resolvers: Resolvers
) -> None:
    monkeypatch.setenv("PG_PASSWORD", CANARY)
    resolver = resolvers.document({"stores": {"loc": {"kind": "local"}}})
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


@pytest.mark.parametrize(
    ("field", "text", "position"),
    [
        ("password", f"secret:{CANARY} pw!", 31),  # a space: not a name
        ("login", f"secret:{CANARY}//x", 32),  # an empty segment
        ("extra.token", f"store://p?mode={CANARY}", 11),  # a query other than version=
    ],
)
def test_a_connection_field_that_starts_like_a_reference_but_is_malformed_is_never_echoed(
    field: str, text: str, position: int
) -> None:
    """A field is a reference only when it parses as one. One that starts like a
    reference but is malformed is an error naming the connection, the field and the
    position, never the field's text (it may be a password); nothing reaches the audit."""
    conn = {"conn_type": "x", "password": "plain", "login": "etl", "extra": {"token": "t"}}
    conn["extra" if field.startswith("extra.") else field] = (
        {"token": text} if field.startswith("extra.") else text
    )
    recorder = Recorder()
    resolver = over(MemoryStore("store", {"connections/c": json.dumps(conn)}), audit=recorder)
    with pytest.raises(InvalidReference) as caught:
        resolver.connection("secret:connections/c")
    message = str(caught.value)
    assert f"field {field!r}" in message and f"character {position}" in message
    assert caught.value.ref == "secret:connections/c"
    assert_no_leak(CANARY, caught.value)
    assert all(CANARY not in repr(event) for event in recorder.events)
    assert [event.ref for event in recorder.events] == ["secret:connections/c"]


def test_a_connection_field_reference_that_fails_names_the_field_not_its_text() -> None:
    conn = json.dumps({"conn_type": "x", "password": f"secret:{CANARY}"})
    resolver = over(MemoryStore("store", {"connections/c": conn}))
    with pytest.raises(SecretNotFound) as caught:
        resolver.connection("secret:connections/c")
    assert "field 'password'" in str(caught.value)
    assert_no_leak(CANARY, caught.value)


def test_a_literal_connection_field_that_merely_mentions_a_scheme_is_kept() -> None:
    conn = json.dumps({"conn_type": "x", "password": "pw secret: and vault:// inside"})
    resolver = over(MemoryStore("store", {"connections/c": conn}))
    assert resolver.connection("secret:connections/c").password == "pw secret: and vault:// inside"


def test_resolve_fields_resolves_a_connection_kept_outside_the_stores() -> None:
    """An orchestrator's own connection (Airflow's metastore) may hold references too."""
    resolver = over(MemoryStore("store", {"pg": json.dumps({"pw": CANARY})}))
    kept = Connection(conn_type="postgres", login="etl", password="secret:pg#pw")
    resolved = resolver.resolve_fields(kept, ref="airflow-db:pg")
    assert (resolved.login, resolved.password) == ("etl", CANARY)
    broken = Connection(conn_type="postgres", password="secret:pg#nope")
    with pytest.raises(SecretNotFound) as caught:
        resolver.resolve_fields(broken, ref="airflow-db:pg")
    assert "field 'password'" in str(caught.value) and caught.value.ref == "airflow-db:pg"


# ------------------------------------------------------------------ writes


def test_a_bare_name_reads_as_secret_colon_name_so_hash_starts_a_field() -> None:
    store = MemoryStore("s")
    resolver = over(store)
    with pytest.raises(InvalidReference, match="%23") as caught:
        resolver.put("p#q", "v")
    assert "#field" in str(caught.value)
    assert store.versions == {}, "nothing was written"
    with pytest.raises(InvalidReference, match="%23"):
        resolver.delete("p#q")
    resolver.put("p%23q", "v")
    assert list(store.versions) == ["p#q"]
    assert resolver.get("secret:p%23q").reveal() == "v"
    with pytest.raises(InvalidReference, match="empty name segment at character 3"):
        resolver.put("a//b", "v")


def test_a_write_to_a_uri_of_another_scheme_never_echoes_it() -> None:
    with pytest.raises(InvalidReference, match="URI") as caught:
        over(MemoryStore("s")).put(f"postgres://u:{CANARY}@h/db", "v")
    assert_no_leak(CANARY, caught.value)


def test_a_failed_write_never_carries_the_value_in_its_error() -> None:
    """A store bug that quotes the request in its exception: the resolver reports the
    failure with the exception's type only, and does not chain it."""
    store = MemoryStore("loc")

    def buggy_put(path: str, value: str | bytes) -> str:
        raise RuntimeError(f"rejected request body {value!r}")

    store.put = buggy_put  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailable, match="RuntimeError") as caught:
        over(store).put("k", CANARY)
    assert_no_leak(CANARY, caught.value)
    assert caught.value.__context__ is None


# ------------------------------------------------------------------ policy


def test_policy_is_asked_on_every_lookup_even_cache_hits() -> None:
    policy = DenyTeamB()
    resolver = over(MemoryStore("loc"), policy=policy)
    resolver.put("team-a/db", "a-secret", principal="team-a")
    assert resolver.get("secret:team-a/db", principal="team-a").reveal() == "a-secret"
    with pytest.raises(AccessDenied):
        resolver.get("secret:team-a/db", principal="team-b")  # cached, still denied
    denied = resolver.get_many(["secret:team-a/db"], principal="team-b", return_exceptions=True)
    assert isinstance(denied["secret:team-a/db"], AccessDenied)
    assert [a for _, _, a in policy.asked].count("write") == 1


def test_reference_fields_names_each_reference_field_and_withholds_malformed_text(
    resolvers: Resolvers,
) -> None:
    resolver = resolvers.document({"stores": {"main": {"kind": "env"}}})
    conn = Connection(
        host="db.internal",
        login="secret:db/main#login",
        password="secret:CANARY pw!",  # starts like a reference, does not parse
        extra=json.dumps({"token": "main://TOKEN", "sslmode": "require", "timeout": 3}),
    )
    found = resolver.reference_fields(conn)
    assert found == {
        "login": Reference("db/main", field="login"),
        "password": None,
        "extra.token": Reference("TOKEN", store="main"),
    }
    assert_no_leak("CANARY", found)


def test_refs_for_names_an_orchestrators_ids_by_the_configs_namespaces(
    resolvers: Resolvers,
) -> None:
    """Airflow's backend and Dagster's resources both ask this: one id, one secret."""
    resolver = resolvers.document({"namespaces": {"connections": "airflow/conns"}})
    assert resolver.refs_for("connections", "warehouse") == ["secret:airflow/conns/warehouse"]
    assert resolver.refs_for("variables", "batch size") == ["secret:variables/batch size"]
    assert resolver.refs_for("config", "core/fernet_key") == ["secret:config/core/fernet_key"]
    assert resolver.refs_for("connections", "db", team="red") == [
        "secret:teams/red/airflow/conns/db",
        "secret:airflow/conns/db",
    ]
    assert resolver.refs_for("connections", "db", team="red", team_fallback=False) == [
        "secret:teams/red/airflow/conns/db"
    ]
    # '#' in an id is part of the name, not a field
    assert resolver.refs_for("variables", "a#b") == ["secret:variables/a%23b"]
