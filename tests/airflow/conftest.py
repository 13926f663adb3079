"""One migrated Airflow per session for the backend tests (``airflow_kit.AirflowHome``):
a secretbridge local store seeded with canary values, and connections of Airflow's own
database, one of them holding a reference."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_kit import AirflowHome, digest

# Each value is distinct, so a leak names which one escaped.
VALUES = {
    "password": "canary-af-pw-91c2",
    "login": "canary-af-login-5d70",
    "db_login": "canary-af-dblogin-4e1b",
    "token": "canary-af-token-2be8",
    "uri_password": "canary-af-uri-7f13",
    "variable": "canary-af-var-c4a9",
    "config": "canary-af-cfg-0e65",
}
DECOY_PASSWORD = "decoy-af-pw-3388"  # a metastore connection a failed lookup must not reach

SECRETS: dict[str, str | dict[str, object]] = {
    "db/warehouse": {
        "password": VALUES["password"],
        "login": VALUES["login"],
        "db_login": VALUES["db_login"],
        "token": VALUES["token"],
    },
    "connections/sb_json": {
        "conn_type": "postgres",
        "host": "warehouse.internal",
        "port": 5432,
        "login": "secret:db/warehouse#login",
        "password": "secret:db/warehouse#password",
        "extra": {"token": "secret:db/warehouse#token", "sslmode": "require"},
    },
    "connections/sb_uri": f"postgres://rep:{VALUES['uri_password']}@reports.internal:5432/reports",
    "connections/sb_outage": {
        "conn_type": "generic",
        "host": "real.internal",
        "password": "secret:db/warehouse#password",
    },
    "variables/sb_var": VALUES["variable"],
    "config/atlas/password": VALUES["config"],
}

#: What the demo DAG's tasks must receive (label -> sha256), given to them as SB_EXPECT.
EXPECT = {
    "json.password": digest(VALUES["password"]),
    "json.login": digest(VALUES["login"]),
    "json.extra.token": digest(VALUES["token"]),
    "uri.password": digest(VALUES["uri_password"]),
    "db.password": digest(VALUES["password"]),
    "variable": digest(VALUES["variable"]),
    "config": digest(VALUES["config"]),
}

CONFIG = """\
[resolver]
chain = ["local"]

[stores.local]
kind = "local"
"""


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
