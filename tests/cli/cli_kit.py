"""The installed ``secretbridge`` command, run as a user runs it: in a subprocess, with
its own home (the ``cli`` fixture in conftest.py gives one on the test's home)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CANARY = "canary-cli-4b1d-do-not-leak"
SCRIPT = shutil.which("secretbridge", path=str(Path(sys.executable).parent))


class CLI:
    """Runs the script with ``SECRETBRIDGE_HOME`` set to ``home`` (and no other
    ``SECRETBRIDGE_*`` variable but ``SECRETBRIDGE_CONFIG``, when ``config`` is given), in
    ``cwd``; each call checks the exit code (``code``, 0 unless told)."""

    def __init__(self, home: Path, config: Path | None = None, *, cwd: Path | None = None) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SECRETBRIDGE_")}
        self.env["SECRETBRIDGE_HOME"] = str(home)
        if config is not None:
            self.env["SECRETBRIDGE_CONFIG"] = str(config)
        self.cwd = cwd
        self.outputs: list[str] = []

    def __call__(
        self, *args: str, stdin: bytes | None = None, code: int = 0
    ) -> subprocess.CompletedProcess[bytes]:
        assert SCRIPT is not None, "the secretbridge script is installed beside python"
        done = subprocess.run(
            [SCRIPT, *args],
            input=stdin if stdin is not None else b"",
            capture_output=True,
            env=self.env,
            cwd=self.cwd,
            timeout=60,
            check=False,
        )
        self.outputs.append(done.stdout.decode(errors="replace") + done.stderr.decode())
        assert done.returncode == code, (args, done.returncode, done.stderr.decode())
        return done

    def out(self, *args: str, **kwargs: object) -> str:
        return self(*args, **kwargs).stdout.decode()  # type: ignore[arg-type]

    def err(self, *args: str, **kwargs: object) -> str:
        return self(*args, **kwargs).stderr.decode()  # type: ignore[arg-type]
