"""The local store's failures as the ``secretbridge`` command shows them: one line on
stderr, the documented exit code, and never a value it should not print."""

from __future__ import annotations

from pathlib import Path

from cli_kit import CANARY, CLI
from cryptography.fernet import Fernet


def _one_line(err: str) -> str:
    assert err.startswith("secretbridge: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_a_corrupt_store_fails_closed_before_the_next_store_in_the_chain(
    cli: CLI, isolated_home: Path, tmp_path: Path
) -> None:
    """The issue's repro: chain local -> env, the store file corrupted, an attacker's
    DB_PASSWORD in the environment. Printed ``attacker`` before."""
    config = tmp_path / "sb.toml"
    config.write_text(
        '[resolver]\nchain = ["local", "env"]\n[stores.local]\nkind = "local"\n'
        '[stores.env]\nkind = "env"\n'
    )
    cli.env["SECRETBRIDGE_CONFIG"] = str(config)
    cli("put", "DB/PASSWORD", stdin=CANARY.encode())
    (isolated_home / "store.db").write_bytes(b"garbage" * 1000)
    for side in ("-wal", "-shm"):
        (isolated_home / f"store.db{side}").unlink(missing_ok=True)
    cli.env["DB_PASSWORD"] = "attacker"
    done = cli("get", "DB/PASSWORD", "--reveal", code=5)
    assert done.stdout == b""
    _one_line(done.stderr.decode())
    _one_line(cli.err("ls", code=5))


def test_reads_of_a_store_never_initialised_say_to_run_init(cli: CLI) -> None:
    assert "secretbridge init" in _one_line(cli.err("get", "db", code=5))
    assert "secretbridge init" in _one_line(cli.err("ls", code=5))


def test_an_unset_key_variable_is_a_config_error(cli: CLI, tmp_path: Path) -> None:
    """Failed before: exit 3, "not found"."""
    config = tmp_path / "sb.toml"
    config.write_text('[stores.main]\nkind = "local"\nkey = "env:SB_CLI_UNSET"\n')
    cli.env["SECRETBRIDGE_CONFIG"] = str(config)
    err = _one_line(cli.err("get", "db", code=2))
    assert "stores.main.key" in err and "SB_CLI_UNSET" in err


def test_rotate_key_after_a_lost_key_is_a_one_line_error(cli: CLI, isolated_home: Path) -> None:
    """Failed before: an InvalidToken traceback."""
    cli("put", "k", stdin=CANARY.encode())
    (isolated_home / "store.key").write_bytes(Fernet.generate_key() + b"\n")
    err = _one_line(cli.err("rotate-key", code=2))
    assert "key" in err and CANARY not in err


def test_a_put_under_a_wrong_key_is_refused(cli: CLI) -> None:
    cli("put", "k", stdin=b"right")
    cli.env["SECRETBRIDGE_KEY"] = Fernet.generate_key().decode()
    assert "SECRETBRIDGE_KEY" in _one_line(cli.err("put", "k", stdin=CANARY.encode(), code=2))
    del cli.env["SECRETBRIDGE_KEY"]
    assert cli.out("get", "k", "--reveal") == "right"


def test_init_reports_the_modes_it_fixed(cli: CLI, isolated_home: Path) -> None:
    isolated_home.mkdir()
    isolated_home.chmod(0o755)
    out = cli.out("init")
    assert f"{isolated_home}" in out and "700" in out
    assert (isolated_home.stat().st_mode & 0o777) == 0o700


def test_doctor_checks_the_key_against_the_store(cli: CLI) -> None:
    cli("put", "k", stdin=CANARY.encode())
    assert "ok" in cli.out("doctor")
    cli.env["SECRETBRIDGE_KEY"] = Fernet.generate_key().decode()
    out = cli.out("doctor", code=1)
    assert "FAIL" in out and CANARY not in out
