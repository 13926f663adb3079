"""``leaks.holders``: the scan that proves an orchestrator's home holds no value finds a
planted needle wherever Dagster or Airflow could keep it: a plain file, a SQLite cell, a
zlib blob (Dagster's snapshots), base64 of zlib in a text cell (its cursors), a database
page still in the write-ahead log."""

from __future__ import annotations

import base64
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from leaks import CANARY, holders, places

OTHER = "second-needle-9c2d-SECRET"


@contextmanager
def database(path: Path, *, wal: bool = False) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path)) as conn:
        if wal:
            conn.execute("PRAGMA journal_mode = wal")
            conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute("CREATE TABLE snapshots (id INTEGER PRIMARY KEY, body BLOB, note TEXT)")
        yield conn


def test_a_clean_tree_holds_nothing(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "step.out").write_text("password=***\n")
    with database(tmp_path / "runs.db") as conn:
        conn.execute("INSERT INTO snapshots VALUES (1, ?, 'x')", (zlib.compress(b"{}"),))
        conn.commit()
    assert holders(tmp_path, CANARY, OTHER) == []


def test_a_needle_in_a_plain_file_is_found(tmp_path: Path) -> None:
    (tmp_path / "storage" / "run").mkdir(parents=True)
    (tmp_path / "storage" / "run" / "step.err").write_text(f"connecting with {OTHER}!\n")
    assert holders(tmp_path, CANARY, OTHER) == [str(tmp_path / "storage" / "run" / "step.err")]


def test_a_needle_in_a_sqlite_text_cell_is_named_by_table_column_and_row(
    tmp_path: Path,
) -> None:
    db = tmp_path / "index.db"
    with database(db) as conn:
        conn.execute("INSERT INTO snapshots VALUES (1, NULL, 'clean')")
        conn.execute("INSERT INTO snapshots VALUES (2, NULL, ?)", (f"pw={CANARY};",))
        conn.commit()
    assert f"{db}: snapshots.note row 2" in holders(tmp_path, CANARY)


def test_a_needle_inside_a_zlib_blob_is_found_though_the_raw_bytes_hide_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "runs.db"
    blob = zlib.compress(f'{{"password": "{CANARY}"}}'.encode())
    with database(db) as conn:
        conn.execute("INSERT INTO snapshots VALUES (1, ?, 'x')", (blob,))
        conn.commit()
    assert CANARY.encode() not in db.read_bytes()  # a plain grep misses it
    assert holders(tmp_path, CANARY) == [f"{db}: snapshots.body row 1"]


def test_base64_of_zlib_in_a_text_cell_is_unwrapped(tmp_path: Path) -> None:
    db = tmp_path / "schedules.db"
    cursor = "0" + base64.b64encode(zlib.compress(CANARY.encode())).decode()
    with database(db) as conn:
        conn.execute("INSERT INTO snapshots VALUES (1, NULL, ?)", (cursor,))
        conn.commit()
    assert CANARY.encode() not in db.read_bytes()
    assert f"{db}: snapshots.note row 1" in holders(tmp_path, CANARY)


def test_a_zlib_file_is_unwrapped(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(zlib.compress(OTHER.encode() * 3))
    assert holders(tmp_path, OTHER) == [str(tmp_path / "blob.bin")]


def test_a_row_still_in_the_write_ahead_log_is_read(tmp_path: Path) -> None:
    db = tmp_path / "event_log.db"
    with database(db, wal=True) as conn:
        conn.execute("INSERT INTO snapshots VALUES (1, ?, 'x')", (zlib.compress(CANARY.encode()),))
        conn.commit()
        assert db.with_name("event_log.db-wal").stat().st_size > 0
        # The open connection keeps the row in the WAL: the main file does not have it.
        assert holders(tmp_path, CANARY) == [f"{db}: snapshots.body row 1"]


def test_an_unreadable_database_fails_the_scan(tmp_path: Path) -> None:
    (tmp_path / "broken.db").write_bytes(b"SQLite format 3\0" + b"\xff" * 200)
    with pytest.raises(AssertionError, match=r"broken\.db"):
        holders(tmp_path, CANARY)


def test_places_tells_each_needle_where_it_is(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(f"{CANARY} {OTHER}")
    (tmp_path / "b.log").write_text(OTHER)
    assert places(tmp_path, CANARY, OTHER, "absent-needle") == {
        CANARY: [str(tmp_path / "a.log")],
        OTHER: [str(tmp_path / "a.log"), str(tmp_path / "b.log")],
        "absent-needle": [],
    }


def test_the_scan_leaves_the_tree_as_it_was(tmp_path: Path) -> None:
    with database(tmp_path / "runs.db", wal=True) as conn:  # WAL mode, as Dagster's
        conn.execute("INSERT INTO snapshots VALUES (1, NULL, 'x')")
        conn.commit()
    before = sorted(tmp_path.rglob("*"))
    assert holders(tmp_path, CANARY) == []
    assert sorted(tmp_path.rglob("*")) == before  # no -wal/-shm created by reading
