"""The leak checks every test uses: ``assert_no_leak`` (it lives in ``secretbridge.testing``,
which plugin stores' tests use too) for objects, and :func:`holders` for everything an
orchestrator leaves on disk. A planted secret must not show anywhere a value could escape
by accident."""

from __future__ import annotations

import base64
import binascii
import re
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from secretbridge.testing import assert_no_leak

__all__ = ["CANARY", "assert_clean", "assert_no_leak", "holders", "places"]

#: The value tests plant: it must never show in an error, a log line or a repr.
CANARY = "canary-sb-7e41-NEVER-SHOW-THIS"

SQLITE_HEADER = b"SQLite format 3\0"
# Runs that may be base64 (standard or URL-safe): Dagster keeps some state as
# base64(zlib(json)) in text cells, e.g. daemon cursors.
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{16,}={0,2}")
_UNPACK_LIMIT = 64 << 20  # bytes a compressed blob may expand to (a bomb stops here)
_DEPTH = 3  # encodings unwrapped inside each other (base64 of zlib of ...)


def assert_clean(*things: object) -> None:
    """``assert_no_leak`` for the shared :data:`CANARY`."""
    assert_no_leak(CANARY, *things)


def holders(root: Path, *needles: str) -> list[str]:
    """Every place under ``root`` that holds one of ``needles``, sorted: a file whose raw
    bytes do, and each cell (``path: table.column row N``) of every SQLite database
    (found by its header, read with its -wal, read-only) whose text or blob does. Every
    file and cell is also searched after unwrapping zlib/gzip data and base64 runs
    (nested, a few levels deep). A database that cannot be read fails the scan: an
    unread place is not a clean one."""
    return sorted({place for found in places(root, *needles).values() for place in found})


def places(root: Path, *needles: str) -> dict[str, list[str]]:
    """:func:`holders` for each needle, in one pass over ``root``."""
    wanted = [needle.encode() for needle in needles if needle]
    assert wanted, "holders() needs at least one non-empty needle"
    found: dict[bytes, set[str]] = {needle: set() for needle in wanted}
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        for needle in _held(data, wanted):
            found[needle].add(str(path))
        if data.startswith(SQLITE_HEADER):
            for cell, needle in _cells_holding(path, wanted):
                found[needle].add(f"{path}: {cell}")
    return {needle.decode(): sorted(where) for needle, where in found.items()}


def _held(data: bytes, wanted: Sequence[bytes], depth: int = _DEPTH) -> set[bytes]:
    """The needles ``data`` holds."""
    held: set[bytes] = set()
    for view in _views(data, depth):
        held.update(needle for needle in wanted if needle in view)
    return held


def _views(data: bytes, depth: int) -> Iterator[bytes]:
    """``data`` itself, then what its zlib/gzip and base64 wrappings hold."""
    yield data
    if depth == 0:
        return
    unpacked = _unzip(data)
    if unpacked is not None:
        yield from _views(unpacked, depth - 1)
    for run in _BASE64_RUN.findall(data):
        for decoded in _unbase64(run):
            yield from _views(decoded, depth - 1)


def _unzip(data: bytes) -> bytes | None:
    if not data.startswith((b"\x78", b"\x1f\x8b")):  # zlib and gzip headers
        return None
    try:
        inflater = zlib.decompressobj(wbits=47)  # 32 + 15: zlib or gzip, detected
        return inflater.decompress(data, _UNPACK_LIMIT)
    except zlib.error:
        return None


def _unbase64(run: bytes) -> Iterator[bytes]:
    """``run`` decoded from each of the four alignments (a run may start with a prefix
    that is not base64, like the version digit in front of Dagster's cursors)."""
    standard = run.rstrip(b"=").translate(bytes.maketrans(b"-_", b"+/"))
    for start in range(4):
        chunk = standard[start:]
        chunk = chunk[: len(chunk) - len(chunk) % 4]
        if chunk:
            try:
                yield base64.b64decode(chunk, validate=True)
            except binascii.Error:
                continue


def _cells_holding(db: Path, wanted: Sequence[bytes]) -> Iterator[tuple[str, bytes]]:
    """Scan a copy of ``db`` and its -wal (SQLite replays the WAL when the copy opens).
    Opening the original, even read-only, would create -wal/-shm files in the tree."""
    main, wal = _stable_read(db)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / db.name
        copy.write_bytes(main)
        if wal is not None:
            copy.with_name(copy.name + "-wal").write_bytes(wal)
        try:
            conn = sqlite3.connect(copy)
            try:
                yield from _scan_tables(conn, wanted)
            finally:
                conn.close()
        except sqlite3.DatabaseError as error:
            raise AssertionError(f"cannot read the SQLite database {db}: {error}") from error


def _stable_read(db: Path) -> tuple[bytes, bytes | None]:
    """The database and its -wal as read twice alike: a writer still running (``dagster
    dev``'s daemon) cannot hand the scan a torn pair."""
    wal = db.with_name(db.name + "-wal")
    for _ in range(10):
        first = db.read_bytes(), _read_if_there(wal)
        if first == (db.read_bytes(), _read_if_there(wal)):
            return first
        time.sleep(0.2)
    raise AssertionError(f"the SQLite database {db} kept changing while it was read")


def _read_if_there(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _scan_tables(conn: sqlite3.Connection, wanted: Sequence[bytes]) -> Iterator[tuple[str, bytes]]:
    tables = [
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not row[0].startswith("sqlite_")
    ]
    for table in tables:
        quoted = '"' + table.replace('"', '""') + '"'
        cursor = conn.execute(f"SELECT * FROM {quoted}")  # noqa: S608 (names from the db)
        columns = [d[0] for d in cursor.description]
        for number, row in enumerate(cursor, start=1):
            for column, value in zip(columns, row, strict=True):
                if isinstance(value, str):
                    value = value.encode("utf-8", "surrogateescape")
                if isinstance(value, bytes):
                    for needle in _held(value, wanted):
                        yield f"{table}.{column} row {number}", needle
