"""Fixtures for ``secretbridge airflow migrate``: one Airflow home (SQLite) migrated and
populated through Airflow's own CLI once per session, copied for each test, and a fresh
secretbridge local store per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_env import AIRFLOW, db_migrate
from migrate_kit import CANARIES, CONNECTIONS, VARIABLES, Setup, migrate_env, run


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``airflow db migrate`` once, then the connections and variables added by Airflow's
    own CLI."""
    home = tmp_path_factory.mktemp("airflow-template")
    env = migrate_env(home)
    db_migrate(env)
    for conn_id, args in CONNECTIONS.items():
        run([str(AIRFLOW), "connections", "add", conn_id, *args], env)
    for key, value in VARIABLES.items():
        run([str(AIRFLOW), "variables", "set", key, value], env)
    return home


@pytest.fixture
def setup(template_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    home = tmp_path / "airflow"
    shutil.copytree(template_home, home)
    monkeypatch.setenv("SECRETBRIDGE_HOME", str(tmp_path / "sb-home"))
    made = Setup(home, tmp_path)
    made.init("local")
    yield made
    for output in made.outputs:
        for name, canary in CANARIES.items():
            assert canary not in output, f"the command printed the {name} canary"
