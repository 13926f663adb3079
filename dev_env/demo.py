"""``make demo``: a tour of the resolver on a throw-away home.

Initialises a local encrypted store in a temporary folder, puts a few secrets, then
resolves them by every reference form and prints where each one resolved. Values are
shown redacted, as secretbridge shows them everywhere. Then an Airflow task and Dagster
runs (moto and OpenBao started on 127.0.0.1 for them, and stopped) read the same
connection through the same config file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Mapping
from pathlib import Path

import tomli_w

from secretbridge import Resolver, Secret, Selection

from .aws import MotoServer
from .service import default_signals
from .vault import VaultServer

REPO = Path(__file__).resolve().parent.parent
CHAIN = 'chain = ["local", "env"]'
DAGSTER_MODULE = "dev_env.dagster_demo"  # the code location: a Definitions

CONFIG = """\
[resolver]
chain = ["local", "env"]        # secret:NAME looks here, in this order (step 8 adds more)
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
        airflow_line = airflow_task(home)

        say("8. Dagster assets resolve through secretbridge's resources, per run")
        dagster_lines = dagster_runs(home)
        if airflow_line and dagster_lines:
            say("The same connection, connections/warehouse, in both orchestrators")
            print(f"   {'Airflow task (airflow dags test)':44} {airflow_line}")
            for how, line in dagster_lines.items():
                print(f"   {'Dagster asset (' + how + ')':44} {line}")
            if set(dagster_lines.values()) != {airflow_line}:
                sys.exit("demo failed: Airflow and Dagster resolved different connections")
        print("\nDone. The servers are stopped and the temporary home is removed.")


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
            hidden = f"(password: {len(c.password)} characters)"
            print(f"DEMO {conn_id:9} -> {c.conn_type}://{c.login}@{c.host} {hidden}")

    connect()


secretbridge_demo()
"""


def airflow_task(home: Path) -> str | None:
    """A throw-away Airflow home (SQLite): the backend configured by environment, a
    connection in Airflow's own database whose password is a reference, and one task run
    with ``airflow dags test``. Returns how the task saw ``warehouse``."""
    airflow = Path(sys.executable).with_name("airflow")
    if not airflow.exists():
        print("   (Airflow is not installed here: pip install 'secretbridge[airflow]')")
        return None
    (home / "dags").mkdir()
    (home / "dags" / "secretbridge_demo.py").write_text(AIRFLOW_DAG)
    env = {
        **clean_environment(),
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
    output = ""
    for args in steps:
        output = run_step(f"airflow {' '.join(args)}", [str(airflow), *args], env, timeout=300)
    for line in show_demo_lines(output):
        if line.startswith("warehouse "):
            return line.split("->")[1].split()[0]
    sys.exit("demo failed: the Airflow task did not print the warehouse connection")


def dagster_runs(home: Path) -> dict[str, str]:
    """moto and OpenBao on 127.0.0.1, seeded; the config file gains their stores (Airflow's
    backend would read them too); then the assets of ``dev_env.dagster_demo`` materialized
    by Dagster's command (multiprocess executor, a DAGSTER_HOME in the temporary folder) and
    by ``materialize()``. Returns how each run saw ``warehouse``. Every server is stopped on
    the way out, failed or not."""
    dagster = Path(sys.executable).with_name("dagster")
    if not dagster.exists():
        print("   (Dagster is not installed here: pip install 'secretbridge[dagster]' dagster-aws)")
        return {}
    with contextlib.ExitStack() as servers:
        aws, vault = MotoServer(home / "servers"), VaultServer(home / "servers")
        servers.enter_context(aws)
        servers.enter_context(vault)
        print(f"   moto (Secrets Manager, S3) on {aws.url}, OpenBao on {vault.tls_url}")
        stores: dict[str, object] = {"aws-sm": aws.store_settings("aws-sm")}
        stores.update(vault.store_configs())
        for service in (aws, vault):
            os.environ.update(service.environment())
            service.seed_demo()
        aws.client("secretsmanager").create_secret(
            Name="demo/s3_keys",  # the pair S3Resource gets; moto takes any key
            SecretString=json.dumps(
                {"access_key_id": "AKIADEMOSECRETBRIDGE", "secret_access_key": "demo-s3-key-4711"}
            ),
        )
        config = Path(os.environ["SECRETBRIDGE_CONFIG"])
        text = config.read_text()
        assert CHAIN in text, "the demo config's chain changed: update CHAIN"
        chain = f"chain = {json.dumps(['local', 'env', *stores])}"
        config.write_text(text.replace(CHAIN, chain) + "\n" + tomli_w.dumps({"stores": stores}))
        print(f"   the config file now reads: {chain}")

        dagster_home = home / "dagster"
        dagster_home.mkdir()
        (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {**clean_environment(), "DAGSTER_HOME": str(dagster_home), "DEMO_AWS_URL": aws.url}
        runs = [
            (
                "dagster asset materialize",
                f"dagster asset materialize -m {DAGSTER_MODULE} --select '*'",
                [str(dagster), "asset", "materialize", "-m", DAGSTER_MODULE, "--select", "*"],
                ("",),  # every line
            ),
            (
                "materialize()",
                f"python -m {DAGSTER_MODULE}   # materialize(): the in-process executor",
                [sys.executable, "-m", DAGSTER_MODULE],
                ("warehouse ", "materialize()"),  # the rest reads as above
            ),
        ]
        seen: dict[str, str] = {}
        for how, title, command, only in runs:
            out = home / f"warehouse-{len(seen)}.txt"
            output = run_step(title, command, {**env, "DEMO_OUT": str(out)}, timeout=180)
            show_demo_lines(output, only)
            seen[how] = out.read_text()
    return seen


def clean_environment() -> dict[str, str]:
    """This process's environment without the developer's Airflow or Dagster settings."""
    unwanted = ("AIRFLOW__", "_AIRFLOW", "DAGSTER_")
    return {k: v for k, v in os.environ.items() if not k.startswith(unwanted)}


def run_step(title: str, args: list[str], env: Mapping[str, str], *, timeout: float) -> str:
    """One command in its own process group, output captured (stdout, then stderr: kept
    apart, so that lines of the two streams cannot interleave); on failure or timeout the
    group is killed, the output's tail shown and the demo stops."""
    print(f"   $ {title}")
    process = subprocess.Popen(
        args, env=dict(env), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True, preexec_fn=default_signals,
    )  # fmt: skip
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate(timeout=30)
        process.returncode = -1
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever it left behind
    output = f"{out}\n{err}"
    if process.returncode != 0:
        print(textwrap.indent(output[-3000:], "     "))
        sys.exit(f"demo step failed: {title} exited {process.returncode}")
    return output


def show_demo_lines(output: str, only: tuple[str, ...] = ("",)) -> list[str]:
    """Print (and return) the ``DEMO`` lines a task or asset printed that contain one of
    ``only``, each once (Dagster's console repeats what is logged)."""
    seen: list[str] = []
    for line in output.splitlines():
        _, found, text = line.partition("DEMO ")
        if found and text not in seen and any(part in text for part in only):
            seen.append(text)
            print(f"     {text}")
    return seen


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
