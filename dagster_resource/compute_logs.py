"""A compute log manager that redacts what a step writes to its file descriptors.

:mod:`secretbridge.dagster.redaction` redacts Python-level writes (``print``,
``sys.stdout.write``) and log records, but Dagster's :class:`LocalComputeLogManager`
``dup2``s file descriptors 1 and 2 onto its log files, so whatever is written to the
descriptors themselves (``os.write(1, ...)``, a subprocess, a C extension) lands in the
files as it was. :class:`RedactingComputeLogManager` points the descriptors at pipes
instead; one thread per stream reads its pipe, redacts complete lines with
:func:`redaction.redact` and appends them to the same files (same paths and format, so
the UI, ``capturedLogs`` and the completion marker behave as with the local manager) and
to the original descriptor (the console, as the local manager's ``tail`` does).

Enable it in ``dagster.yaml``::

    compute_logs:
      module: secretbridge.dagster.compute_logs
      class: RedactingComputeLogManager
      config:
        base_dir: /path/to/storage
        drain_timeout: 5   # optional, seconds

A partial line is held until its line break (``\\n`` or ``\\r``), so a value written in
pieces is redacted once its line completes; a line longer than :data:`MAX_HELD` bytes is
redacted in pieces of that size, and a value straddling such a cut is not recognised.

Costs: two threads per capture (one per stream: per step process under the multiprocess
executor, per run in process); output reaches the files and the console line by line
rather than as written; a step writing faster than the threads redact (about 12 MB/s with
100 registered values, measured here) is slowed by the full pipe.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from dagster import Field, Float
from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.local_compute_log_manager import (
    IO_TYPE_EXTENSION,
    LocalComputeLogManager,
)
from dagster._serdes import ConfigurableClassData
from dagster._utils import ensure_file, touch_file

from . import redaction

__all__ = ["MAX_HELD", "RedactingComputeLogManager", "redacted_fds"]

#: A partial line is redacted and written once it grows past this many bytes.
MAX_HELD = 64 * 1024
#: Seconds to wait at the end of a capture for the pipes to drain (see ``redacted_fds``).
DEFAULT_DRAIN_TIMEOUT = 5.0
_CHUNK = 64 * 1024
_LINE_ENDS = (b"\n", b"\r")


class RedactingComputeLogManager(LocalComputeLogManager):
    """:class:`LocalComputeLogManager` whose capture redacts the file descriptors' output:
    the files, their paths and everything that reads them are the local manager's."""

    def __init__(
        self,
        base_dir: str,
        polling_timeout: float | None = None,
        drain_timeout: float | None = None,
        inst_data: ConfigurableClassData | None = None,
    ) -> None:
        super().__init__(base_dir, polling_timeout=polling_timeout, inst_data=inst_data)
        if drain_timeout is None:
            drain_timeout = DEFAULT_DRAIN_TIMEOUT
        if drain_timeout < 0:
            raise ValueError(
                f"compute_logs: RedactingComputeLogManager drain_timeout must be >= 0 seconds,"
                f" got {drain_timeout}"
            )
        self._drain_timeout = float(drain_timeout)

    @property
    def drain_timeout(self) -> float:
        return self._drain_timeout

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {
            **cast("dict[str, Any]", super().config_type()),  # the local manager's: a dict
            "drain_timeout": Field(
                Float,
                is_required=False,
                description="Seconds to wait, after a step, for processes it started that"
                " still hold its stdout/stderr (default 5).",
            ),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> RedactingComputeLogManager:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def capture_logs(self, log_key: Sequence[str]) -> Iterator[CapturedLogContext]:
        paths = {
            fd: self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[io_type])
            for fd, io_type in ((1, ComputeIOType.STDOUT), (2, ComputeIOType.STDERR))
        }
        with redacted_fds(paths, self._drain_timeout):
            yield CapturedLogContext(log_key)
        # As the local manager: the marker tells readers that the capture is over.
        touch_file(self.complete_artifact_path(log_key))


@contextmanager
def redacted_fds(paths: Mapping[int, str], drain_timeout: float) -> Iterator[None]:
    """For the duration, what is written to each file descriptor in ``paths`` is redacted
    and appended to its file and to what the descriptor pointed at before.

    At the end: Python's streams are flushed, the descriptors restored (which drops this
    process's write ends of the pipes), and the reader threads get ``drain_timeout``
    seconds in all to reach the end of their pipes. A process started during the capture
    that is still running holds its copy of a pipe: then the wait ends at the timeout, a
    notice goes to that stream's file and to stderr, and the thread (a daemon) goes on
    redacting that process's output while this process lives. When this process exits
    (a step process under the multiprocess executor), the pipe loses its reader and that
    process's next write to it fails (EPIPE, or SIGPIPE by default): its output is lost,
    never written unredacted. Output still held as a partial line is lost then as well.
    """
    pumps: list[_Pump] = []
    try:
        _flush_python_streams()
        for fd, path in paths.items():
            pumps.append(_Pump(fd, path))
        yield
    finally:
        _flush_python_streams()
        for pump in pumps:
            pump.restore()
        deadline = time.monotonic() + drain_timeout
        for pump in pumps:
            if not pump.drained(deadline):
                pump.notify_held(drain_timeout)


class _Pump:
    """One descriptor pointed at a pipe whose reader thread redacts into a file."""

    def __init__(self, fd: int, path: str) -> None:
        self.fd, self.path = fd, path
        ensure_file(path)
        # Unbuffered: each redacted block reaches the file (and the UI) as it is written.
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by the thread
        self._saved = os.dup(fd)
        self._console = os.dup(fd)
        read, write = os.pipe()
        try:
            os.dup2(write, fd)
        except OSError:
            for end in (read, self._saved, self._console):
                os.close(end)
            self._file.close()
            raise
        finally:
            os.close(write)  # fd is now the only write end this process holds
        self._read = read
        self._thread = threading.Thread(
            target=self._run, name=f"secretbridge-redact-fd{fd}", daemon=True
        )
        self._thread.start()

    def restore(self) -> None:
        os.dup2(self._saved, self.fd)
        os.close(self._saved)

    def drained(self, deadline: float) -> bool:
        self._thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()

    def notify_held(self, waited: float) -> None:
        stream = "stdout" if self.fd == 1 else "stderr" if self.fd == 2 else f"fd {self.fd}"
        notice = (
            f"secretbridge: a process started by this step still holds its {stream} after"
            f" {waited:g} s; its further output is redacted here while the step's process"
            " lives, then dropped.\n"
        ).encode()
        with contextlib.suppress(OSError), open(self.path, "ab") as file:
            file.write(notice)
        with contextlib.suppress(OSError):
            os.write(2, notice)

    def _run(self) -> None:
        held = bytearray()
        try:
            while chunk := os.read(self._read, _CHUNK):
                held += chunk
                cut = max(held.rfind(end) for end in _LINE_ENDS) + 1
                if not cut and len(held) > MAX_HELD:
                    cut = len(held)
                if cut:
                    self._emit(bytes(held[:cut]))
                    del held[:cut]
            if held:
                self._emit(bytes(held))
        finally:
            os.close(self._read)  # a writer still there gets EPIPE, never blocks
            os.close(self._console)
            self._file.close()

    def _emit(self, data: bytes) -> None:
        # surrogateescape: bytes that are not UTF-8 pass through unchanged.
        text = redaction.redact(data.decode("utf-8", "surrogateescape"))
        out = text.encode("utf-8", "surrogateescape")
        _write_all(self._file.fileno(), out)
        with contextlib.suppress(OSError):  # a closed console must not stop the file
            _write_all(self._console, out)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.flush()
