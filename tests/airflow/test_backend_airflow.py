"""The backend in a real Airflow 3.3: ``airflow dags test``, ``connections get``,
``variables get``, ``providers secrets`` and ``version``, each its own process reading
``[secrets] backend`` from the environment (the ``AIRFLOW__SECRETS__BACKEND_KWARG__CONFIG``
form). The DAGs are in ``dags/secretbridge_demo.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from airflow_kit import BACKEND, DECOY_PASSWORD, ENV_BACKEND, EXPECT, VALUES, AirflowHome

pytestmark = pytest.mark.slow


def task_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("SB-")]


def assert_no_canary(text: str) -> None:
    leaked = [name for name, value in VALUES.items() if value in text]
    assert not leaked, f"values in the output: {leaked}"


def test_dags_test_tasks_receive_every_kind_of_value(airflow_home: AirflowHome) -> None:
    """A JSON connection with reference fields, a URI connection, a connection kept in
    Airflow's database whose password is a reference, a variable and a config value
    (``[atlas] password_secret``), all checked by the tasks themselves."""
    result = airflow_home.airflow(
        "dags", "test", "secretbridge_demo",
        SB_EXPECT=json.dumps(EXPECT),
        AIRFLOW__ATLAS__PASSWORD_SECRET="atlas/password",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:]
    assert sorted(task_lines(result.stdout)) == sorted(f"SB-OK {label}" for label in EXPECT)
    assert_no_canary(result.stdout)  # nothing of ours logs a value (dags test masks nothing)


def test_workers_alone_resolve_references_in_airflows_own_connection(
    airflow_home: AirflowHome,
) -> None:
    """The backend on task processes only (``[workers]``): the API server hands over
    ``sb_db`` as stored, its password a reference, and the task process resolves it."""
    result = airflow_home.airflow(
        "tasks", "test", "secretbridge_demo", "db_connection",
        SB_EXPECT=json.dumps({"db.password": EXPECT["db.password"]}),
        AIRFLOW__SECRETS__BACKEND=None,
        AIRFLOW__SECRETS__BACKEND_KWARG__CONFIG=None,
        AIRFLOW__WORKERS__SECRETS_BACKEND=BACKEND,
        AIRFLOW__WORKERS__SECRETS_BACKEND_KWARG__CONFIG=str(airflow_home.config),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:]
    assert task_lines(result.stdout) == ["SB-OK db.password"]


def test_connections_get_shows_what_the_backend_resolved(airflow_home: AirflowHome) -> None:
    stored = airflow_home.airflow("connections", "get", "sb_json", "-o", "json")
    assert stored.returncode == 0, stored.stdout[-3000:]
    conn = json.loads(stored.stdout[stored.stdout.index("[") :])[0]
    assert (conn["login"], conn["password"]) == (VALUES["login"], VALUES["password"])
    assert conn["extra_dejson"] == {"token": VALUES["token"], "sslmode": "require"}

    kept = airflow_home.airflow("connections", "get", "sb_db", "-o", "json")
    assert kept.returncode == 0, kept.stdout[-3000:]
    conn = json.loads(kept.stdout[kept.stdout.index("[") :])[0]
    assert (conn["host"], conn["login"], conn["password"]) == (
        "db-kept.internal",
        "kept",
        VALUES["password"],
    )


def test_variables_get_shows_the_stored_value(airflow_home: AirflowHome) -> None:
    result = airflow_home.airflow("variables", "get", "sb_var")
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stdout.strip().splitlines()[-1] == VALUES["variable"]


def test_providers_secrets_lists_the_backend(airflow_home: AirflowHome) -> None:
    result = airflow_home.airflow("providers", "secrets", "-o", "json")
    assert result.returncode == 0, result.stdout[-3000:]
    assert BACKEND in result.stdout


def test_a_broken_config_does_not_break_airflow_but_fails_each_lookup(
    airflow_home: AirflowHome, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[stores.local\nkind = 'local'\n")
    config = str(broken)
    version = airflow_home.airflow("version", AIRFLOW__SECRETS__BACKEND_KWARG__CONFIG=config)
    assert version.returncode == 0, version.stdout[-3000:]
    assert version.stdout.strip().splitlines()[-1].startswith("3.3.")

    lookup = airflow_home.airflow(
        "variables", "get", "sb_var", AIRFLOW__SECRETS__BACKEND_KWARG__CONFIG=config
    )
    assert lookup.returncode != 0
    problem = f"{broken}: not valid TOML"
    clear_lines = [line for line in lookup.stdout.splitlines() if problem in line]
    assert clear_lines, lookup.stdout[-3000:]
    assert "variable 'sb_var'" in clear_lines[0]
    assert_no_canary(lookup.stdout)


@pytest.mark.parametrize(
    ("workers", "seen"),
    [
        # [secrets] alone serves task processes too: the task's own backend raises.
        (
            None,
            "SB-ERROR AirflowSecretsBackendAccessDenied: secretbridge could not resolve "
            "connection 'sb_outage': StoreUnavailable:",
        ),
        # Workers on another backend: the API server's refusal reaches the task as a miss.
        (ENV_BACKEND, "SB-ERROR AirflowNotFoundException: The conn_id `sb_outage` isn't defined"),
    ],
    ids=["server-and-workers", "server-only"],
)
def test_a_store_outage_fails_the_task_and_never_hands_it_the_decoy(
    airflow_home: AirflowHome, store_down: Path, workers: str | None, seen: str
) -> None:
    """``sb_outage`` is in the store and, as a decoy, in Airflow's database: with the
    store down, the task fails and never receives the decoy."""
    result = airflow_home.airflow(
        "dags", "test", "secretbridge_outage", AIRFLOW__WORKERS__SECRETS_BACKEND=workers
    )
    assert result.returncode != 0
    lines = task_lines(result.stdout)
    assert len(lines) == 1 and lines[0].startswith(seen), result.stdout[-6000:]
    assert not any(line.startswith("SB-RECEIVED") for line in lines)
    assert "decoy.internal" not in result.stdout and DECOY_PASSWORD not in result.stdout
    # Either way the cause, naming the reference and the store, is in the run's output.
    cause = "(ref 'secret:connections/sb_outage', store 'local')"
    assert f"{store_down} does not exist; run 'secretbridge init' {cause}" in result.stdout
    assert_no_canary(result.stdout)
