"""A scheduler-run task (api-server, scheduler and dag-processor on 127.0.0.1,
LocalExecutor, parallelism 4) writes its resolved password, reference-resolved logins
(one of them of a connection in Airflow's database) and a variable to its log through
every channel: the log shows them masked, and no file under AIRFLOW_HOME (task logs, the
metadata database, the rest) holds any of them."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from airflow_kit import AirflowHome, Servers, digest, free_port
from conftest import CONFIG, SECRETS, VALUES

pytestmark = pytest.mark.slow

LEAKED = {label: VALUES[label] for label in ("password", "login", "variable", "db_login")}


def wait_for(what: str, servers: Servers, probe: Callable[[], object], limit: float) -> object:
    """Poll ``probe`` until it returns something truthy; bounded, and failing early if a
    server dies."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        servers.check_running()
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"no {what} within {limit} s; see {servers.logs}")


def query(db: Path, sql: str, *args: str) -> list[tuple[object, ...]]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:  # a table not created yet, or locked a moment
        return []


def test_a_scheduler_run_task_log_and_airflow_home_hold_no_resolved_value(
    airflow_base: AirflowHome, tmp_path: Path
) -> None:
    home = airflow_base.clone(tmp_path / "root")
    home.config.write_text(CONFIG)
    home.put(SECRETS)
    added = home.airflow(
        "connections", "add", "sb_db", "--conn-type", "generic", "--conn-host", "db.internal",
        "--conn-login", "secret:db/warehouse#db_login",
        "--conn-password", "secret:db/warehouse#password",
    )  # fmt: skip
    assert added.returncode == 0, added.stdout[-3000:]
    port = free_port()
    overrides = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-jwt-secret-for-this-run-only",
        "AIRFLOW__API__SECRET_KEY": "test-secret-key-for-this-run-only",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "SB_EXPECT": json.dumps({label: digest(value) for label, value in LEAKED.items()}),
    }
    db = home.home / "airflow.db"
    servers = Servers(home, home.env(**overrides))
    try:
        servers.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(port))
        servers.start("scheduler", "scheduler", "--skip-serve-logs")  # serve-logs binds 0.0.0.0
        servers.start("dag-processor", "dag-processor")
        wait_for(
            "parsed DAG",
            servers,
            lambda: query(db, "select 1 from dag where dag_id = ?", "secretbridge_leak"),
            limit=120,
        )
        trigger = home.airflow("dags", "trigger", "secretbridge_leak", **overrides)
        assert trigger.returncode == 0, trigger.stdout[-3000:]
        state = wait_for(
            "finished run",
            servers,
            lambda: [
                row[0]
                for row in query(
                    db, "select state from dag_run where dag_id = ?", "secretbridge_leak"
                )
                if row[0] in ("success", "failed")
            ],
            limit=180,
        )
    finally:
        servers.stop()

    task_logs = list((home.home / "logs").rglob("*task_id=write_everything*/*.log"))
    assert len(task_logs) == 1, list((home.home / "logs").rglob("*"))
    log = task_logs[0].read_text(errors="replace")
    assert state == ["success"], log[-4000:]
    for channel in ("SB-PRINT", "SB-STDERR", "SB-LOGGING", "SB-TASKLOG"):
        for label in LEAKED:
            assert f"{channel} {label}=***" in log, f"{channel} {label} not in the log masked"

    # Not the servers' own output: LocalExecutor copies each task's output to the
    # scheduler's stdout (subprocess_logs_to_stdout=True, hard-coded in Airflow 3.3.2)
    # and that copy is not masked; the README says so.
    files = [path for path in home.home.rglob("*") if path.is_file()]
    assert db in files and len(files) > 3
    leaks = [
        (str(path.relative_to(home.home)), label)
        for path in files
        for label, value in LEAKED.items()
        if value.encode() in path.read_bytes()
    ]
    assert leaks == []
