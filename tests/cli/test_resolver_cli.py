"""Resolver repros through the installed command: each exits promptly with its documented
exit code and a one-line error (``CLI`` runs it with a 60 s timeout: the deadlock hung
forever)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_kit import CLI


def test_a_kind_reference_to_a_store_named_otherwise_exits_promptly(
    cli: CLI, tmp_path: Path
) -> None:
    config = tmp_path / "dl.toml"
    config.write_text('[stores.main]\nkind="local"\n')
    cli("--config", str(config), "init")
    err = cli.err("--config", str(config), "get", "local://x", code=3)
    assert err.startswith("secretbridge: error: ") and err.count("\n") == 1
    assert "'main'" in err


@pytest.mark.parametrize("where", ["missing/audit.jsonl", "."])
def test_an_unwritable_audit_path_exits_2_before_any_write(
    cli: CLI, tmp_path: Path, isolated_home: Path, where: str
) -> None:
    config = tmp_path / "sb.toml"
    config.write_text(f'[stores.main]\nkind="local"\n\n[audit]\npath = "{where}"\n')
    err = cli.err("--config", str(config), "put", "k", stdin=b"value", code=2)
    assert err.startswith(f"secretbridge: error: {config}: audit.path: ")
    assert err.count("\n") == 1
    assert not (isolated_home / "store.db").exists(), "nothing was written"
