"""The ``secretbridge`` command, run as a user runs it: the installed script, in a
subprocess, with its own home. A canary value must appear only where --reveal asks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_kit import CANARY, CLI


def test_init_put_get_reveal_resolve_ls_rm(cli: CLI, isolated_home: Path) -> None:
    assert "initialised local store 'local'" in cli.out("init")
    assert "already initialised" in cli.out("init")
    assert (isolated_home / "store.key").stat().st_mode & 0o777 == 0o600
    value = json.dumps({"user": "etl", "password": CANARY})
    assert "version 1" in cli.out("put", "connections/pg", stdin=value.encode())
    assert "version 2" in cli.out("put", "connections/pg", stdin=value.encode())

    meta = json.loads(cli.out("get", "connections/pg", "--json"))
    assert meta == {
        "ref": "secret:connections/pg",
        "store": "local",
        "name": "connections/pg",
        "version": "2",
        "type": "json",
        "fields": ["password", "user"],
        "length": len(value),
    }
    assert cli.out("get", "connections/pg#password", "--reveal") == CANARY
    assert cli.out("get", "secret:connections/pg#user", "--reveal") == "etl"
    assert cli.out("get", "local://connections/pg?version=1#user", "--reveal") == "etl"

    where = cli.out("resolve", "connections/pg#password")
    assert "store 'local'" in where and "version 2" in where and "field 'password'" in where
    listed = json.loads(cli.out("ls", "connections/", "--json"))
    assert listed == [{"name": "connections/pg", "store": "local", "physical": "connections/pg"}]
    assert "connections/pg" in cli.out("ls")

    cli("rm", "connections/pg", code=2)  # no terminal to confirm on
    assert "deleted connections/pg" in cli.out("rm", "connections/pg", "--yes")
    assert "not found" in cli.err("get", "connections/pg", code=3)

    without_reveal = [o for o in cli.outputs if o not in (CANARY,)]
    assert not any(CANARY in out for out in without_reveal)


def test_put_reads_files_and_binary_and_strips_one_newline(cli: CLI, tmp_path: Path) -> None:
    text_file = tmp_path / "pw.txt"
    text_file.write_text("from-file\n")
    cli("put", "a", "-f", str(text_file))
    assert cli.out("get", "a", "--reveal") == "from-file"
    cli("put", "b", "--keep-newline", stdin=b"kept\n")
    assert cli.out("get", "b", "--reveal") == "kept\n"
    blob = bytes(range(256))
    cli("put", "blob", stdin=blob)
    assert cli("get", "blob", "--reveal").stdout == blob
    assert json.loads(cli.out("get", "blob", "--json"))["type"] == "binary"


def test_values_never_come_from_argv(cli: CLI) -> None:
    err = cli.err("put", "a", CANARY, code=2)
    assert "Usage" in err and "1 unexpected extra argument(s), not shown" in err
    assert CANARY not in err, "click's own message would repeat the value"
    assert CANARY not in cli.err("get", "a", CANARY, "--json", code=2)
    assert "empty" in cli.err("put", "a", stdin=b"", code=2)


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (("get", "secret:a//b"), 2, "REF: empty name segment at character 10"),
        # Positions count the text as typed, not a hidden 'secret:' before a bare name.
        (("get", "a//b"), 2, "REF: empty name segment at character 3"),
        (("resolve", "x/#"), 2, "REF: expected a field name after '#' at character 4"),
        (("rm", "a?b", "--yes"), 2, "NAME: '?' at character 2 is not allowed"),
        (("put", "/a"), 2, "NAME: empty name segment at character 1"),
        (("get", "aws-sm://x?ver=1"), 2, "expected 'version=V'"),
        (("get", "nope"), 3, "not found in any store"),
        (("get", "local://x?version=abc"), 2, "whole numbers"),
        (("resolve", "env://SB_NOT_SET_ANYWHERE"), 3, "does not exist"),
        (("rm", "ghost", "--yes"), 3, "not found"),
        (("frobnicate",), 2, "No such command"),
    ],
)
def test_bad_input_one_line_error_and_exit_code(
    cli: CLI, args: tuple[str, ...], code: int, expected: str
) -> None:
    cli("init")  # a store never initialised is unavailable (exit 5), not empty
    err = cli.err(*args, code=code)
    assert expected in err
    if code != 2 or args[0] != "frobnicate":
        assert err.startswith("secretbridge: error: ") and err.count("\n") == 1


def test_a_bare_name_reads_as_secret_name_in_every_command(cli: CLI) -> None:
    # '#' starts a field in every command; '%23' writes a '#' that belongs to the name.
    cli("put", "p", stdin=json.dumps({"q": "field-q"}).encode())
    for command in (("put", "p#q"), ("rm", "p#q", "--yes"), ("put", "local://p?version=1")):
        err = cli.err(*command, stdin=b"v", code=2)
        assert err == (
            "secretbridge: error: NAME: a whole name is written or deleted, not a #field or "
            "?version; write a '#' that belongs to the name as %23\n"
        )
    assert "as 'p#q', version 1" in cli.out("put", "p%23q", stdin=b"hash-name")
    assert cli.out("get", "p%23q", "--reveal") == "hash-name"
    assert cli.out("get", "secret:p%23q", "--reveal") == "hash-name"
    assert cli.out("get", "p#q", "--reveal") == "field-q"
    assert "store 'local' name 'p'" in cli.out("resolve", "p#q")
    assert json.loads(cli.out("ls", "--json")) == [
        {"name": "p", "store": "local", "physical": "p"},
        {"name": "p#q", "store": "local", "physical": "p#q"},
    ]
    assert "deleted p%23q from store 'local' ('p#q')" in cli.out("rm", "p%23q", "--yes")
    assert cli.out("get", "p", "--reveal") == json.dumps({"q": "field-q"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"postgres://u:{CANARY}@h/db", "'://' at character 9: a logical name cannot hold it"),
        (f"local://x?pw={CANARY}", "expected 'version=V' after '?' at character 11"),
        (f"secret:{CANARY} x", f"unexpected whitespace near character {len(CANARY) + 8}"),
        (f"{CANARY}//x", f"empty name segment at character {len(CANARY) + 2}"),
        (f"{CANARY}%zz", f"expected two hex digits after '%' at character {len(CANARY) + 1}"),
    ],
)
def test_errors_about_what_was_typed_never_repeat_it(cli: CLI, text: str, message: str) -> None:
    for args, argument in (
        (("get", text), "REF"),
        (("resolve", text), "REF"),
        (("put", text), "NAME"),
        (("rm", text, "--yes"), "NAME"),
    ):
        err = cli.err(*args, stdin=b"v", code=2)
        assert err.startswith(f"secretbridge: error: {argument}: {message}")
        assert err.count("\n") == 1 and CANARY not in err


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        # The command's one-line form of a config error, for each file format; which errors
        # a config has is tests/unit/test_config.py's.
        ("sb.toml", "[resolver]\ncache_ttl = nan\n", "resolver.cache_ttl: must be a finite"),
        ("sb.yaml", f"stores:\n\tv: {CANARY}\n", "not valid YAML at line 2, column 1: found"),
    ],
)
def test_config_errors_are_one_line_naming_file_and_key(
    cli: CLI, tmp_path: Path, name: str, text: str, message: str
) -> None:
    config = tmp_path / name
    config.write_text(text)
    err = cli.err("--config", str(config), "get", "x", code=2)
    assert err.startswith(f"secretbridge: error: {config}: {message}")
    assert err.count("\n") == 1 and CANARY not in err


def test_doctor_reports_each_store_and_fails_on_a_broken_one(
    cli: CLI, tmp_path: Path, isolated_home: Path
) -> None:
    cli("init")
    assert "ok   local" in cli.out("doctor")
    config = tmp_path / "sb.toml"
    config.write_text(
        '[stores.good]\nkind = "local"\n'
        '[stores.broken]\nkind = "local"\npath = "nowhere/store.db"\n'
        '[stores.env]\nkind = "env"\n'
    )
    broken = CLI(isolated_home, config)
    report = json.loads(broken.out("doctor", "--json", code=1))
    status = {s["store"]: (s["ok"], s["problem"]) for s in report["stores"]}
    assert status["good"] == (True, None)
    assert status["env"] == (True, None)
    assert status["broken"][0] is False
    assert "secretbridge init" in status["broken"][1]


def test_doctor_flags_a_key_file_others_can_read(cli: CLI, isolated_home: Path) -> None:
    cli("init")
    (isolated_home / "store.key").chmod(0o644)
    assert "chmod 600" in cli.out("doctor", code=1)


def test_rotate_key_keeps_values_readable(cli: CLI, isolated_home: Path) -> None:
    cli("put", "k", stdin=CANARY.encode())
    old_key = (isolated_home / "store.key").read_bytes()
    assert "re-encrypted 1 value" in cli.out("rotate-key")
    assert (isolated_home / "store.key").read_bytes() != old_key
    assert cli.out("get", "k", "--reveal") == CANARY


def test_config_option_and_env_store(cli: CLI, tmp_path: Path) -> None:
    config = tmp_path / "sb.toml"
    config.write_text('[stores.env]\nkind = "env"\nnaming = { preset = "airflow" }\n')
    cli.env["AIRFLOW_CONN_MY_PG"] = "postgres://u:p@h/db"
    assert cli.out("--config", str(config), "get", "connections/MY_PG", "--reveal").startswith(
        "postgres://"
    )
    assert "AIRFLOW_CONN_MY_PG" in cli.out("--config", str(config), "resolve", "connections/my_pg")
    assert "no writable store" in cli.err("--config", str(config), "put", "x", stdin=b"v", code=2)
    assert "not a local one" in cli.err("--config", str(config), "init", "--store", "env", code=2)
    assert "no local store is configured" in cli.err("--config", str(config), "rotate-key", code=2)
    assert "read-only" in cli.err(
        "--config", str(config), "put", "x", "--store", "env", stdin=b"v", code=2
    )


def test_no_plaintext_in_any_file_written(cli: CLI, isolated_home: Path) -> None:
    cli("put", "k", stdin=CANARY.encode())
    cli("get", "k")
    for path in isolated_home.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
