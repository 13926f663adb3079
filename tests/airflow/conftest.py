"""One migrated Airflow per session for the backend tests (``airflow_kit.AirflowHome``):
a secretbridge local store seeded with canary values, and connections of Airflow's own
database, one of them holding a reference."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_kit import CONFIG, DECOY_PASSWORD, SECRETS, AirflowHome


@pytest.fixture(scope="session")
def airflow_base(tmp_path_factory: pytest.TempPathFactory) -> AirflowHome:
    """A migrated, empty Airflow (``airflow db migrate`` runs once per session)."""
    base = AirflowHome(tmp_path_factory.mktemp("airflow-base"))
    base.config.write_text(CONFIG)
    base.migrate()
    return base


@pytest.fixture(scope="session")
def airflow_home(
    airflow_base: AirflowHome, tmp_path_factory: pytest.TempPathFactory
) -> AirflowHome:
    """The seeded installation: secrets in the local store; in Airflow's database a
    connection whose password is a reference (``sb_db``) and a decoy (``sb_outage``)."""
    home = airflow_base.clone(tmp_path_factory.mktemp("airflow") / "root")
    home.config.write_text(CONFIG)
    home.put(SECRETS)
    for conn_id, host, login, password in [
        ("sb_db", "db-kept.internal", "kept", "secret:db/warehouse#password"),
        ("sb_outage", "decoy.internal", "decoy", DECOY_PASSWORD),
    ]:
        result = home.airflow(
            "connections", "add", conn_id, "--conn-type", "generic", "--conn-host", host,
            "--conn-login", login, "--conn-password", password,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:]
    return home


@pytest.fixture
def store_down(airflow_home: AirflowHome) -> Iterator[Path]:
    """The local store's file moved away for one test (secretbridge: store unavailable)."""
    store = airflow_home.sb_home / "store.db"
    away = store.with_name("store.db.down")
    store.rename(away)
    try:
        yield store
    finally:
        away.rename(store)
