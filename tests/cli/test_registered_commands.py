"""Commands other packages register under the ``secretbridge.commands`` entry points:
listed by ``--help`` without importing them, loaded when invoked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from plugins import install_distribution

from secretbridge.cli import COMMANDS_GROUP, cli

PROBE = """
import sys
from click.testing import CliRunner
from secretbridge.cli import cli
result = CliRunner().invoke(cli, {args!r})
print(result.output)
print("IMPORTED:", sorted(m for m in sys.modules if m.split(".")[0] in ("airflow", "sb_probe")))
"""


def run_probe(args: list[str], site: Path | None = None) -> str:
    env_path = [str(site)] if site else []
    code = f"import sys; sys.path[:0] = {env_path!r}\n" + PROBE.format(args=args)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def test_help_lists_the_airflow_command_without_importing_airflow() -> None:
    out = run_probe(["--help"])
    assert "  airflow " in out
    assert "IMPORTED: []" in out


def test_a_registered_command_loads_only_when_invoked(tmp_path: Path) -> None:
    install_distribution(
        tmp_path,
        "sb-probe",
        {"sb_probe.py": "import click\n@click.command()\ndef hello():\n    click.echo('hi!')\n"},
        {COMMANDS_GROUP: {"hello": "sb_probe:hello"}},
    )
    listed = run_probe(["--help"], tmp_path)
    assert "  hello " in listed
    assert "IMPORTED: []" in listed
    invoked = run_probe(["hello"], tmp_path)
    assert "hi!" in invoked
    assert "'sb_probe'" in invoked


def test_a_registered_object_that_is_not_a_command_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_distribution(
        tmp_path,
        "sb-broken",
        {"sb_broken.py": "hello = 42\n"},
        {COMMANDS_GROUP: {"hello": "sb_broken:hello"}},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(cli, ["hello"])
    assert result.exit_code == 1
    assert "'hello' (sb_broken:hello, entry point group secretbridge.commands)" in result.output
    assert "not a click command" in result.output


def test_an_unknown_command_is_still_refused() -> None:
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output
