"""What the ``secretbridge airflow migrate`` tests share (a module of its own: test modules
import it, never ``conftest``): the canaries planted in Airflow's DB, a direct reader of
that DB, and one test's setup."""

from __future__ import annotations

import configparser
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from airflow_env import AIRFLOW, airflow_env
from cryptography.fernet import Fernet
from processes import BIN
from processes import run as run_in_group
from resolvers import local_store_toml

from secretbridge import Resolver
from secretbridge.stores.local import LocalStore

CANARIES = {
    "pg_password": "canary-pg-5e1f0a-never-print",
    "api_password": "canary-api-77c2d9-never-print",
    "api_token": "canary-token-b40e13-never-print",
    "variable": "canary-var-2d9a61-never-print",
}
CONNECTIONS = {
    # URI form, as most users type it.
    "pg_main": [
        "--conn-uri",
        f"postgres://loader:{CANARIES['pg_password']}@db.internal:5432/warehouse?sslmode=require",
    ],
    # JSON form with a JSON extra: string, number and boolean values.
    "api_json": [
        "--conn-json",
        json.dumps(
            {
                "conn_type": "http",
                "host": "api.internal",
                "login": "svc",
                "password": CANARIES["api_password"],
                "description": "the partner API",
                "extra": {"token": CANARIES["api_token"], "timeout": 30, "verify": True},
            }
        ),
    ],
}
VARIABLES = {"api_key": CANARIES["variable"], "batch_size": "500"}


def migrate_env(home: Path) -> dict[str, str]:
    return airflow_env(
        home,
        home / "dags",
        # airflow.cfg names the template's files by absolute path: each copy uses its own.
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(home / "logs"),
    )


def run(args: list[str], env: dict[str, str], code: int = 0) -> subprocess.CompletedProcess[str]:
    done = run_in_group(args, env, timeout=180, merge_stderr=False)
    assert done.returncode == code, (args[:4], done.returncode, done.stdout, done.stderr)
    return done


class Metastore:
    """Airflow's DB read directly (sqlite + the home's Fernet key): fast, and independent
    of the code under test."""

    def __init__(self, home: Path) -> None:
        self.db = home / "airflow.db"
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(home / "airflow.cfg")
        self.fernet = Fernet(parser["core"]["fernet_key"].encode())

    def _plain(self, value: str | None, encrypted: int) -> str | None:
        if value is None or not encrypted:
            return value
        return self.fernet.decrypt(value.encode()).decode()

    def connections(self) -> dict[str, dict[str, Any]]:
        with sqlite3.connect(self.db) as db:
            rows = db.execute(
                "SELECT conn_id, conn_type, host, login, password, schema, port, extra,"
                " description, is_encrypted, is_extra_encrypted FROM connection"
            ).fetchall()
        out = {}
        for conn_id, conn_type, host, login, pw, schema, port, extra, desc, enc, xenc in rows:
            out[conn_id] = {
                "conn_type": conn_type,
                "host": host,
                "login": login,
                "password": self._plain(pw, enc),
                "schema": schema,
                "port": port,
                "extra": _extra(self._plain(extra, xenc)),
                "description": desc,
            }
        return out

    def set_extra(self, conn_id: str, text: str) -> None:
        """A connection's extra as an older Airflow could leave it: Airflow 3 refuses an
        extra that is not a JSON object, so it is written here, encrypted as Airflow does."""
        with sqlite3.connect(self.db) as db:
            done = db.execute(
                "UPDATE connection SET extra = ?, is_extra_encrypted = 1 WHERE conn_id = ?",
                (self.fernet.encrypt(text.encode()).decode(), conn_id),
            )
            assert done.rowcount == 1, conn_id

    def variables(self) -> dict[str, str | None]:
        with sqlite3.connect(self.db) as db:
            rows = db.execute("SELECT key, val, is_encrypted FROM variable").fetchall()
        return {key: self._plain(val, enc) for key, val, enc in rows}

    def snapshot(self) -> tuple[dict[str, dict[str, Any]], dict[str, str | None]]:
        return self.connections(), self.variables()


def _extra(text: str | None) -> Any:
    """An extra as JSON, or its text if it is none (an older Airflow's)."""
    try:
        return json.loads(text or "null")
    except ValueError:
        return text


class Setup:
    """One test's Airflow home and secretbridge config, and the command."""

    def __init__(self, home: Path, folder: Path) -> None:
        self.home = home
        self.config = folder / "secretbridge.toml"
        self.config.write_text(local_store_toml(folder / "store.db"))
        self.env = migrate_env(home)
        self.env["SECRETBRIDGE_HOME"] = str(folder / "sb-home")
        self.metastore = Metastore(home)
        self.outputs: list[str] = []

    def migrate(self, *args: str, code: int = 0) -> str:
        done = run(
            [str(BIN / "secretbridge"), "--config", str(self.config), "airflow", "migrate", *args],
            self.env,
            code,
        )
        self.outputs.append(done.stdout + done.stderr)
        return done.stdout

    def add_local_store(self, name: str, kind: str = "local") -> None:
        """A local store (or a LocalStore subclass of ``kind``), initialised: reading an
        uninitialised one fails, naming ``secretbridge init``."""
        path = self.config.parent / f"{name}.db"
        self.add_stores(f'\n[stores.{name}]\nkind = "{kind}"\npath = "{path}"\n')
        self.init(name)

    def add_stores(self, toml: str) -> None:
        with self.config.open("a") as config:
            config.write(toml)

    def init(self, name: str) -> None:
        with self.resolver() as resolver:
            store = resolver.store(name)
            assert isinstance(store, LocalStore)
            store.init()

    def resolver(self) -> Resolver:
        """A fresh resolver (no cache shared with an earlier look)."""
        return Resolver.from_config(self.config)

    def airflow(self, *args: str, env: dict[str, str] | None = None) -> str:
        return run([str(AIRFLOW), *args], {**self.env, **(env or {})}).stdout
