"""The kit's environment for ``dagster``: nothing of the developer's Dagster, secretbridge,
Airflow or pytest settings reaches it."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster_kit import BASE_YAML, HERE, dagster_env
from processes import BIN


def test_dagster_env_drops_the_developers_settings_and_sets_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "DAGSTER_HOME",
        "DAGSTER_CLOUD_API_TOKEN",
        "SECRETBRIDGE_KEY",
        "AIRFLOW_HOME",
        "AIRFLOW__CORE__FERNET_KEY",
        "_AIRFLOW_PROCESS_CONTEXT",
        "PYTEST_ADDOPTS",
    ):
        monkeypatch.setenv(name, "developer")
    monkeypatch.setenv("LANG", "C.UTF-8")
    home = tmp_path / "home"
    env = dagster_env(home, tmp_path / "sb.toml", tmp_path / "sb", dagster_yaml="x: 1\n")
    assert {k for k, v in env.items() if v == "developer"} == set()
    assert env["LANG"] == "C.UTF-8"
    assert env["DAGSTER_HOME"] == str(home)
    assert env["SECRETBRIDGE_CONFIG"] == str(tmp_path / "sb.toml")
    assert env["SECRETBRIDGE_HOME"] == str(tmp_path / "sb")
    assert env["PATH"].startswith(f"{BIN}:")
    assert env["PYTHONPATH"] == str(HERE)
    assert (home / "dagster.yaml").read_text() == BASE_YAML + "x: 1\n"
