"""Commands and servers for the tests that run real orchestrators (Airflow, Dagster):
each started in a new session (its own process group) with default signal handling,
stopped by group with bounded waits, and a free loopback port to bind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dev_env.service import default_signals, free_port

__all__ = ["BIN", "clean_env", "default_signals", "free_port", "run", "start", "stop_group"]

#: The venv's bin folder: its ``airflow``, ``dagster`` and ``secretbridge`` commands.
BIN = Path(sys.executable).parent


def clean_env(*drop: str, **settings: str) -> dict[str, str]:
    """This process's environment without anything that would steer secretbridge, a test
    run or the orchestrator (variables starting with SECRETBRIDGE_, PYTEST or any of
    ``drop``), the venv's commands first on PATH; then ``settings``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SECRETBRIDGE_", "PYTEST", *drop))
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
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
