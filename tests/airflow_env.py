"""What every real-Airflow test folder shares (tests/airflow, tests/airflow_ui,
tests/airflow_migrate): a clean environment for the ``airflow`` command and
``airflow db migrate``; starting and stopping processes is in ``processes``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from processes import BIN, clean_env, run

AIRFLOW = BIN / "airflow"


def airflow_env(home: Path, dags: Path, **settings: str) -> dict[str, str]:
    """This process's environment without anything that would steer Airflow, secretbridge
    or a test run (AIRFLOW*, _AIRFLOW*, SECRETBRIDGE_*, PYTEST*), for an Airflow at
    ``home`` (SQLite, no examples, parallelism 4) with the venv's commands first on PATH;
    then ``settings``."""
    return (
        clean_env(
            "AIRFLOW",
            "_AIRFLOW",
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__PARALLELISM="4",
            AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        )
        | settings
    )


def db_migrate(env: Mapping[str, str], *, cwd: Path | None = None) -> None:
    """``airflow db migrate`` (~5 s): once per session; tests copy the result."""
    done = run([str(AIRFLOW), "db", "migrate"], env, timeout=300, cwd=cwd)
    assert done.returncode == 0, done.stdout[-4000:]
