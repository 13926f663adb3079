"""The Secrets page's fixtures: one Airflow home (SQLite, migrated once), a secretbridge
config with planted canaries, and one real ``airflow api-server`` on 127.0.0.1 serving
the plugin, with SimpleAuthManager users admin and viewer."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow_env import AIRFLOW, airflow_env, db_migrate
from processes import free_port, start, stop_group
from resolvers import local_store_toml
from secrets_page_kit import CANARIES, DB_LITERAL, MALFORMED, USERS, Airflow

from secretbridge import Resolver


def page_env(home: Path, config: Path, secretbridge_home: Path) -> dict[str, str]:
    return airflow_env(
        home,
        home / "dags",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=USERS,
        AIRFLOW__API__WORKERS="1",
        # The page reads the config Airflow gives secretbridge's secrets backend.
        AIRFLOW__SECRETS__BACKEND="secretbridge.airflow.SecretsBackend",
        AIRFLOW__SECRETS__BACKEND_KWARGS=json.dumps({"config": str(config)}),
        SECRETBRIDGE_HOME=str(secretbridge_home),
    )


def write_config(folder: Path, audit: Path) -> Path:
    """A local store with the canaries, and a Vault store that is down (not in the chain:
    it shows in the health table and fails a lookup naming it)."""
    config = folder / "secretbridge.toml"
    config.write_text(
        local_store_toml(folder / "store.db")
        + f"""
[stores.vault-down]
kind = "vault"
url = "http://127.0.0.1:{free_port()}"
token = "root"
max_attempts = 1
timeout = 2
connect_timeout = 1

[audit]
path = "{audit}"
"""
    )
    warehouse = {
        "conn_type": "postgres",
        "host": "warehouse.internal",
        "login": "secret:variables/wh_login",
        "password": CANARIES["password"],
        "schema": "analytics",
        "port": 5432,
    }
    # The local store keeps its key in SECRETBRIDGE_HOME: the server's, set here too.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SECRETBRIDGE_HOME", str(folder))
        _plant(config, warehouse)
    return config


def _plant(config: Path, warehouse: dict[str, Any]) -> None:
    with Resolver.from_config(config) as resolver:
        resolver.store("local").init()  # type: ignore[attr-defined]  # LocalStore
        resolver.put("connections/warehouse", json.dumps(warehouse))
        resolver.put("connections/api_http", f"https://svc:{CANARIES['uri']}@api.internal/")
        resolver.put("connections/api_http", f"https://svc:{CANARIES['uri']}@api2.internal/")
        resolver.put("variables/wh_login", CANARIES["login"])
        resolver.put("variables/batch_size", CANARIES["variable"])


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """An Airflow home migrated once for the session (``db migrate`` takes seconds)."""
    root = tmp_path_factory.mktemp("airflow_ui")
    home = root / "airflow"
    (home / "dags").mkdir(parents=True)
    folder = root / "secretbridge"
    folder.mkdir()
    config = write_config(folder, root / "audit.jsonl")
    env = page_env(home, config, folder)
    db_migrate(env)
    return home, env


@pytest.fixture(scope="session")
def airflow(airflow_home: tuple[Path, dict[str, str]]) -> Iterator[Airflow]:
    home, env = airflow_home
    port = free_port()
    log = home / "api-server.log"
    config = Path(json.loads(env["AIRFLOW__SECRETS__BACKEND_KWARGS"])["config"])
    with log.open("wb") as out:
        process = start(
            [str(AIRFLOW), "api-server", "--host", "127.0.0.1", "--port", str(port)],
            env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Airflow(home, env, f"http://127.0.0.1:{port}", config, log)
    try:
        _wait_healthy(server, process)
        _add_db_connections(server)
        yield server
    finally:
        stop_group(process)


def _wait_healthy(server: Airflow, process: subprocess.Popen[bytes]) -> None:
    """Wait until the server answers (a readiness bound, not a timed assertion)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-3000:]
            pytest.fail(f"api-server exited with {process.returncode}:\n{tail}")
        with contextlib.suppress(OSError):
            url = server.url + "/api/v2/monitor/health"
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        time.sleep(0.5)
    pytest.fail("api-server did not answer within 180 s:\n" + server.log.read_text()[-3000:])


def _add_db_connections(server: Airflow) -> None:
    """Connections typed into Airflow's own database through its REST API (what the
    Connections form does): a reference password, a literal one, a malformed one."""
    rows = [
        {
            "connection_id": "pg_ref",
            "conn_type": "postgres",
            "host": "db.internal",
            "login": "etl",
            "password": "secret:connections/warehouse#password",
            "extra": json.dumps({"token": "vault://secret/etl#token", "sslmode": "require"}),
        },
        {
            "connection_id": "plain_db",
            "conn_type": "postgres",
            "host": "db.internal",
            "password": DB_LITERAL,
        },
        {"connection_id": "bad_ref", "conn_type": "http", "password": MALFORMED},
    ]
    for row in rows:
        status, text = server.request("POST", "/api/v2/connections", user="admin", body=row)
        assert status == 201, f"adding {row['connection_id']}: HTTP {status}: {text[:300]}"
