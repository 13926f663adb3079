"""``secretbridge airflow migrate`` against a real Airflow metastore: connections and
variables added by Airflow's CLI, the command run as a user runs it (subprocess), the
metastore and the store checked afterwards. Every output is searched for the canaries
(the ``setup`` fixture's teardown)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from migrate_kit import CANARIES, CONNECTIONS, VARIABLES, Setup
from plugins import install_distribution

from secretbridge import Connection, Resolver, SecretNotFound
from secretbridge.airflow.migrate import Migration, Options

LIAR = '''
from secretbridge.stores.local import LocalStore


class LyingStore(LocalStore):
    """Accepts every write and keeps something else."""

    kind = "lying"

    def put(self, path, value):
        return super().put(path, value + "-tampered" if isinstance(value, str) else value)
'''


def as_connection(fields: dict[str, Any]) -> dict[str, Any]:
    """A metastore row in the form the store holds (Airflow's JSON form, as a dict)."""
    extra = fields["extra"]
    return Connection(**{**fields, "extra": json.dumps(extra) if extra else None}).to_dict()


def stored_connection(resolver: Resolver, conn_id: str) -> dict[str, Any]:
    return Connection.parse(resolver.get(f"secret:connections/{conn_id}").reveal()).to_dict()


def through_the_backend(setup: Setup, conn_id: str) -> dict[str, Any]:
    """``airflow connections get`` with secretbridge's backend, made to miss in the stores
    (another connections namespace) so that it resolves the metastore's own connection."""
    config = setup.config.with_name("backend.toml")
    config.write_text(setup.config.read_text() + '\n[namespaces]\nconnections = "elsewhere"\n')
    shown = setup.airflow(
        "connections", "get", conn_id, "-o", "json",
        env={
            "AIRFLOW__SECRETS__BACKEND": "secretbridge.airflow.SecretsBackend",
            "AIRFLOW__SECRETS__BACKEND_KWARG__CONFIG": str(config),
        },
    )  # fmt: skip
    (got,) = json.loads(shown[shown.index("[") :])
    fields = {key: got[key] for key in ("conn_type", "host", "login", "password", "schema")}
    # The command's JSON turns every value into text; its URI keeps the extra's types.
    port = int(got["port"]) if got["port"] else None
    extra = Connection.parse(got["get_uri"]).extra_dejson
    fields.update(port=port, description=got["description"], extra=extra)
    return as_connection(fields)


def lines_for(out: str) -> dict[str, str]:
    """``kind id`` -> the rest of its line."""
    found = {}
    for line in out.splitlines():
        head, sep, rest = line.partition(": ")
        if sep and head.split(" ")[0] in ("connection", "variable"):
            found[head] = rest
    return found


def test_a_dry_run_reports_each_item_and_changes_nothing(setup: Setup) -> None:
    before = setup.metastore.snapshot()
    out = setup.migrate("--store", "local")
    lines = lines_for(out)
    assert set(lines) == {f"connection {c}" for c in CONNECTIONS} | {
        f"variable {k}" for k in VARIABLES
    }
    assert lines["connection pg_main"] == (
        "would-copy, store 'local' as 'connections/pg_main'; metastore: kept"
    )
    assert out.splitlines()[-1] == (
        "4 item(s): 4 would-copy (dry run: nothing was changed; --apply does it)"
    )
    assert setup.metastore.snapshot() == before
    with setup.resolver() as resolver:
        assert resolver.list_secrets() == []


def test_apply_copies_and_a_rerun_writes_nothing(setup: Setup) -> None:
    before = setup.metastore.snapshot()
    out = setup.migrate("--store", "local", "--apply")
    assert all(rest.startswith("copied, ") for rest in lines_for(out).values()), out
    assert setup.metastore.snapshot() == before  # copied, not moved
    with setup.resolver() as resolver:
        for conn_id, fields in before[0].items():
            assert stored_connection(resolver, conn_id) == as_connection(fields)
        for key, value in VARIABLES.items():
            assert resolver.get(f"secret:variables/{key}").reveal() == value
        versions = {
            n.name: resolver.get(f"secret:{n.name}").version for n in resolver.list_secrets()
        }
    assert len(versions) == len(CONNECTIONS) + len(VARIABLES)

    outcomes = json.loads(setup.migrate("--store", "local", "--apply", "--json"))
    assert {o["action"] for o in outcomes} == {"unchanged"}
    assert len(outcomes) == len(versions)
    with setup.resolver() as resolver:
        assert {n: resolver.get(f"secret:{n}").version for n in versions} == versions


def test_a_different_value_in_the_store_is_a_conflict_until_overwrite(setup: Setup) -> None:
    with setup.resolver() as resolver:
        resolver.put("variables/batch_size", "999")
    before = setup.metastore.snapshot()
    out = setup.migrate("--store", "local", "--apply", "--delete", code=1)
    assert lines_for(out)["variable batch_size"].startswith("conflict, ")
    assert "metastore: kept (the store holds another value; --overwrite" in out
    # The conflicting item stays in the metastore; the others were verified and deleted.
    assert setup.metastore.variables() == {"batch_size": before[1]["batch_size"]}
    assert setup.metastore.connections() == {}
    with setup.resolver() as resolver:
        assert resolver.get("secret:variables/batch_size").reveal() == "999"

    out = setup.migrate("--store", "local", "--apply", "--overwrite")
    assert lines_for(out)["variable batch_size"].startswith("overwritten, ")
    with setup.resolver() as resolver:
        assert resolver.get("secret:variables/batch_size").reveal() == "500"


def test_replace_with_references_leaves_only_references_in_the_metastore(setup: Setup) -> None:
    before = setup.metastore.snapshot()
    out = setup.migrate("--store", "local", "--apply", "--replace-with-references")
    lines = lines_for(out)
    assert lines["connection api_json"].endswith(
        "metastore: replaced (password and extra are references)"
    )
    assert "Airflow does not resolve references in variables" in lines["variable api_key"]

    conns, variables = setup.metastore.snapshot()
    assert variables == before[1]
    api = conns["api_json"]
    assert api["password"] == "secret:connections/api_json#password"
    assert api["extra"] == {
        "token": "secret:connections/api_json/extra#token",
        "timeout": 30,
        "verify": True,
    }
    assert (api["host"], api["login"], api["description"]) == (
        "api.internal",
        "svc",
        "the partner API",
    )
    assert conns["pg_main"]["password"] == "secret:connections/pg_main#password"
    assert conns["pg_main"]["login"] == "loader"
    held = json.dumps(conns)
    assert not [name for name, canary in CANARIES.items() if canary in held]

    with setup.resolver() as resolver:
        for conn_id in conns:
            assert stored_connection(resolver, conn_id) == as_connection(before[0][conn_id])
    for conn_id in conns:
        assert through_the_backend(setup, conn_id) == as_connection(before[0][conn_id])

    again = setup.migrate("--store", "local", "--apply", "--replace-with-references")
    assert lines_for(again)["connection api_json"].startswith("already migrated, ")
    assert setup.metastore.connections() == conns

    # Deleting them later: the references are checked to resolve first.
    gone = setup.migrate("--store", "local", "--apply", "--delete", "--no-variables")
    assert lines_for(gone)["connection api_json"] == (
        "already migrated, store 'local' as 'connections/api_json'; metastore: deleted"
    )
    assert setup.metastore.connections() == {}


def test_delete_removes_items_once_the_store_holds_them(setup: Setup) -> None:
    before = setup.metastore.snapshot()
    out = setup.migrate("--store", "local", "--apply", "--delete")
    assert all(rest.endswith("metastore: deleted") for rest in lines_for(out).values()), out
    assert setup.metastore.snapshot() == ({}, {})
    with setup.resolver() as resolver:
        for conn_id, fields in before[0].items():
            assert stored_connection(resolver, conn_id) == as_connection(fields)
        assert resolver.get("secret:variables/api_key").reveal() == CANARIES["variable"]


def test_a_store_that_reads_back_something_else_changes_nothing(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    install_distribution(
        site,
        "sb-liar",
        {"sb_liar.py": LIAR},
        {"secretbridge.stores": {"lying": "sb_liar:LyingStore"}},
    )
    setup.env["PYTHONPATH"] = str(site)
    monkeypatch.syspath_prepend(str(site))
    setup.add_local_store("liar", kind="lying")
    before = setup.metastore.snapshot()
    for mode in ("--delete", "--replace-with-references"):
        out = setup.migrate("--store", "liar", "--apply", "--overwrite", mode, code=1)
        lines = lines_for(out)
        assert len(lines) == len(CONNECTIONS) + len(VARIABLES)
        for rest in lines.values():
            assert rest.startswith("read-back failed, "), out
            assert rest.endswith("metastore: kept (the store did not return what was written)")
        assert setup.metastore.snapshot() == before


def test_a_read_only_store_fails_in_one_line_and_changes_nothing(
    setup: Setup, tmp_path: Path
) -> None:
    script = tmp_path / "ro.py"
    script.write_text("def get_secrets():\n    return {}\n")
    setup.add_stores(f'\n[stores.ro]\nkind = "custom"\nscript = "{script}"\n')
    before = setup.metastore.snapshot()
    setup.migrate("--store", "ro", "--apply", "--delete", code=2)
    assert setup.outputs[-1].strip().splitlines()[-1] == (
        "secretbridge: error: store kind 'custom' is read-only "
        "(ref 'connections/api_json', store 'ro')"
    )
    assert setup.metastore.snapshot() == before


def test_bad_input_is_one_line(setup: Setup) -> None:
    setup.migrate("--store", "nowhere", code=2)
    assert setup.outputs[-1] == "secretbridge: error: no store named 'nowhere' is configured\n"
    setup.migrate("--store", "local", "--delete", "--replace-with-references", code=2)
    assert "--replace-with-references and --delete exclude each other" in setup.outputs[-1]


def test_references_the_chain_would_not_find_are_not_written(setup: Setup, tmp_path: Path) -> None:
    """A store outside the chain holds the copies, but ``secret:connections/X#password``
    resolves through the chain: the metastore keeps its values."""
    setup.add_local_store("aside")
    before = setup.metastore.snapshot()
    out = setup.migrate("--store", "aside", "--apply", "--replace-with-references", code=1)
    lines = lines_for(out)
    assert lines["connection pg_main"] == (
        "read-back failed, store 'aside' as 'connections/pg_main'; metastore: kept "
        "(the reference for field 'password' does not resolve (SecretNotFound))"
    )
    assert setup.metastore.snapshot() == before


def test_a_conflict_on_the_extras_copy_keeps_the_connection(setup: Setup) -> None:
    with setup.resolver() as resolver:
        resolver.put("connections/api_json/extra", '{"token": "another"}')
    before = setup.metastore.snapshot()
    out = setup.migrate("--store", "local", "--apply", "--replace-with-references", code=1)
    assert lines_for(out)["connection api_json"].endswith(
        "metastore: kept (the store holds another value as 'connections/api_json/extra'; "
        "--overwrite replaces it)"
    )
    assert setup.metastore.connections()["api_json"] == before[0]["api_json"]


NESTED = {
    "password": "canary-nested-pw-6a0c31-never-print",
    "token": "canary-nested-token-e27b94-never-print",
    "client_secret": "canary-nested-secret-18fd5c-never-print",
}


def test_nested_extra_values_are_copied_but_never_left_in_clear_behind_references(
    setup: Setup,
) -> None:
    nested = {"conn_type": "http", "password": NESTED["password"]}
    setup.airflow("connections", "add", "nested", "--conn-json", json.dumps({
        **nested,
        "extra": {
            "token": NESTED["token"],
            "auth": {"scopes": ["read"], "client_secret": NESTED["client_secret"]},
        },
    }))  # fmt: skip
    setup.airflow("connections", "add", "numbers", "--conn-json", json.dumps({
        **nested,
        "extra": {"token": NESTED["token"], "limits": {"max": 3, "names": [""]}, "ports": [1, 2]},
    }))  # fmt: skip
    before = setup.metastore.snapshot()

    out = setup.migrate("--store", "local")
    assert lines_for(out)["connection nested"] == (
        "would-copy, store 'local' as 'connections/nested'; metastore: kept"
    )

    out = setup.migrate("--store", "local", "--apply", "--replace-with-references", code=1)
    lines = lines_for(out)
    assert lines["connection nested"] == (
        "refused, store 'local' as 'connections/nested'; metastore: kept (extra key 'auth' "
        "holds text inside a nested value, which no reference can replace, so the metastore "
        "would keep it in clear; make it a top-level key in Airflow first, or use --delete)"
    )
    assert lines["connection numbers"].endswith(
        "metastore: replaced (password and extra are references)"
    )
    conns = setup.metastore.connections()
    assert conns["nested"] == before[0]["nested"]
    assert conns["numbers"]["extra"] == {
        "token": "secret:connections/numbers/extra#token",
        "limits": {"max": 3, "names": [""]},
        "ports": [1, 2],
    }
    assert through_the_backend(setup, "numbers") == as_connection(before[0]["numbers"])
    with setup.resolver() as resolver, pytest.raises(SecretNotFound):
        resolver.get("secret:connections/nested")  # refused before anything was written

    again = setup.migrate("--store", "local", "--apply", "--replace-with-references", code=1)
    assert lines_for(again)["connection numbers"].startswith("already migrated, ")
    # Without references, both are copied whole and deleted.
    setup.migrate("--store", "local", "--apply", "--delete", "--no-variables")
    assert set(setup.metastore.connections()) == set()
    with setup.resolver() as resolver:
        assert stored_connection(resolver, "nested") == as_connection(before[0]["nested"])
    printed = "".join(setup.outputs)
    assert not [name for name, canary in NESTED.items() if canary in printed]


RAW_EXTRA = "canary-raw-extra-3b8f20-never-print"


def test_a_connection_airflow_cannot_read_is_one_line_and_the_run_goes_on(setup: Setup) -> None:
    """An older Airflow's extra that is not a JSON object: Airflow 3 refuses to read it."""
    setup.metastore.set_extra("pg_main", f"{{{RAW_EXTRA}")
    before = setup.metastore.snapshot()
    for args in ((), ("--apply", "--replace-with-references"), ("--apply", "--delete")):
        out = setup.migrate("--store", "local", *args, code=1)
        lines = lines_for(out)
        assert lines["connection pg_main"] == (
            "refused, store 'local' as 'connections/pg_main'; metastore: kept (Airflow cannot "
            "read its extra, which is not a JSON object; set the extra again in Airflow first)"
        ), out
        assert len(lines) == len(CONNECTIONS) + len(VARIABLES)
    assert setup.metastore.connections()["pg_main"] == before[0]["pg_main"]
    assert list(setup.metastore.connections()) == ["pg_main"]
    assert not [out for out in setup.outputs if RAW_EXTRA in out]


@pytest.mark.parametrize("extra", [f"{{{RAW_EXTRA}", json.dumps(RAW_EXTRA), "42"])
@pytest.mark.parametrize("password", [None, CANARIES["pg_password"]])
def test_an_extra_that_is_not_a_json_object_is_refused_not_replaced(
    setup: Setup, extra: str, password: str | None
) -> None:
    """The migration itself (it takes any connection, not only what Airflow 3 reads)."""
    conn = Connection(conn_type="http", password=password, extra=extra)
    replaced: list[object] = []
    options = Options("local", apply=True, replace_with_references=True)
    with setup.resolver() as resolver:
        outcome = Migration(resolver, options).connection(
            "raw", conn, lambda *fields: replaced.append(fields), lambda: replaced.append(None)
        )
        with pytest.raises(SecretNotFound):
            resolver.get("secret:connections/raw")
    assert outcome.line() == (
        "connection raw: refused, store 'local' as 'connections/raw'; metastore: kept (extra is "
        "not a JSON object, so no reference can replace it and the metastore would keep it in "
        "clear; make it a JSON object in Airflow first, or use --delete)"
    )
    assert not outcome.ok
    assert replaced == []


def test_without_airflow_the_command_says_what_to_install(tmp_path: Path) -> None:
    # A fresh interpreter: in this one, Airflow's modules may be loaded by other tests.
    code = (
        "import sys; sys.modules['airflow'] = None  # import airflow raises ImportError\n"
        "from secretbridge.cli import main; main(['airflow', 'migrate', '--store', 'local'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "SECRETBRIDGE_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("secretbridge: error: secretbridge airflow needs Airflow")
    assert "pip install 'secretbridge[airflow]'" in done.stderr
