"""One connection id, held in moto's Secrets Manager under the name Airflow's official AWS
backend uses (``airflow/connections/<id>``), with reference fields pointing at another
secret: Airflow's CLI (``airflow connections get``, through secretbridge's backend) and a
Dagster run (``dagster asset materialize``, ``SecretsResource.connection``) read the same
config file and must see the same connection, every reference resolved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from airflow_env import AIRFLOW, airflow_env, db_migrate
from processes import BIN, clean_env, run

from dev_env.aws import MotoServer
from secretbridge import Connection

pytestmark = pytest.mark.slow

CONN_ID = "both_warehouse"
PASSWORD = "both-orchestrators-pw-7c2e"
TOKEN = "both-orchestrators-token-1b9d"
STORED = {
    "conn_type": "postgres",
    "host": "warehouse.internal",
    "login": "etl",
    "password": "secret:e2e/both_warehouse#password",  # through the chain
    "port": 5439,
    "schema": "analytics",
    "extra": {"sslmode": "require", "token": "aws://e2e/both_warehouse#token"},
}
EXPECTED = {
    **STORED,
    "password": PASSWORD,
    "extra": {"sslmode": "require", "token": TOKEN},
}


def test_airflow_and_dagster_resolve_the_same_connection(
    moto_server: MotoServer, tmp_path: Path
) -> None:
    moto_server.put_secrets(
        {
            f"airflow/connections/{CONN_ID}": json.dumps(STORED),
            # the preset renames only connections/, variables/, config/
            "e2e/both_warehouse": json.dumps({"password": PASSWORD, "token": TOKEN}),
        }
    )
    config = tmp_path / "secretbridge.toml"
    store = {**moto_server.store_settings("aws-sm"), "naming": {"preset": "airflow"}}
    config.write_text(tomli_w.dumps({"resolver": {"chain": ["aws"]}, "stores": {"aws": store}}))

    assert through_airflow(moto_server, config, tmp_path / "airflow") == EXPECTED
    assert through_dagster(moto_server, config, tmp_path / "dagster") == EXPECTED


def through_airflow(moto_server: MotoServer, config: Path, home: Path) -> dict[str, Any]:
    """``airflow connections get -o json`` with secretbridge's backend (SQLite home)."""
    env = airflow_env(
        home,
        home / "dags",
        AIRFLOW__SECRETS__BACKEND="secretbridge.airflow.SecretsBackend",
        AIRFLOW__SECRETS__BACKEND_KWARG__CONFIG=str(config),
        **moto_server.environment(),
    )
    db_migrate(env)
    shown = run([str(AIRFLOW), "connections", "get", CONN_ID, "-o", "json"], env, timeout=120)
    assert shown.returncode == 0, shown.stdout[-4000:]
    (got,) = json.loads(shown.stdout[shown.stdout.index("[") :])
    fields = {key: got[key] for key in ("conn_type", "host", "login", "password", "schema")}
    # The command's JSON turns every value into text; its URI keeps the extra's types.
    extra = Connection.parse(got["get_uri"]).extra_dejson
    return {**fields, "port": int(got["port"]), "extra": extra}


def through_dagster(moto_server: MotoServer, config: Path, home: Path) -> dict[str, Any]:
    """A real run of ``both_location.py`` (multiprocess executor, its own DAGSTER_HOME)."""
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    out = home / "connection.json"
    env = clean_env(
        "DAGSTER_",
        "AIRFLOW",
        "_AIRFLOW",
        DAGSTER_HOME=str(home),
        BOTH_CONFIG=str(config),
        BOTH_CONN_ID=CONN_ID,
        BOTH_OUT=str(out),
        **moto_server.environment(),
    )
    location = Path(__file__).with_name("both_location.py")
    command = [str(BIN / "dagster"), "asset", "materialize", "-f", str(location)]
    done = run([*command, "--select", "*"], env, timeout=180, cwd=home)
    assert done.returncode == 0, done.stdout[-4000:]
    got: dict[str, Any] = json.loads(out.read_text())
    return got
