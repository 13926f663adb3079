"""What every real-Airflow test folder shares (tests/airflow, tests/airflow_ui,
tests/airflow_migrate): a clean environment for the ``airflow`` command, commands and
servers started in their own process group with default signal handling and stopped by
group with bounded waits, a free loopback port, and ``airflow db migrate``."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dev_env.service import default_signals

BIN = Path(sys.executable).parent
AIRFLOW = BIN / "airflow"


def airflow_env(home: Path, dags: Path, **settings: str) -> dict[str, str]:
    """This process's environment without anything that would steer Airflow, secretbridge
    or a test run (AIRFLOW*, _AIRFLOW*, SECRETBRIDGE_*, PYTEST*), for an Airflow at
    ``home`` (SQLite, no examples, parallelism 4) with the venv's commands first on PATH;
    then ``settings``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "_AIRFLOW", "SECRETBRIDGE_", "PYTEST"))
    }
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__PARALLELISM="4",
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.update(settings)
    return env


def start(args: list[str], env: Mapping[str, str], **popen: Any) -> subprocess.Popen[Any]:
    """``args`` started in a new session (its own process group), signals reset."""
    return subprocess.Popen(
        args, env=dict(env), start_new_session=True, preexec_fn=default_signals, **popen
    )


def stop_group(process: subprocess.Popen[Any], term_wait: float = 30) -> None:
    """SIGTERM the process group ``process`` leads, then SIGKILL what is left (workers that
    outlived their parent) after a bounded wait."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=term_wait)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def run(
    args: list[str],
    env: Mapping[str, str],
    *,
    timeout: float = 240,
    cwd: Path | None = None,
    merge_stderr: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command in its own process group; on timeout, the group is killed and the
    test fails with the output's tail. Anything left behind in the group is killed too."""
    process = start(
        args,
        env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate(timeout=30)
        tail = (out + (err or ""))[-4000:]
        raise AssertionError(f"{args[:3]} timed out after {timeout} s:\n{tail}") from None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(args, process.returncode, out, err or "")


def db_migrate(env: Mapping[str, str], *, cwd: Path | None = None) -> None:
    """``airflow db migrate`` (~5 s): once per session; tests copy the result."""
    done = run([str(AIRFLOW), "db", "migrate"], env, timeout=300, cwd=cwd)
    assert done.returncode == 0, done.stdout[-4000:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def local_store_toml(store: Path) -> str:
    """A secretbridge config whose chain is one local store kept in ``store``."""
    return f'[resolver]\nchain = ["local"]\n\n[stores.local]\nkind = "local"\npath = "{store}"\n'
