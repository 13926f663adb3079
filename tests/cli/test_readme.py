"""Every example in the README's "Using it" and "Configuration" sections, copied as
written: the commands run in order against a fresh home, the Python block runs as a
script, the config files are loaded and used; the "Dagster" section's code location is
materialized. (The plugin example has its own test in
tests/contract/test_plugin_example.py.)"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from cli_kit import CLI

from secretbridge import Resolver
from secretbridge.config import load_config

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
PASSWORD = "readme-pw-NEVER-PRINTED"


def blocks(section: str, language: str) -> list[str]:
    """The ``language`` code blocks under the README heading ``section``."""
    start = README.index(f"\n## {section}\n")
    end = README.find("\n## ", start + 1)
    body = README[start : end if end != -1 else None]
    return re.findall(rf"^```{language}\n(.*?)^```", body, re.S | re.M)


def test_the_using_it_commands_run_as_written(tmp_path: Path, isolated_home: Path) -> None:
    (tmp_path / "conn.json").write_text(
        json.dumps({"conn_type": "postgres", "host": "db", "login": "etl", "password": PASSWORD})
    )
    commands = [
        shlex.split(line, comments=True)
        for line in blocks("Using it", "sh")[0].splitlines()
        if line.startswith("secretbridge ")
    ]
    assert len(commands) == 9, "the README's command list changed: update this test"
    cli = CLI(isolated_home, cwd=tmp_path)
    for command in commands:
        done = cli(*command[1:])
        if "--reveal" in command:
            assert done.stdout.decode() == PASSWORD
        else:
            assert PASSWORD not in cli.outputs[-1], command


def test_the_python_example_runs_as_written(tmp_path: Path) -> None:
    with Resolver.from_config() as resolver:
        resolver.store("local").init()  # type: ignore[attr-defined]  # secretbridge init
        conn = {"conn_type": "postgres", "host": "db", "login": "etl", "password": PASSWORD}
        resolver.put("connections/warehouse", json.dumps(conn))
        resolver.put("a", "value-a")
        resolver.put("b", json.dumps({"token": "value-b"}))
        resolver.put("SNOWFLAKE/TRANSFORM/PASSWORD", "value-snowflake")
    script = tmp_path / "example.py"
    script.write_text(
        blocks("Using it", "python")[0]
        + "assert password == secret.reveal()\n"
        + "print(sorted(env), conn.password == password, many['local://b#token'].reveal())\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["**********", "['TRANSFORM.PASSWORD'] True value-b"]


def test_the_configuration_example_loads_and_resolves(tmp_path: Path, isolated_home: Path) -> None:
    config = tmp_path / "secretbridge.toml"
    config.write_text(blocks("Configuration", "toml")[0])
    (tmp_path / "team_secrets.py").write_text(
        "def get_secrets():\n    return {'team/api_token': 'team-token'}\n"
    )
    cli = CLI(isolated_home, cwd=tmp_path)
    cli("--config", str(config), "init")
    cli("--config", str(config), "doctor")
    for ref in ("custom://team/api_token", "secret:team/api_token"):
        assert cli.out("--config", str(config), "get", ref, "--reveal") == "team-token"
    audit = (tmp_path / "audit.jsonl").read_text()
    assert "custom://team/api_token" in audit
    assert "team-token" not in audit


def test_the_stores_example_is_a_valid_config(tmp_path: Path) -> None:
    config = tmp_path / "stores.toml"
    config.write_text(blocks("Stores", "toml")[0])
    loaded = load_config(config)
    assert {name: spec.kind for name, spec in loaded.stores.items()} == {
        "prod-vault": "vault",
        "aws": "aws-sm",
    }
    rule = loaded.stores["prod-vault"].naming
    assert rule.to_physical("connections/pg") == "airflow/connections/pg"


def test_the_dagster_example_materializes(tmp_path: Path) -> None:
    """The code location as written (its config path pointed at a local store here); the
    assets that need no cloud run with ``materialize()``, so every reference they name
    must resolve."""
    config = tmp_path / "secretbridge.toml"
    config.write_text('[stores.local]\nkind = "local"\n')
    with Resolver.from_config(config) as resolver:
        resolver.store("local").init()  # type: ignore[attr-defined]
        conn = {"conn_type": "postgres", "host": "db", "login": "etl", "password": PASSWORD}
        for name, value in {
            "connections/warehouse": json.dumps(conn),
            "api/token": "value-token",
            "a": "value-a",
            "b": json.dumps({"token": "value-b"}),
            "SNOWFLAKE/TRANSFORM/PASSWORD": "value-snowflake",
        }.items():
            resolver.put(name, value)
    (code,) = blocks("Dagster", "python")
    assert "/etc/secretbridge.toml" in code, "the README's example changed: update this test"
    script = tmp_path / "definitions.py"
    script.write_text(
        code.replace("/etc/secretbridge.toml", str(config))
        + "\nfrom dagster import materialize\n"
        + "result = materialize([orders, report], resources=defs.resources)\n"
        + "print('success', result.success)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER")}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.splitlines()[-1] == "success True"


def test_the_dagster_yaml_example_selects_the_redacting_compute_log_manager(
    tmp_path: Path,
) -> None:
    from dagster import DagsterInstance

    from secretbridge.dagster.compute_logs import RedactingComputeLogManager

    (block,) = blocks("Dagster", "yaml")
    assert "/path/to/storage" in block, "the README's example changed: update this test"
    (tmp_path / "dagster.yaml").write_text(block.replace("/path/to/storage", str(tmp_path)))
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        manager = instance.compute_log_manager
        assert isinstance(manager, RedactingComputeLogManager)
        assert manager.drain_timeout == 5
