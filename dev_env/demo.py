"""``make demo``: a tour of the resolver on a throw-away home.

Initialises a local encrypted store in a temporary folder, puts a few secrets, then
resolves them by every reference form and prints where each one resolved. Values are
shown redacted, as secretbridge shows them everywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from secretbridge import Resolver, Secret, Selection

CONFIG = """\
[resolver]
chain = ["local", "env"]        # secret:NAME looks here, in this order
cache_ttl = 300

[stores.local]
kind = "local"                  # Fernet-encrypted SQLite in $SECRETBRIDGE_HOME

[stores.env]
kind = "env"
naming = { preset = "airflow" } # connections/X <-> AIRFLOW_CONN_X, as Airflow spells it

[stores.team-vault]
kind = "custom"
script = "team_secrets.py"      # your own code: get_secrets() -> dict

[[routes]]
prefix = "team/"                # names under team/ come from team-vault only
store = "team-vault"
"""

TEAM_SCRIPT = """\
def get_secrets():
    return {
        "team/api_token": "tok-demo-1",
        "team/webhook": {"url": "https://hooks.example", "key": "k-9"},
    }
"""


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="secretbridge-demo-") as tmp:
        home = Path(tmp)
        os.environ["SECRETBRIDGE_HOME"] = str(home / "home")
        (home / "secretbridge.toml").write_text(CONFIG)
        (home / "team_secrets.py").write_text(TEAM_SCRIPT)
        os.environ["AIRFLOW_CONN_LEGACY_PG"] = "postgres://report:pg-pass-0@db.internal:5432/sales"
        os.environ["SECRETBRIDGE_CONFIG"] = str(home / "secretbridge.toml")

        say("1. Initialise the local store (key file 0600 + encrypted SQLite)")
        run_cli("init")

        say("2. Put a few secrets (values come from stdin, never the command line)")
        conn = {
            "conn_type": "snowflake",
            "login": "etl",
            "password": "sf-pass-1",
            "host": "acme.snowflakecomputing.com",
            "extra": {"warehouse": "transform"},
        }
        run_cli("put", "connections/warehouse", stdin=json.dumps(conn))
        run_cli("put", "connections/warehouse", stdin=json.dumps({**conn, "password": "sf-pass-2"}))
        run_cli("put", "variables/batch_size", stdin="500")
        run_cli("put", "SNOWFLAKE/TRANSFORM/PASSWORD", stdin="tr-pass-3")
        run_cli("put", "SNOWFLAKE/TRANSFORM/USER", stdin="transformer")

        say("3. Resolve every reference form")
        refs = [
            ("a logical name, through the chain", "secret:variables/batch_size"),
            ("one field of a JSON secret", "secret:connections/warehouse#password"),
            ("a store by kind, a path in it", "local://SNOWFLAKE/TRANSFORM/USER"),
            ("a pinned older version", "local://connections/warehouse?version=1#password"),
            ("an env var, by its own name", "env://AIRFLOW_CONN_LEGACY_PG"),
            ("a name found further down the chain", "secret:connections/LEGACY_PG"),
            ("a routed name (team/ -> team-vault)", "secret:team/webhook#url"),
            ("a store by configured name", "team-vault://team/api_token"),
            ("a literal, passed through", "plain-literal-value"),
        ]
        with Resolver.from_config() as resolver:
            results = resolver.get_many([ref for _, ref in refs])
            rows = [describe(label, ref, results[ref]) for label, ref in refs]
            table(("what", "reference", "store", "physical name", "version", "value"), rows)

            say("4. Load a whole namespace as dotted keys (what a Dagster resource does)")
            loaded = resolver.load(Selection(prefix="SNOWFLAKE/"))
            table(
                ("key", "store", "value"), [(k, s.store or "", show(s)) for k, s in loaded.items()]
            )

            say("5. Airflow-compatible connections (fields may be references themselves)")
            for ref in ("secret:connections/warehouse", "secret:connections/LEGACY_PG"):
                c = resolver.connection(ref)
                print(
                    f"   {ref:32} -> {c.conn_type}://{c.login}:**********@{c.host}"
                    f"{':' + str(c.port) if c.port else ''}{'/' + c.schema if c.schema else ''}"
                )

        say("6. Where does a name resolve? (never the value)")
        run_cli("resolve", "connections/warehouse#password")
        run_cli("ls", "connections/")
        run_cli("doctor")

        say("7. An Airflow task resolves connections through secretbridge's backend")
        airflow_task(home)
        print("\nDone. The temporary home is removed; nothing was written anywhere else.")


AIRFLOW_DAG = """\
from datetime import datetime

from airflow.sdk import Connection, dag, task


@dag(dag_id="secretbridge_demo", schedule=None, start_date=datetime(2026, 1, 1))
def secretbridge_demo():
    @task
    def connect():
        for conn_id in ("warehouse", "reporting"):
            c = Connection.get(conn_id)
            # `airflow dags test` masks nothing, so the task shows only the password's length.
            hidden = f"<{len(c.password)} characters>"
            print(f"DEMO {conn_id:9} -> {c.conn_type}://{c.login}:{hidden}@{c.host}")

    connect()


secretbridge_demo()
"""


def airflow_task(home: Path) -> None:
    """A throw-away Airflow home (SQLite): the backend configured by environment, a
    connection in Airflow's own database whose password is a reference, and one task run
    with ``airflow dags test``."""
    airflow = Path(sys.executable).with_name("airflow")
    if not airflow.exists():
        print("   (Airflow is not installed here: pip install 'secretbridge[airflow]')")
        return
    (home / "dags").mkdir()
    (home / "dags" / "secretbridge_demo.py").write_text(AIRFLOW_DAG)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")},
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__SECRETS__BACKEND": "secretbridge.airflow.SecretsBackend",  # $SECRETBRIDGE_CONFIG
    }
    steps = [
        ("db", "migrate"),
        ("connections", "add", "reporting", "--conn-type", "generic", "--conn-host",
         "reports.internal", "--conn-login", "reporter", "--conn-password",
         "secret:connections/warehouse#password"),
        ("dags", "test", "secretbridge_demo"),
    ]  # fmt: skip
    for args in steps:
        print(f"   $ airflow {' '.join(args)}")
        done = subprocess.run(
            [str(airflow), *args], env=env, capture_output=True, text=True, check=False,
            timeout=300, start_new_session=True,
        )  # fmt: skip
        if done.returncode != 0:
            print(textwrap.indent((done.stdout + done.stderr)[-3000:], "     "))
            sys.exit(f"demo step failed: airflow {' '.join(args)} exited {done.returncode}")
    for line in done.stdout.splitlines():
        if line.startswith("DEMO "):
            print(f"     {line[5:]}")


def describe(label: str, ref: str, secret: object) -> tuple[str, ...]:
    assert isinstance(secret, Secret)
    return (
        label,
        ref,
        secret.store or "(literal)",
        secret.name or "",
        secret.version or "",
        show(secret),
    )


def show(secret: Secret) -> str:
    return f"{secret} ({len(secret.reveal_bytes())} bytes)"


def run_cli(*args: str, stdin: str | None = None) -> None:
    exe = shutil.which("secretbridge", path=str(Path(sys.executable).parent)) or "secretbridge"
    print(f"   $ secretbridge {' '.join(args)}" + ("   < stdin" if stdin is not None else ""))
    done = subprocess.run(
        [exe, *args], input=(stdin or "").encode(), capture_output=True, check=False, timeout=60
    )
    output = (done.stdout + done.stderr).decode().rstrip()
    if output:
        print(textwrap.indent(output, "     "))
    if done.returncode != 0:
        sys.exit(f"demo step failed: secretbridge {' '.join(args)} exited {done.returncode}")


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for n, row in enumerate([header, *rows]):
        print("   " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            print("   " + "  ".join("-" * w for w in widths))


def say(title: str) -> None:
    print(f"\n== {title}")


if __name__ == "__main__":
    main()
