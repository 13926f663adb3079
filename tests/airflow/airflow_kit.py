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
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from secretbridge import Resolver

AIRFLOW = Path(sys.executable).with_name("airflow")
DAGS = Path(__file__).parent / "dags"
BACKEND = "secretbridge.airflow.SecretsBackend"
ENV_BACKEND = "airflow.secrets.environment_variables.EnvironmentVariablesBackend"


def _reset_signals() -> None:
    # A non-interactive parent may have left SIGINT/SIGTERM ignored; Airflow must stop.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def run(
    args: list[str], env: Mapping[str, str], *, timeout: float = 240, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command in a new session; on timeout its whole process group is killed."""
    process = subprocess.Popen(
        args,
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=_reset_signals,  # only signal calls: safe between fork and exec
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate(timeout=30)
        raise AssertionError(f"{args[:3]} timed out after {timeout} s:\n{out[-4000:]}") from None
    finally:
        with contextlib.suppress(ProcessLookupError):  # anything left behind in its group
            os.killpg(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(args, process.returncode, out, "")


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
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
        env.pop("SECRETBRIDGE_CONFIG", None)
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__FERNET_KEY": "vfa1oD4KwTLEzxCtHwKAzjD0UoCV1fY7n0x-b1B-3j4=",
                "AIRFLOW__SECRETS__BACKEND": BACKEND,
                "AIRFLOW__SECRETS__BACKEND_KWARG__CONFIG": str(self.config),
                "SECRETBRIDGE_HOME": str(self.sb_home),
                "PATH": f"{AIRFLOW.parent}:{env.get('PATH', '')}",
                **self.extra_env,
            }
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
        result = self.airflow("db", "migrate")
        assert result.returncode == 0, result.stdout[-4000:]
        self.pristine_db = self.root / "pristine.db"
        shutil.copy(self.home / "airflow.db", self.pristine_db)

    def clone(self, root: Path) -> AirflowHome:
        """A fresh installation with this one's migrated (empty) database."""
        assert self.pristine_db is not None
        other = AirflowHome(root, self.pristine_db, dict(self.extra_env))
        other.home.mkdir(parents=True)
        shutil.copy(self.pristine_db, other.home / "airflow.db")
        return other


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
            self.processes[name] = subprocess.Popen(
                [str(AIRFLOW), *args],
                env=self.env,
                cwd=self.home.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_reset_signals,  # only signal calls: safe between fork and exec
            )

    def check_running(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.logs / f"{name}.out").read_text(errors="replace")[-3000:]
                raise AssertionError(f"airflow {name} exited with {process.returncode}:\n{tail}")

    def stop(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
            with contextlib.suppress(ProcessLookupError):  # the group, stragglers included
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
