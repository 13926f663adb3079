"""RedactingComputeLogManager: what a step writes to its file descriptors reaches the
compute-log files redacted (real Dagster, ``dagster asset materialize``, multiprocess
executor), where LocalComputeLogManager writes it as it was; and the pipe-and-thread part
on its own, without Dagster."""

from __future__ import annotations

import array
import fcntl
import os
import subprocess
import termios
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster_kit
import pytest
from dagster import DagsterInstance
from dagster_kit import dagster_env
from leaks import CANARY, holders
from resolvers import local_store_toml

from secretbridge import Resolver
from secretbridge.dagster import redaction
from secretbridge.dagster.compute_logs import MAX_HELD, RedactingComputeLogManager, redacted_fds

REDACTING = """\
compute_logs:
  module: secretbridge.dagster.compute_logs
  class: RedactingComputeLogManager
  config:
    base_dir: {storage}
    drain_timeout: 1
"""
#: Every line of clm_assets.fd_writes, as the redacting manager must leave it.
FD_WRITES_OUT = [
    "fd1 before *** after fd1",
    "split *** rest of split",
    "echo says *** to stdout",
    "print says *** on stdout",
    "unterminated ***",
]
FD_WRITES_ERR = [
    "fd2 before *** after fd2",
    "sh says *** to stderr",
    "print says *** on stderr",
]


# -- a real Dagster -------------------------------------------------------------------


@dataclass
class Materialized:
    home: Path  # DAGSTER_HOME
    output: str  # the command's stdout and stderr: the console

    def compute_logs(self, marker: str) -> tuple[str, str, Path]:
        """The .out and .err text of the one step whose .out holds ``marker``, and the
        base path (without extension) of its files."""
        found = [
            out
            for out in (self.home / "storage").rglob("compute_logs/*.out")
            if marker in out.read_text(errors="replace")
        ]
        assert len(found) == 1, (found, self.output[-3000:])
        base = found[0].with_suffix("")
        return found[0].read_text(), base.with_suffix(".err").read_text(), base


def materialize(root: Path, select: str, dagster_yaml: str) -> Materialized:
    """``dagster asset materialize`` of ``clm_assets`` in a fresh DAGSTER_HOME under
    ``root``, its secretbridge store being ``root``'s; fails on a non-zero exit."""
    home = root / f"dagster-{select.replace(',', '-')}"
    env = dagster_env(
        home,
        root / "secretbridge.toml",
        root / "sbhome",
        dagster_yaml=dagster_yaml.format(storage=home / "storage"),
    )
    done = dagster_kit.materialize("clm_assets", select, env, timeout=90)
    assert done.returncode == 0, done.stdout[-4000:]
    return Materialized(home, done.stdout)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A secretbridge config and local store holding the canary at ``clm/canary``."""
    root = tmp_path_factory.mktemp("clm")
    config = root / "secretbridge.toml"
    config.write_text(local_store_toml(root / "store.db"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SECRETBRIDGE_HOME", str(root / "sbhome"))
        with Resolver.from_config(config) as resolver:
            resolver.put("clm/canary", CANARY)
    return root


@pytest.fixture(scope="module")
def redacted(store: Path) -> Materialized:
    """One run of both assets (one step process each) with the redacting manager."""
    return materialize(store, "fd_writes,straggler", REDACTING)


@pytest.mark.slow
def test_fd_level_output_is_redacted_in_the_compute_logs(redacted: Materialized) -> None:
    out, err, base = redacted.compute_logs("fd1 before")
    for line in FD_WRITES_OUT:
        assert line in out, out
    for line in FD_WRITES_ERR:
        assert line in err, err
    # Dagster reads them back as it does the local manager's (``capturedLogs`` in the UI
    # calls get_log_data), and finds the capture finished.
    with DagsterInstance.from_config(str(redacted.home)) as instance:
        manager = instance.compute_log_manager
        assert isinstance(manager, RedactingComputeLogManager)
        log_key = [base.parent.parent.name, "compute_logs", base.name]
        data = manager.get_log_data(log_key)
        assert manager.is_capture_complete(log_key)
    assert data.stdout is not None
    assert data.stdout.decode() == out
    # The console got the same redacted lines (the step's fd 1 is the command's stdout).
    assert "fd1 before *** after fd1" in redacted.output
    assert CANARY not in redacted.output
    assert holders(redacted.home, CANARY) == []


@pytest.mark.slow
def test_a_process_left_holding_stdout_does_not_hang_the_run(redacted: Materialized) -> None:
    # The straggler sleeps 600 s holding the pipes: the run returned within the command's
    # 90 s timeout (an unbounded wait fails there), after drain_timeout, with a notice.
    out, err, base = redacted.compute_logs("straggler started")
    notice = "secretbridge: a process started by this step still holds its {} after 1 s"
    assert notice.format("stdout") in out
    assert notice.format("stderr") in err
    assert base.with_suffix(".complete").exists()
    assert CANARY not in out + err


@pytest.mark.slow
def test_the_local_manager_leaves_fd_level_output_in_the_clear(store: Path) -> None:
    """The hole the redacting manager closes (and proof that the checks above can fail)."""
    local = materialize(store, "fd_writes", "")
    out, err, _ = local.compute_logs("fd1 before")
    for line in ("fd1 before {} after fd1", "echo says {} to stdout"):
        assert line.format(CANARY) in out
    for line in ("fd2 before {} after fd2", "sh says {} to stderr"):
        assert line.format(CANARY) in err
    # print goes through the resource's sys.stdout/sys.stderr wrappers, which redact.
    assert "print says *** on stdout" in out
    assert "print says *** on stderr" in err
    assert holders(local.home, CANARY)


def test_the_manager_refuses_a_negative_drain_timeout(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="drain_timeout must be >= 0 seconds, got -1"):
        RedactingComputeLogManager.from_config_value(
            None, {"base_dir": str(tmp_path), "drain_timeout": -1.0}
        )


# -- the pipes and threads, without Dagster -------------------------------------------

SECRET = "pipe-secret-4c2d-value"


@dataclass
class Capture:
    fd: int  # the descriptor captured, opened on `console` before the capture
    file: Path  # where redacted_fds writes
    console: Path  # what fd pointed at before: the mirror


@pytest.fixture
def capture(tmp_path: Path) -> Iterator[Capture]:
    """A spare descriptor on a file standing in for the console (so that pytest's own
    capture of fds 1 and 2 is left alone), and a registered secret."""
    redaction.register(SECRET)
    console = tmp_path / "console"
    fd = os.open(console, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        yield Capture(fd, tmp_path / "log" / "step.out", console)
    finally:
        os.close(fd)


def test_lines_are_redacted_whole_and_mirrored(capture: Capture) -> None:
    secret = SECRET.encode()
    with redacted_fds({capture.fd: str(capture.file)}, drain_timeout=10):
        os.write(capture.fd, b"one " + secret + b" two\n")
        os.write(capture.fd, b"split " + secret[:4])  # no line break between the pieces
        assert _eventually(lambda: _unread(capture.fd) == 0)  # the thread has the piece
        os.write(capture.fd, secret[4:] + b" joined\n")
        os.write(capture.fd, b"progress " + secret + b"\r")
        os.write(capture.fd, b"not utf-8 \xff\xfe " + secret + b"\n")
        subprocess.run(["echo", f"child {SECRET}"], stdout=capture.fd, check=True)
        os.write(capture.fd, b"last " + secret[:3])
        os.write(capture.fd, secret[3:])  # never terminated: written at the end
    expected = (
        b"one *** two\nsplit *** joined\nprogress ***\rnot utf-8 \xff\xfe ***\nchild ***\nlast ***"
    )
    assert capture.file.read_bytes() == expected
    assert capture.console.read_bytes() == expected


def test_a_line_longer_than_the_bound_is_written_before_it_ends(capture: Capture) -> None:
    secret = SECRET.encode()
    with redacted_fds({capture.fd: str(capture.file)}, drain_timeout=10):
        os.write(capture.fd, b"x" * (MAX_HELD + 10))  # no line break yet
        written = _eventually(lambda: capture.file.stat().st_size > 0)
        os.write(capture.fd, b" " + secret + b"\n")
    assert written
    assert capture.file.read_bytes() == b"x" * (MAX_HELD + 10) + b" ***\n"


def test_a_process_that_keeps_the_pipe_is_not_waited_for(capture: Capture) -> None:
    with redacted_fds({capture.fd: str(capture.file)}, drain_timeout=0.2):
        # Holds the pipe until it is told a line, which it is only after the capture.
        straggler = subprocess.Popen(
            ["sh", "-c", 'read line; echo "late $line"'],
            stdin=subprocess.PIPE,
            stdout=capture.fd,
            text=True,
        )
    try:
        assert "still holds its fd" in capture.file.read_text()
        # The thread still redacts what the straggler writes while this process lives.
        straggler.communicate(f"{SECRET}\n", timeout=30)
    finally:
        if straggler.poll() is None:
            straggler.kill()
            straggler.wait(timeout=30)
    # The straggler is gone: its pipe ends, and so does the thread.
    assert _eventually(lambda: "late ***" in capture.file.read_text())
    assert SECRET not in capture.file.read_text()


def _unread(fd: int) -> int:
    """Bytes in the pipe ``fd`` writes to that its reader has not read yet."""
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]


def _eventually(condition: Callable[[], bool], within: float = 30) -> bool:
    """Whether ``condition`` holds within a generous bound (polled; not a timing test)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
