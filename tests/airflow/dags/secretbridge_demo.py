"""DAGs for the secretbridge backend tests. Each task reads through Airflow's own API and
checks what it received against ``SB_EXPECT`` (JSON: label -> sha256 of the value), so no
expected value sits in a file or the environment; it prints only labels and verdicts.

- ``secretbridge_demo``: a JSON connection with reference fields, a URI connection, a
  connection kept in Airflow's database whose password is a reference, a variable and a
  config value (``[atlas] password_secret``).
- ``secretbridge_outage``: reads ``sb_outage`` and reports what it got, or the error.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime

from airflow.sdk import Connection, Variable, dag, task


def _check(label: str, value: object) -> None:
    expected = json.loads(os.environ["SB_EXPECT"])[label]
    got = hashlib.sha256(str(value).encode()).hexdigest()
    assert got == expected, f"{label}: not the expected value"
    print(f"SB-OK {label}")


@dag(dag_id="secretbridge_demo", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def secretbridge_demo() -> None:
    @task
    def json_connection() -> None:
        conn = Connection.get("sb_json")
        _check("json.password", conn.password)
        _check("json.login", conn.login)
        _check("json.extra.token", conn.extra_dejson["token"])
        assert conn.host == "warehouse.internal" and conn.port == 5432

    @task
    def uri_connection() -> None:
        conn = Connection.get("sb_uri")
        _check("uri.password", conn.password)
        assert (conn.conn_type, conn.host, conn.login) == ("postgres", "reports.internal", "rep")

    @task
    def db_connection() -> None:
        conn = Connection.get("sb_db")
        _check("db.password", conn.password)
        assert (conn.host, conn.login) == ("db-kept.internal", "kept")

    @task
    def variable() -> None:
        _check("variable", Variable.get("sb_var"))

    @task
    def config_value() -> None:
        from airflow.configuration import conf

        _check("config", conf.get("atlas", "password"))

    json_connection()
    uri_connection()
    db_connection()
    variable()
    config_value()


@dag(dag_id="secretbridge_outage", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def secretbridge_outage() -> None:
    @task(retries=0)
    def read_outage() -> None:
        try:
            conn = Connection.get("sb_outage")
        except Exception as error:
            print(f"SB-ERROR {type(error).__name__}: {error}")
            raise
        print(f"SB-RECEIVED host={conn.host}")
        raise RuntimeError("a connection was received while its store was down")

    read_outage()


secretbridge_demo()
secretbridge_outage()


@dag(dag_id="secretbridge_remote", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def secretbridge_remote() -> None:
    """Secrets kept for Airflow's official AWS backend (moto) and in Vault (OpenBao)."""

    @task
    def remote_values() -> None:
        conn = Connection.get("sb_aws")  # AWS Secrets Manager, its password a vault:// reference
        _check("aws.password", conn.password)
        assert (conn.host, conn.login) == ("aws-kept.internal", "aws-user")
        conn = Connection.get("sb_vault")  # a Vault KV v2 object whose keys are the fields
        _check("vault.password", conn.password)
        _check("aws.variable", Variable.get("sb_remote_var"))

    remote_values()


secretbridge_remote()


@dag(dag_id="secretbridge_team", schedule=None, start_date=datetime(2026, 1, 1), catchup=False)
def secretbridge_team() -> None:
    """Multi-team mode: ``sb_team`` exists for team red and as a shared secret."""

    @task
    def team_value() -> None:
        print(f"SB-TEAM host={Connection.get('sb_team').host}")

    team_value()


secretbridge_team()
