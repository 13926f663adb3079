"""SecretsBackend in this process, over a local store: the names it looks up, fail closed
and the fall-through switch, the miss cache, teams, and what it registers for masking.
The same class in real Airflow processes is tested in ``test_backend_airflow.py``."""

from __future__ import annotations

import json
import logging
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from leaks import CANARY, assert_clean

from secretbridge import Resolver, close_shared_resolvers


@pytest.fixture(scope="session")
def backend_cls(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The class, imported with AIRFLOW_HOME in a temporary folder (importing Airflow
    writes a default airflow.cfg there)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow-import")))
    mp.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    mp.delenv("AIRFLOW__CORE__UNIT_TEST_MODE", raising=False)
    from secretbridge.airflow import SecretsBackend

    mp.undo()  # the module is imported; its configuration is read
    return SecretsBackend


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "secretbridge.toml"
    path.write_text('[resolver]\nchain = ["local"]\n\n[stores.local]\nkind = "local"\n')
    with Resolver.from_config(path) as resolver:
        resolver.put("db/main", json.dumps({"password": CANARY, "login": "etl-from-ref"}))
        resolver.put(
            "connections/pg",
            json.dumps(
                {
                    "conn_type": "postgres",
                    "host": "db.internal",
                    "login": "secret:db/main#login",
                    "password": "secret:db/main#password",
                    "extra": {"token": "secret:db/main#password", "sslmode": "require"},
                }
            ),
        )
        resolver.put("connections/uri", "mysql://u:uri-pw-77@h:3306/s")
        resolver.put("variables/batch", "var-value-1")
        resolver.put("config/database/sql_alchemy_conn", "sqlite:////tmp/x.db")
        resolver.put("teams/red/connections/shared_id", "http://red-host")
        resolver.put("connections/shared_id", "http://shared-host")
    yield path
    close_shared_resolvers()  # a test's resolver (and its cache) is not the next test's


@pytest.fixture
def backend(backend_cls: Any, config: Path) -> Any:
    from airflow.sdk.definitions.connection import Connection

    instance = backend_cls(config=str(config))
    instance._set_connection_class(Connection)  # as Airflow's loader does
    return instance


@pytest.fixture
def task_process(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """This process made to look like a task process; returns what gets masked."""
    masked: list[str] = []
    monkeypatch.setitem(
        sys.modules,
        "airflow.sdk.execution_time.task_runner",
        types.SimpleNamespace(SUPERVISOR_COMMS=object()),
    )
    import airflow.sdk.log

    monkeypatch.setattr(
        airflow.sdk.log, "mask_secret", lambda value, name=None: masked.append(value)
    )
    return masked


def test_building_one_reads_nothing_and_bad_settings_fail_each_lookup(backend_cls: Any) -> None:
    from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied

    missing = backend_cls(config="/nonexistent/secretbridge.toml")  # not read yet
    unknown = backend_cls(confg="/etc/typo.toml")
    bad_flag = backend_cls(fall_through="maybe")
    with pytest.raises(AirflowSecretsBackendAccessDenied, match="cannot read /nonexistent"):
        missing.get_variable("x")
    with pytest.raises(AirflowSecretsBackendAccessDenied, match="unknown backend_kwargs key"):
        unknown.get_conn_value("x")
    with pytest.raises(AirflowSecretsBackendAccessDenied, match="fall_through must be"):
        bad_flag.get_config("x")


def test_connections_variables_and_config_map_to_logical_names(backend: Any) -> None:
    value = json.loads(backend.get_conn_value("pg"))
    assert (value["login"], value["password"]) == ("etl-from-ref", CANARY)
    assert value["extra"] == {"token": CANARY, "sslmode": "require"}
    conn = backend.get_connection("uri")
    assert (conn.conn_type, conn.host, conn.login, conn.password, conn.port) == (
        "mysql",
        "h",
        "u",
        "uri-pw-77",
        3306,
    )
    assert backend.get_variable("batch") == "var-value-1"
    assert backend.get_config("database/sql_alchemy_conn") == "sqlite:////tmp/x.db"
    assert backend.get_config("secret:db/main#login") == "etl-from-ref"  # a reference as is
    assert backend.get_conn_value("absent") is None
    assert backend.get_variable("absent") is None
    assert backend.get_config("absent/key") is None
    assert backend.get_conn_value("no such//id") is None  # no store can hold it: a miss


def test_a_team_name_is_tried_before_the_shared_one(backend: Any) -> None:
    def host(team: str | None) -> str:
        return str(json.loads(backend.get_conn_value("shared_id", team_name=team))["host"])

    assert [host("red"), host("blue"), host(None)] == ["red-host", "shared-host", "shared-host"]


def test_team_fallback_off_gives_a_team_only_its_own_secrets(
    backend_cls: Any, config: Path
) -> None:
    backend = backend_cls(config=str(config), team_fallback="false")
    assert json.loads(backend.get_conn_value("shared_id", team_name="red"))["host"] == "red-host"
    assert backend.get_conn_value("shared_id", team_name="blue") is None
    assert backend.get_variable("batch", team_name="blue") is None
    assert json.loads(backend.get_conn_value("shared_id"))["host"] == "shared-host"


def test_a_bad_switch_fails_every_lookup_closed(backend_cls: Any, config: Path) -> None:
    from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied

    backend = backend_cls(config=str(config), team_fallback="maybe")
    with pytest.raises(AirflowSecretsBackendAccessDenied, match="team_fallback must be"):
        backend.get_conn_value("shared_id", team_name="blue")


SCRIPT = """\
import json, pathlib
HERE = pathlib.Path(__file__).parent

def get_secrets():
    with open(HERE / "calls", "a") as calls:
        calls.write("x")
    return json.loads((HERE / "secrets.json").read_text())  # missing: the store is down
"""


@pytest.fixture
def flaky(tmp_path: Path) -> Path:
    """A config whose one store is a script reading ``secrets.json`` (delete it to take
    the store down) and counting its calls in ``calls``."""
    (tmp_path / "secrets.py").write_text(SCRIPT)
    (tmp_path / "secrets.json").write_text(json.dumps({"variables/v": "v1"}))
    path = tmp_path / "flaky.toml"
    path.write_text('[stores.script]\nkind = "custom"\nscript = "secrets.py"\n')
    return path


def test_a_miss_is_cached_and_an_outage_fails_closed_naming_reference_and_store(
    backend_cls: Any, flaky: Path
) -> None:
    from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied

    backend = backend_cls(config=str(flaky))
    assert backend.get_variable("absent") is None
    assert backend.get_variable("absent") is None  # the miss is remembered: no second call
    assert (flaky.parent / "calls").read_text() == "x"
    (flaky.parent / "secrets.json").unlink()
    with pytest.raises(AirflowSecretsBackendAccessDenied) as caught:
        backend.get_variable("v")
    message = str(caught.value)
    assert message.startswith("secretbridge could not resolve variable 'v': StoreUnavailable:")
    assert "(ref 'secret:variables/v', store 'script')" in message
    assert_clean(caught.value)


def test_fall_through_logs_one_line_and_returns_none(
    backend_cls: Any, flaky: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = backend_cls(config=str(flaky), fall_through="true")  # env-var kwargs are text
    (flaky.parent / "secrets.json").unlink()
    with caplog.at_level(logging.WARNING, logger="secretbridge.airflow"):
        assert backend.get_conn_value("pg") is None
    lines = [r.getMessage() for r in caplog.records if r.name == "secretbridge.airflow"]
    assert len(lines) == 1 and "falling through" in lines[0]
    assert "(ref 'secret:connections/pg', store 'script')" in lines[0]


def test_a_bad_reference_field_fails_closed_without_its_text(
    backend: Any, config: Path, tmp_path: Path
) -> None:
    from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied

    with Resolver.from_config(config) as resolver:
        resolver.put(
            "connections/bad", json.dumps({"conn_type": "x", "password": f"secret:{CANARY} x"})
        )
    with pytest.raises(AirflowSecretsBackendAccessDenied) as caught:
        backend.get_connection("bad")
    assert "field 'password'" in str(caught.value)
    assert_clean(caught.value)


def test_a_task_process_masks_every_resolved_value(backend: Any, task_process: list[str]) -> None:
    backend.get_connection("pg")
    extra = json.dumps({"token": CANARY, "sslmode": "require"})
    # password, the whole extra, the fields that were references (login, extra.token): once
    assert sorted(task_process) == sorted([CANARY, extra, "etl-from-ref"])
    task_process.clear()
    backend.get_variable("batch")  # whatever its key: Airflow masks only sensitive names
    assert task_process == ["var-value-1"]
    task_process.clear()
    backend.get_connection("uri")  # a literal login and host are not masked
    assert task_process == ["uri-pw-77"]


def test_a_server_process_masks_nothing(backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import airflow.sdk.log

    masked: list[str] = []
    monkeypatch.setattr(
        airflow.sdk.log, "mask_secret", lambda value, name=None: masked.append(value)
    )
    backend.get_connection("pg")
    backend.get_variable("batch")
    assert masked == []
