"""The resources in a real Dagster run (``materialize()``, the in-process executor):
what they resolve, when, how often, and how they fail. The multiprocess executor, the
CLI, the UI and the storage are in the other files here.

No ``from __future__ import annotations``: Dagster reads the assets' annotations."""

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from leaks import assert_no_leak
from resolvers import behind_an_outage

from secretbridge import ConfigError, Connection, Resolver, close_shared_resolvers
from secretbridge.dagster import ConnectionResource, ResolvedResource, SecretsResource, redaction
from secretbridge.stores.local import LocalStore

PASSWORD = "pw-canary-5d1e-dagster"
LOGIN = "login-canary-77c2"
TOKEN = "token-canary-a0b9-dagster"
TRANSFORM = "transform-canary-31f4"
OTHER = "other-canary-e6a2-only-by-get"
DECOY = "decoy-canary-0c3e-wrong-store"
NOT_A_NUMBER = "nan-canary-41bd-not-a-number"
REFUSED = "refused-canary-9f02-quoted-by-setup"
CONNECTION = {
    "conn_type": "postgres",
    "host": "db.internal",
    "login": LOGIN,
    "password": "secret:db/warehouse#password",  # a reference inside the connection
    "port": 5432,
    "schema": "sales",
    "extra": {"sslmode": "require", "api_key": "secret:api/token"},
}


class Inner(dg.ConfigurableResource):
    """A third-party-like resource that wants plain values."""

    user: str
    password: str
    retries: int = 1


class Seen:
    """What the assets of a run saw (values kept in the test process only)."""

    values: dict[str, Any] = {}  # noqa: RUF012 - reset per test


@dg.asset
def everything(
    context: dg.AssetExecutionContext,
    secrets: SecretsResource,
    warehouse: ConnectionResource,
    inner: Inner,
) -> None:
    conn = secrets.connection("warehouse")
    Seen.values.update(
        connection=conn,
        resource_connection=warehouse.connection,
        token=secrets.get("secret:api/token").reveal(),
        many={k: v.reveal() for k, v in secrets.get_many(["secret:api/token"]).items()},
        loaded={k: v.reveal() for k, v in secrets.load("SNOWFLAKE/").items()},
        inner=(inner.user, inner.password, inner.retries),
    )
    context.log.info(f"connection password={conn.password} login={conn.login}")
    logging.getLogger("user.code").warning("token %s in a longer string", inner.password)
    loaded = secrets.load("SNOWFLAKE/")["TRANSFORM.PASSWORD"].reveal()
    dg.get_dagster_logger().info(f"loaded {loaded}")
    print(f"other={secrets.get('secret:api/other').reveal()}")  # obtained by get alone


@pytest.fixture(autouse=True)
def fresh_process_state() -> Iterator[None]:
    Seen.values = {}
    close_shared_resolvers()
    yield
    close_shared_resolvers()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A local store (with an audit log, to count store reads) holding the canaries."""
    path = tmp_path / "secretbridge.toml"
    path.write_text(
        f"""
[resolver]
chain = ["local"]
[stores.local]
kind = "local"
path = "{tmp_path / "store.db"}"
key_file = "{tmp_path / "store.key"}"
[audit]
path = "{tmp_path / "audit.jsonl"}"
"""
    )
    with Resolver.from_config(path) as resolver:
        store = resolver.store("local")
        assert isinstance(store, LocalStore)
        store.init()
        resolver.put("connections/warehouse", json.dumps(CONNECTION))
        resolver.put("db/warehouse", json.dumps({"password": PASSWORD}))
        resolver.put("api/token", TOKEN)
        resolver.put("api/other", OTHER)
        resolver.put("SNOWFLAKE/TRANSFORM/PASSWORD", TRANSFORM)
        resolver.put("SNOWFLAKE/TRANSFORM/USER", "transformer")
    return path


def resources(config: Path, **extra: Any) -> dict[str, Any]:
    return {
        "secrets": SecretsResource(config=str(config)),
        "warehouse": ConnectionResource(conn_id="warehouse", config=str(config)),
        "inner": ResolvedResource.of(
            Inner, config=str(config), user="etl", password="secret:api/token", retries=3
        ),
        **extra,
    }


def store_reads(config: Path, name: str) -> int:
    """Reads of ``name`` that reached the store (not served from the cache)."""
    audit = config.parent / "audit.jsonl"
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    return sum(1 for e in events if (e["action"], e["name"], e["outcome"]) == ("read", name, "ok"))


def test_a_run_gets_the_connection_values_and_namespace_it_names(config: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([everything], resources=resources(config), instance=instance)
    assert result.success
    assert not redaction.installed(), "the run's teardown removed the hooks"
    assert not isinstance(logging.getLogRecordFactory(), redaction._RedactingFactory)
    with Resolver.from_config(config) as resolver:
        expected = resolver.connection("secret:connections/warehouse")
    conn = Seen.values["connection"]
    assert isinstance(conn, Connection)
    assert conn.to_dict() == expected.to_dict()
    assert (conn.login, conn.password, conn.extra_dejson["api_key"]) == (LOGIN, PASSWORD, TOKEN)
    assert Seen.values["resource_connection"].to_dict() == expected.to_dict()
    assert Seen.values["token"] == TOKEN
    assert Seen.values["many"] == {"secret:api/token": TOKEN}
    assert Seen.values["loaded"] == {
        "TRANSFORM.PASSWORD": TRANSFORM,
        "TRANSFORM.USER": "transformer",
    }
    assert Seen.values["inner"] == ("etl", TOKEN, 3), "the inner resource got the value"


def test_every_value_is_redacted_from_the_event_log_and_the_console(
    config: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([everything], resources=resources(config), instance=instance)
    assert result.success
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("connection password=*** login=***" in m for m in messages), messages
    assert any("loaded ***" in m for m in messages), messages
    out, err = capfd.readouterr()
    assert "connection password=*** login=***" in err, "Dagster's console logger"
    assert "other=***" in out, "print"
    stdlib = [r.getMessage() for r in caplog.records if r.name == "user.code"]
    assert stdlib == ["token *** in a longer string"]
    for canary in (PASSWORD, LOGIN, TOKEN, TRANSFORM, OTHER):
        assert_no_leak(canary, messages, out, err, caplog.text, stdlib)


def test_within_a_run_a_name_is_fetched_once_and_the_next_run_sees_a_rotation(
    config: Path,
) -> None:
    """Two runs in one process (the shared resolver's cache would still hold the value):
    the second sees the rotated token; within each run the token, wanted by three
    resources, reached the store once."""
    first = dg.materialize([everything], resources=resources(config))
    assert first.success
    assert store_reads(config, "api/token") == 1
    with Resolver.from_config(config) as resolver:
        resolver.put("api/token", TOKEN + "-rotated")
    second = dg.materialize([everything], resources=resources(config))
    assert second.success
    assert Seen.values["token"] == TOKEN + "-rotated"
    assert Seen.values["inner"][1] == TOKEN + "-rotated"
    assert store_reads(config, "api/token") == 2


def test_nothing_is_resolved_at_import_or_definition_time(tmp_path: Path) -> None:
    """Definitions naming a config that does not exist load fine (a code server starts
    without the stores); only a run needs them."""
    missing = str(tmp_path / "nowhere.toml")
    defs = dg.Definitions(assets=[everything], resources=resources(Path(missing)))
    assert defs.get_repository_def().get_top_level_resources().keys() >= {"secrets", "inner"}
    result = dg.materialize([everything], resources=resources(Path(missing)), raise_on_error=False)
    assert not result.success
    assert "nowhere.toml" in failure_text(result), "the failure names the config file"


@pytest.fixture
def outage_config(tmp_path: Path, config: Path) -> Path:
    """AWS first in the chain, on a port where nothing listens; the local store (second)
    holds a decoy of the same name, which must never be served instead."""
    with Resolver.from_config(config) as resolver:
        resolver.put("api/outage", DECOY)
    path = tmp_path / "outage.toml"
    path.write_text(behind_an_outage(config.read_text()))
    return path


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    texts = []
    for event in result.all_events:
        data = getattr(event, "event_specific_data", None)
        error = getattr(data, "error", None)
        while error is not None:
            texts.append(error.message)
            error = error.cause
    return "\n".join(texts)


@pytest.mark.parametrize("via", ["prefetch", "connection", "resolved"])
def test_a_store_outage_at_setup_fails_the_run_naming_the_reference_and_the_store(
    outage_config: Path, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    ran: list[str] = []

    @dg.asset
    def needs_it(resource: dg.ResourceParam[Any]) -> None:
        ran.append("the asset ran")

    config = str(outage_config)
    resource = {
        "prefetch": SecretsResource(config=config, prefetch=["secret:api/outage"]),
        "connection": ConnectionResource(conn_id="outage", config=config),
        "resolved": ResolvedResource.of(
            Inner, config=config, user="u", password="secret:api/outage"
        ),
    }[via]
    result = dg.materialize([needs_it], resources={"resource": resource}, raise_on_error=False)
    assert not result.success
    assert ran == [], "nothing ran on an empty or wrong source"
    text = failure_text(result)
    name = "connections/outage" if via == "connection" else "api/outage"
    assert "StoreUnavailable" in text or "unavailable" in text.lower(), text
    assert name in text and "'aws'" in text, text
    assert_no_leak(DECOY, text)


def test_bad_input_gets_a_clear_error(config: Path) -> None:
    with pytest.raises(ConfigError, match=r"Inner\): no such field\(s\): pasword"):
        ResolvedResource.of(Inner, pasword="secret:api/token")
    with pytest.raises(ConfigError, match="only while a run has it set up"):
        SecretsResource(config=str(config)).get("secret:api/token")
    with pytest.raises(ConfigError, match="only while a run has it set up"):
        ConnectionResource(conn_id="warehouse").connection  # noqa: B018
    with pytest.raises(Exception, match="config"):  # Dagster's own validation names the field
        SecretsResource(config=5)  # type: ignore[arg-type]


def test_a_malformed_reference_in_a_resolved_field_names_the_field_not_its_text(
    config: Path,
) -> None:
    typed = "local://pa ss?version="  # starts like a reference: maybe a value typed by hand

    @dg.asset
    def uses_inner(inner: Inner) -> None:
        pass

    resource = ResolvedResource.of(Inner, config=str(config), user="u", password=typed)
    result = dg.materialize([uses_inner], resources={"inner": resource}, raise_on_error=False)
    assert not result.success
    text = failure_text(result)
    assert "field 'password'" in text and "malformed" in text, text
    assert typed not in text


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("nowhere.at_all:Thing", "cannot import 'nowhere.at_all:Thing'"),
        ("json:dumps", "'json:dumps' is not a ConfigurableResource"),
    ],
)
def test_a_wrapped_resource_that_cannot_be_used_fails_the_run_saying_which(
    config: Path, path: str, problem: str
) -> None:
    @dg.asset
    def uses_inner(inner: dg.ResourceParam[Any]) -> None:
        pass

    resource = ResolvedResource(resource=path, fields={"user": "u"}, config=str(config))
    result = dg.materialize([uses_inner], resources={"inner": resource}, raise_on_error=False)
    assert not result.success
    assert problem in failure_text(result)


class Strict(dg.ConfigurableResource):
    """A third-party-like resource whose field types and set-up may refuse a value."""

    retries: int = 1
    password: str = ""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.password.startswith("refused"):
            raise PermissionError(f"login refused for password {self.password!r}")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"retries": "secret:api/short"}, "retries: Input should be a valid integer"),
        ({"retries": "secret:api/not_a_number"}, "retries: Input should be a valid integer"),
        ({"password": "secret:api/refused"}, "PermissionError: login refused for password '***'"),
    ],
    ids=["short-value-of-wrong-type", "value-of-wrong-type", "inner-setup-quotes-it"],
)
def test_a_wrapped_resource_refusing_a_resolved_value_never_quotes_it(
    config: Path, fields: dict[str, str], problem: str
) -> None:
    """pydantic quotes a bad input, and a third-party set-up may quote its password: the
    run fails saying which field and why, with no value in the stored events."""
    values = {"api/short": "Qz7#", "api/not_a_number": NOT_A_NUMBER, "api/refused": REFUSED}
    with Resolver.from_config(config) as resolver:
        for name, value in values.items():
            resolver.put(name, value)

    @dg.asset
    def uses_strict(strict: Strict) -> None:
        pass

    instance = dg.DagsterInstance.ephemeral()
    resource = ResolvedResource.of(Strict, config=str(config), **fields)
    result = dg.materialize(
        [uses_strict], resources={"strict": resource}, instance=instance, raise_on_error=False
    )
    assert not result.success
    text = failure_text(result)
    assert "ResolvedResourceError" in text and problem in text, text
    stored = [entry.to_json() for entry in instance.all_logs(result.run_id)]
    for value in values.values():
        assert_no_leak(value, text, stored)


@dg.asset
@redaction.masking_errors
def fails_quoting_its_token(secrets: SecretsResource) -> None:
    raise ValueError(f"the API refused token {secrets.get('secret:api/token').reveal()}")


@dg.asset
def fails_quoting_its_token_unmasked(secrets: SecretsResource) -> None:
    raise ValueError(f"the API refused token {secrets.get('secret:api/token').reveal()}")


def test_masking_errors_keeps_a_value_out_of_the_stored_failure(config: Path) -> None:
    """The documented hole (Dagster stores an exception's text) and the decorator that
    closes it for an asset: the failure says what happened, with the value masked."""
    outcomes = {}
    for asset in (fails_quoting_its_token, fails_quoting_its_token_unmasked):
        instance = dg.DagsterInstance.ephemeral()
        result = dg.materialize(
            [asset], resources=resources(config), instance=instance, raise_on_error=False
        )
        assert not result.success
        stored = "\n".join(entry.to_json() for entry in instance.all_logs(result.run_id))
        outcomes[asset.key.path[0]] = (failure_text(result), stored)
    text, stored = outcomes["fails_quoting_its_token"]
    assert "RedactedError: ValueError: the API refused token ***" in text, text
    assert_no_leak(TOKEN, text, stored)
    text, stored = outcomes["fails_quoting_its_token_unmasked"]
    assert TOKEN in stored, "without the decorator Dagster stores the value (the hole)"
