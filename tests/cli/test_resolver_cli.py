"""Resolver repros through the installed command: each exits promptly with its documented
exit code and a one-line error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = shutil.which("secretbridge", path=str(Path(sys.executable).parent))


def run(config: Path, home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    assert SCRIPT is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECRETBRIDGE_")}
    env["SECRETBRIDGE_HOME"] = str(home)
    return subprocess.run(
        [SCRIPT, "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,  # the deadlock hung forever
        check=False,
    )


def test_a_kind_reference_to_a_store_named_otherwise_exits_promptly(
    tmp_path: Path, isolated_home: Path
) -> None:
    config = tmp_path / "dl.toml"
    config.write_text('[stores.main]\nkind="local"\n')
    assert run(config, isolated_home, "init").returncode == 0
    done = run(config, isolated_home, "get", "local://x")
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("secretbridge: error: ") and done.stderr.count("\n") == 1
    assert "'main'" in done.stderr


@pytest.mark.parametrize("where", ["missing/audit.jsonl", "."])
def test_an_unwritable_audit_path_exits_2_before_any_write(
    tmp_path: Path, isolated_home: Path, where: str
) -> None:
    config = tmp_path / "sb.toml"
    config.write_text(f'[stores.main]\nkind="local"\n\n[audit]\npath = "{where}"\n')
    done = run(config, isolated_home, "put", "k", stdin="value")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"secretbridge: error: {config}: audit.path: ")
    assert done.stderr.count("\n") == 1
    assert not (isolated_home / "store.db").exists(), "nothing was written"
