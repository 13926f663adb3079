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
from airflow_kit import CONFIG, DAGS, SECRETS, VALUES, AirflowHome, Servers, digest
from leaks import holders
from processes import free_port

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


def run_dag(home: AirflowHome, dag_id: str, env: dict[str, str]) -> object:
    """Start api-server, scheduler and dag-processor, trigger ``dag_id`` once it is
    parsed, and return its run's final state once it has one; the servers are stopped
    whatever happens."""
    port = free_port()
    overrides = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-jwt-secret-for-this-run-only",
        "AIRFLOW__API__SECRET_KEY": "test-secret-key-for-this-run-only",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        **env,
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
            lambda: query(db, "select 1 from dag where dag_id = ?", dag_id),
            limit=120,
        )
        trigger = home.airflow("dags", "trigger", dag_id, **overrides)
        assert trigger.returncode == 0, trigger.stdout[-3000:]
        return wait_for(
            "finished run",
            servers,
            lambda: [
                row[0]
                for row in query(db, "select state from dag_run where dag_id = ?", dag_id)
                if row[0] in ("success", "failed")
            ],
            limit=180,
        )
    finally:
        servers.stop()


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
    expect = {label: digest(value) for label, value in LEAKED.items()}
    state = run_dag(home, "secretbridge_leak", {"SB_EXPECT": json.dumps(expect)})

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
    assert home.home / "airflow.db" in files and len(files) > 3
    # Raw bytes, and every cell of airflow.db with its zlib blobs (serialized DAGs) unpacked.
    assert holders(home.home, *LEAKED.values()) == []


def test_in_multi_team_mode_a_teams_task_gets_its_teams_secret(
    airflow_base: AirflowHome, tmp_path: Path
) -> None:
    """``[core] multi_team``: the DAG's bundle belongs to team red; ``sb_team`` exists for
    red, for blue and shared. Task processes do not know their team, so the backend there
    leaves the lookup to the API server, which asks for red's first."""
    home = airflow_base.clone(tmp_path / "root")
    home.config.write_text(CONFIG)
    home.put(
        {
            "teams/red/connections/sb_team": "http://red-host",
            "teams/blue/connections/sb_team": "http://blue-host",
            "connections/sb_team": "http://shared-host",
        }
    )
    bundle = {
        "name": "dags-folder",
        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
        "kwargs": {"path": str(DAGS)},
        "team_name": "red",
    }
    env = {
        "AIRFLOW__CORE__MULTI_TEAM": "True",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps([bundle]),
    }
    for team in ("red", "blue"):
        created = home.airflow("teams", "create", team, **env)
        assert created.returncode == 0, created.stdout[-3000:]
    state = run_dag(home, "secretbridge_team", env)
    task_logs = list((home.home / "logs").rglob("*task_id=team_value*/*.log"))
    assert len(task_logs) == 1, list((home.home / "logs").rglob("*"))
    log = task_logs[0].read_text(errors="replace")
    assert state == ["success"], log[-4000:]
    assert "SB-TEAM host=red-host" in log


def test_a_broken_config_does_not_stop_the_scheduler_from_starting(
    airflow_base: AirflowHome, tmp_path: Path
) -> None:
    """Airflow builds the backend at import in every process: with a config that does not
    parse, the scheduler still starts and heartbeats (a lookup would fail, one line)."""
    home = airflow_base.clone(tmp_path / "root")
    home.config.write_text("[stores.local\nkind = 'local'\n")
    servers = Servers(home, home.env())
    db = home.home / "airflow.db"
    try:
        servers.start("scheduler", "scheduler", "--skip-serve-logs")
        wait_for(
            "scheduler heartbeat",
            servers,
            lambda: query(
                db,
                "select 1 from job where job_type = ? and state = ? "
                "and latest_heartbeat > start_date",
                "SchedulerJob",
                "running",
            ),
            limit=120,
        )
        servers.check_running()
    finally:
        servers.stop()
    output = (servers.logs / "scheduler.out").read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]
