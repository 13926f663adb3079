"""``python -m dev_env up`` as a developer runs it: every server starts on 127.0.0.1,
demo secrets are seeded, the written config resolves through every store with the
``secretbridge`` command, and Ctrl-C stops everything it started."""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "secretbridge"


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _read_env(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = shlex.split(value)[0] if value else ""
    return env


@pytest.mark.slow
def test_dev_env_up_serves_every_store_and_stops_cleanly(tmp_path: Path) -> None:
    folder = tmp_path / "dev"
    process = subprocess.Popen(
        [sys.executable, "-m", "dev_env", "up", "--dir", str(folder)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stderr],
        daemon=True,  # type: ignore[union-attr]
    ).start()
    try:
        deadline = time.monotonic() + 120
        seen: list[str] = []
        while not any("ready" in line for line in seen):
            assert process.poll() is None, f"dev_env exited: {''.join(seen)}"
            try:
                seen.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
            except queue.Empty:
                pytest.fail(f"dev_env was not ready within 120 s: {''.join(seen)}")

        endpoints_text = (folder / "endpoints.json").read_text()
        endpoints = json.loads(endpoints_text)
        assert len(endpoints) == 5, sorted(endpoints)
        ports = {int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", endpoints_text)}
        assert ports and all(_port_open(port) for port in ports)
        assert not re.search(r"0\.0\.0\.0", endpoints_text), "loopback only"

        env = {**os.environ, **_read_env(folder / "env.sh")}
        env.pop("SECRETBRIDGE_HOME", None)
        doctor = subprocess.run(
            [str(SCRIPT), "doctor", "--json"], env=env, capture_output=True, text=True, timeout=120
        )
        report = json.loads(doctor.stdout)
        failing = [s for s in report["stores"] if not s["ok"]]
        assert doctor.returncode == 0 and not failing, failing
        assert len(report["stores"]) >= 7  # two AWS stores, vault, azure, gcp, k8s, local
        for store in report["stores"]:
            if store["kind"] == "local":
                continue
            listed = subprocess.run(
                [str(SCRIPT), "ls", "--store", store["store"], "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert listed.returncode == 0, listed.stderr
            assert json.loads(listed.stdout), f"{store['store']} holds no demo secret"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert code == 0, code
    deadline = time.monotonic() + 10
    while any(_port_open(port) for port in ports) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [port for port in ports if _port_open(port)], "a server outlived dev_env"
