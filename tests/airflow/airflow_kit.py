"""A real Airflow for the backend tests: a temporary AIRFLOW_HOME (SQLite, migrated once
per session), the ``airflow`` command run in its own process group with default signal
handling, and a secretbridge local store the backend reads."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from airflow_env import AIRFLOW, airflow_env, db_migrate
from processes import run, start, stop_group

from secretbridge import Resolver

DAGS = Path(__file__).parent / "dags"
BACKEND = "secretbridge.airflow.SecretsBackend"
ENV_BACKEND = "airflow.secrets.environment_variables.EnvironmentVariablesBackend"


def digest(value: str) -> str:
    """What a DAG is told to expect: a value's hash, so the value is in no env or file."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class AirflowHome:
    """One Airflow installation in ``root``: ``home`` (AIRFLOW_HOME), the secretbridge
    config and local store, and the environment the ``airflow`` command runs with."""

    root: Path
    pristine_db: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        return self.root / "airflow"

    @property
    def config(self) -> Path:
        return self.root / "secretbridge.toml"

    @property
    def sb_home(self) -> Path:
        return self.root / "sbhome"

    def env(self, **overrides: str | None) -> dict[str, str]:
        env = airflow_env(
            self.home,
            DAGS,
            AIRFLOW__CORE__FERNET_KEY="vfa1oD4KwTLEzxCtHwKAzjD0UoCV1fY7n0x-b1B-3j4=",
            AIRFLOW__SECRETS__BACKEND=BACKEND,
            AIRFLOW__SECRETS__BACKEND_KWARG__CONFIG=str(self.config),
            SECRETBRIDGE_HOME=str(self.sb_home),
            **self.extra_env,
        )
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def airflow(
        self, *args: str, timeout: float = 240, **env: str | None
    ) -> subprocess.CompletedProcess[str]:
        return run([str(AIRFLOW), *args], self.env(**env), timeout=timeout, cwd=self.root)

    def resolver(self) -> Resolver:
        old = os.environ.get("SECRETBRIDGE_HOME")
        os.environ["SECRETBRIDGE_HOME"] = str(self.sb_home)
        try:
            return Resolver.from_config(self.config)
        finally:
            if old is None:
                os.environ.pop("SECRETBRIDGE_HOME", None)
            else:
                os.environ["SECRETBRIDGE_HOME"] = old

    def put(self, values: Mapping[str, str | dict[str, object]]) -> None:
        with self.resolver() as resolver:
            for name, value in values.items():
                resolver.put(name, value if isinstance(value, str) else json.dumps(value))

    def migrate(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        db_migrate(self.env(), cwd=self.root)
        self.pristine_db = self.root / "pristine.db"
        shutil.copy(self.home / "airflow.db", self.pristine_db)

    def clone(self, root: Path) -> AirflowHome:
        """A fresh installation with this one's migrated (empty) database."""
        assert self.pristine_db is not None
        other = AirflowHome(root, self.pristine_db, dict(self.extra_env))
        other.home.mkdir(parents=True)
        shutil.copy(self.pristine_db, other.home / "airflow.db")
        return other


class Servers:
    """Airflow's long-running processes, each in its own process group with its output in
    ``logs/NAME.out``; stopped by group (SIGTERM, then SIGKILL after a bounded wait)."""

    def __init__(self, airflow_home: AirflowHome, env: Mapping[str, str]) -> None:
        self.home = airflow_home
        self.env = dict(env)
        self.logs = airflow_home.root / "server-logs"
        self.logs.mkdir(exist_ok=True)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> None:
        with (self.logs / f"{name}.out").open("wb") as out:
            self.processes[name] = start(
                [str(AIRFLOW), *args],
                self.env,
                cwd=self.home.root,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def check_running(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.logs / f"{name}.out").read_text(errors="replace")[-3000:]
                raise AssertionError(f"airflow {name} exited with {process.returncode}:\n{tail}")

    def stop(self) -> None:
        for process in self.processes.values():  # all at once: they stop in parallel
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            stop_group(process, term_wait=20)


# Each value is distinct, so a leak names which one escaped.
VALUES = {
    "password": "canary-af-pw-91c2",
    "login": "canary-af-login-5d70",
    "db_login": "canary-af-dblogin-4e1b",
    "token": "canary-af-token-2be8",
    "uri_password": "canary-af-uri-7f13",
    "variable": "canary-af-var-c4a9",
    "config": "canary-af-cfg-0e65",
}
DECOY_PASSWORD = "decoy-af-pw-3388"  # a metastore connection a failed lookup must not reach

SECRETS: dict[str, str | dict[str, object]] = {
    "db/warehouse": {
        "password": VALUES["password"],
        "login": VALUES["login"],
        "db_login": VALUES["db_login"],
        "token": VALUES["token"],
    },
    "connections/sb_json": {
        "conn_type": "postgres",
        "host": "warehouse.internal",
        "port": 5432,
        "login": "secret:db/warehouse#login",
        "password": "secret:db/warehouse#password",
        "extra": {"token": "secret:db/warehouse#token", "sslmode": "require"},
    },
    "connections/sb_uri": f"postgres://rep:{VALUES['uri_password']}@reports.internal:5432/reports",
    "connections/sb_outage": {
        "conn_type": "generic",
        "host": "real.internal",
        "password": "secret:db/warehouse#password",
    },
    "variables/sb_var": VALUES["variable"],
    "config/atlas/password": VALUES["config"],
}

#: What the demo DAG's tasks must receive (label -> sha256), given to them as SB_EXPECT.
EXPECT = {
    "json.password": digest(VALUES["password"]),
    "json.login": digest(VALUES["login"]),
    "json.extra.token": digest(VALUES["token"]),
    "uri.password": digest(VALUES["uri_password"]),
    "db.password": digest(VALUES["password"]),
    "variable": digest(VALUES["variable"]),
    "config": digest(VALUES["config"]),
}

CONFIG = """\
[resolver]
chain = ["local"]

[stores.local]
kind = "local"
"""
