"""The backend over remote stores in a real Airflow: secrets written for Airflow's
official AWS backend (``airflow/connections/<id>`` in moto's Secrets Manager, found by
``naming = { preset = "airflow" }``) and a Vault KV v2 store (a real OpenBao), one
connection's password a ``vault://`` reference inside an AWS secret (the vault store has
``mount = "secret"``, so its paths are inside that mount)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomli_w
from airflow_kit import AirflowHome, digest
from test_backend_airflow import assert_no_canary, task_lines

from dev_env.aws import MotoServer
from dev_env.vault import VaultServer

pytestmark = pytest.mark.slow

REMOTE = {
    "aws.password": "canary-af-remote-pw-61d0",
    "vault.password": "canary-af-vault-pw-8a4e",
    "aws.variable": "canary-af-remote-var-2f97",
}


def test_dags_test_reads_connections_and_variables_from_aws_and_vault(
    airflow_base: AirflowHome,
    moto_server: MotoServer,
    vault_server: VaultServer,
    tmp_path: Path,
) -> None:
    moto_server.put_secrets(
        {
            "airflow/connections/sb_aws": json.dumps(
                {
                    "conn_type": "postgres",
                    "host": "aws-kept.internal",
                    "login": "aws-user",
                    "password": "vault://airflow-test/warehouse#password",  # in mount "secret"
                }
            ),
            "airflow/variables/sb_remote_var": REMOTE["aws.variable"],
        }
    )
    kv = vault_server.client().secrets.kv.v2
    kv.create_or_update_secret(
        path="airflow-test/warehouse", secret={"password": REMOTE["aws.password"]}
    )
    kv.create_or_update_secret(
        path="connections/sb_vault",
        secret={"conn_type": "http", "host": "vault-kept", "password": REMOTE["vault.password"]},
    )

    env = {**moto_server.environment(), **vault_server.environment()}
    home = airflow_base.clone(tmp_path / "root")
    home.extra_env.update(env)
    stores = {
        "aws": {**moto_server.store_settings("aws-sm"), "naming": {"preset": "airflow"}},
        **vault_server.store_configs(),
    }
    home.config.write_text(
        tomli_w.dumps({"resolver": {"chain": ["aws", "vault"]}, "stores": stores})
    )

    expect = {label: digest(value) for label, value in REMOTE.items()}
    result = home.airflow("dags", "test", "secretbridge_remote", SB_EXPECT=json.dumps(expect))
    assert result.returncode == 0, result.stdout[-6000:]
    assert sorted(task_lines(result.stdout)) == sorted(f"SB-OK {label}" for label in REMOTE)
    assert_no_canary(result.stdout)
    assert not [label for label, value in REMOTE.items() if value in result.stdout]
