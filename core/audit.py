"""The audit seam: one event per resolution or write (who, which name, which store, which
version, when; never the value), and the JSON-lines file sink that ``[audit] path`` sets.

The audit fails closed. The file is opened when the resolver is built, so a path that
cannot be appended to (a missing folder, a directory) is a ConfigError naming it before
any call. A record that cannot be written later raises AuditError and the call is
refused: a read returns no value. A write checks that the file can still be appended to
before the store is touched; should the record still fail after the store committed the
write, the AuditError says that the write was committed, and where.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from .config import Config
from .errors import AuditError, ConfigError, SecretBridgeError, SecretNotFound
from .values import Secret


@dataclass(frozen=True)
class AuditEvent:
    """One resolution, as the audit log keeps it: who, what, where, never the value."""

    at: float
    principal: str | None
    action: str  # read, write, delete
    ref: str
    store: str | None
    name: str | None
    version: str | None
    outcome: str  # ok, cached, stale, not_found, denied, error


class AuditSink(Protocol):
    """Receives every event. ``record`` raises (AuditError) when it cannot keep one: the
    resolver then refuses the call. A sink may also define ``check()``, raising when a
    record could not be kept right now; the resolver calls it before each store write."""

    def record(self, event: AuditEvent) -> None: ...


class JsonLinesAudit:
    """Appends one JSON object per event to a file created private (0600). The file is
    opened per record, so a rotated (moved) log is simply created again."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise AuditError unless the file can be appended to now."""
        self._append(b"")

    def record(self, event: AuditEvent) -> None:
        self._append(json.dumps(asdict(event), separators=(",", ":")).encode() + b"\n")

    def _append(self, data: bytes) -> None:
        with self._lock:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
            except OSError as error:
                reason = error.strerror
            else:
                return
        # Raised outside the except block: nothing to chain, and nothing of value to chain.
        raise AuditError(f"cannot append to the audit log {self.path}: {reason}")


class AuditTrail:
    """The resolver's side of the audit: events made from outcomes, sent to the sink if
    there is one."""

    def __init__(self, sink: AuditSink | None) -> None:
        self.sink = sink

    def check(self) -> None:
        """Before a store write: raise if the sink could not take a record now."""
        check = getattr(self.sink, "check", None)  # optional for a sink
        if check is not None:
            check()

    def event(
        self,
        principal: str | None,
        action: str,
        ref: str,
        store: str | None,
        name: str | None,
        version: str | None,
        outcome: str,
    ) -> None:
        if self.sink is not None:
            event = AuditEvent(time.time(), principal, action, ref, store, name, version, outcome)
            self.sink.record(event)

    def read(
        self, principal: str | None, key: str, outcome: Secret | SecretBridgeError, ok: str
    ) -> None:
        """A read's outcome: ``ok`` (ok, cached, stale) for a value, else not_found or
        error. Literals are not secrets from a store: not recorded."""
        if self.sink is None:
            return
        if isinstance(outcome, Secret):
            if outcome.store is not None:
                self.event(principal, "read", key, outcome.store, outcome.name, outcome.version, ok)
        else:
            result = "not_found" if isinstance(outcome, SecretNotFound) else "error"
            self.event(principal, "read", key, outcome.store, None, None, result)


def audit_from_config(config: Config) -> JsonLinesAudit | None:
    """The ``[audit]`` sink, checked now: ConfigError naming the file and the path if it
    cannot be appended to."""
    if config.audit is None:
        return None
    sink = JsonLinesAudit(config.base_dir / Path(config.audit.path).expanduser())
    try:
        sink.check()
    except AuditError as error:
        where = f"{config.source}: " if config.source else ""
        message = f"{where}audit.path: {error.message}"
    else:
        return sink
    raise ConfigError(message)
