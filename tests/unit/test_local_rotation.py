"""Key rotation of the ``local`` store while other processes write and read, the key ids
that make it safe, refusing a key set that does not fit the store, a symlinked key file,
and the migration of format-1 files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from leaks import assert_no_leak

from secretbridge import ConfigError, StoreUnavailable
from secretbridge.stores.local import LocalStore

CANARY = "canary-rotation-51e7-NEVER-SHOWN"


def _sql(db: Path, query: str) -> list[Any]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


# ------------------------------------------------------------------ rotation under load

WRITER = textwrap.dedent(
    """
    import os, sys
    from secretbridge import Resolver
    from secretbridge.config import parse_config

    folder, me = sys.argv[1], sys.argv[2]
    settings = {"kind": "local", "path": folder + "/store.db",
                "key_file": folder + "/store.key", "keep_versions": 100000}
    store = Resolver(parse_config({"stores": {"loc": settings}})).store("loc")
    stop = folder + "/stop"
    for i in range(3000):
        if os.path.exists(stop):
            break
        name = f"{me}/n{i % 4}"
        value = f"{me}-{i}-{os.urandom(4).hex()}"
        try:
            version = store.put(name, value)
        except Exception as error:
            print("ERROR", type(error).__name__, error, flush=True)
            continue
        print("ACK", name, version, value, flush=True)  # acknowledged: put() returned
        open(f"{folder}/ready-{me}", "w").close()
    """
)

READER = textwrap.dedent(
    """
    import os, sys
    from secretbridge import Resolver
    from secretbridge.config import parse_config

    folder, count = sys.argv[1], int(sys.argv[2])
    settings = {"kind": "local", "path": folder + "/store.db", "key_file": folder + "/store.key"}
    store = Resolver(parse_config({"stores": {"loc": settings}})).store("loc")
    names = [f"seed/{i}" for i in range(count)]
    stop = folder + "/stop"
    reads = failures = 0
    for i in range(200000):
        if os.path.exists(stop):
            break
        name = names[i % count]
        try:
            if i % 2:
                got = store.get(name).value
            else:
                got = store.get_many([name])[name].value
            if got != "seed-value-" + name:
                raise AssertionError("wrong value")
        except Exception as error:
            failures += 1
            print("FAIL", type(error).__name__, error, flush=True)
        reads += 1
        if reads == 1:
            open(f"{folder}/ready-reader-{os.getpid()}", "w").close()
    print("DONE", reads, failures, flush=True)
    """
)


def _spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(child: subprocess.Popen[str]) -> list[str]:
    try:
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=5)
    assert child.returncode == 0, err
    return out.splitlines()


def test_rotations_during_writes_and_reads_in_other_processes_lose_nothing(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    """3 writer and 2 reader processes run while the key is rotated four times (two of
    them at the same moment): every acknowledged write reads back exactly, no caller
    sees a failure, and the key file ends with the one key the rows use. Failed before
    key ids: writers kept sealing with a key the rotation then dropped."""
    folder = isolated_home
    seeds = 6
    store = make()
    store.init()
    for i in range(seeds):
        store.put(f"seed/{i}", f"seed-value-seed/{i}")
    writers = [_spawn(WRITER, str(folder), f"w{i}") for i in range(3)]
    readers = [_spawn(READER, str(folder), str(seeds)) for _ in range(2)]
    rotated: list[int | BaseException] = []

    def rotate() -> None:
        try:
            rotated.append(make().rotate_key())  # a fresh store each time, as the CLI is
        except BaseException as error:
            rotated.append(error)

    try:
        deadline = time.monotonic() + 30
        while len(list(folder.glob("ready-*"))) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)  # every child has written or read once: rotate under load
        for round_ in range(3):
            pool = [threading.Thread(target=rotate) for _ in range(2 if round_ == 1 else 1)]
            for thread in pool:
                thread.start()
            for thread in pool:
                thread.join(timeout=30)
            time.sleep(0.3)
    finally:
        (folder / "stop").touch()
        outputs = [_finish(child) for child in writers + readers]

    assert all(isinstance(n, int) for n in rotated), rotated
    assert len(rotated) == 4
    acked: list[tuple[str, str, str]] = []
    for line in (line for out in outputs[:3] for line in out):
        assert line.startswith("ACK"), f"a writer's put failed: {line}"
        _, name, version, value = line.split(" ")
        acked.append((name, version, value))
    assert len(acked) > 20, "the writers wrote during the rotations"
    for out in outputs[3:]:
        assert out[-1].startswith("DONE"), out[-5:]
        _, reads, failures = out[-1].split()
        assert int(reads) > 20
        assert int(failures) == 0, out[:5]
    reader = make()
    lost = [(n, v) for n, v, value in acked if reader.get(n, v).value != value]
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged writes unreadable"
    key_ids = {kid for (kid,) in _sql(folder / "store.db", "SELECT DISTINCT key_id FROM secrets")}
    assert len(key_ids) == 1, "every row is sealed by the last rotation's key"
    assert len((folder / "store.key").read_bytes().split()) == 1, "retired keys are dropped"


def test_a_reader_holding_an_old_key_reloads_the_key_file(
    make: Callable[..., LocalStore],
) -> None:
    reader = make()
    writer = make()
    writer.put("db", CANARY)
    assert reader.get("db").value == CANARY  # the reader now holds the first key
    make().rotate_key()
    make().rotate_key()  # the reader's key is gone from the file
    assert reader.get("db").value == CANARY
    assert reader.get_many(["db"])["db"].value == CANARY  # type: ignore[union-attr]
    writer.put("db", "second")  # the writer's cached key is stale: it reloads and seals anew
    assert make().get("db").value == "second"


def test_each_row_records_the_key_that_sealed_it(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    store = make()
    store.put("a", CANARY)
    db = isolated_home / "store.db"
    key_file = isolated_home / "store.key"
    keys = key_file.read_text()
    ((first,),) = _sql(db, "SELECT key_id FROM secrets")
    assert _sql(db, "SELECT value FROM meta WHERE key = 'primary_key'") == [(first,)]
    store.rotate_key()
    keys += key_file.read_text()
    ((second,),) = _sql(db, "SELECT key_id FROM secrets")
    assert second != first
    assert _sql(db, "SELECT value FROM meta WHERE key = 'primary_key'") == [(second,)]
    # A key id, kept in the clear beside the rows, names its key without showing any of it.
    assert first not in keys and second not in keys


# ------------------------------------------------------------------ keys that do not fit


def test_a_write_under_a_wrong_key_is_refused(
    make: Callable[..., LocalStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failed before: the write was accepted, and nobody with the store's key could read it."""
    make().put("db", "right")
    wrong = Fernet.generate_key().decode()
    monkeypatch.setenv("SECRETBRIDGE_KEY", wrong)
    with pytest.raises(ConfigError, match="SECRETBRIDGE_KEY") as info:
        make().put("db", CANARY)
    assert_no_leak((CANARY, wrong), info.value)
    with pytest.raises(ConfigError, match="SECRETBRIDGE_KEY"):
        make().put("new-name", CANARY)
    monkeypatch.delenv("SECRETBRIDGE_KEY")
    assert make().versions("db") == ["1"]
    assert make().list_names() == ["db"]


def test_a_second_rotation_after_a_lost_key_is_a_one_line_error(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    """The key file lost the key that sealed the rows: rotating again must say so, not
    crash with InvalidToken, and must leave the key file as it was."""
    make().put("db", CANARY)
    key_file = isolated_home / "store.key"
    key_file.write_bytes(Fernet.generate_key() + b"\n")
    before = key_file.read_bytes()
    with pytest.raises(ConfigError, match="key file") as info:
        make().rotate_key()
    assert "\n" not in str(info.value)
    assert_no_leak((CANARY, before.decode().strip()), info.value)
    assert key_file.read_bytes() == before


def test_health_opens_one_row_per_key_generation(
    make: Callable[..., LocalStore], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migrated store holds rows under two keys; a key set with only the newer one
    serves the newer rows, and ``health`` (doctor) must still fail. Failed before:
    health opened one row only."""
    old, new = Fernet.generate_key(), Fernet.generate_key()
    db = isolated_home / "store.db"
    _format_1(db, [("old/a", 1, old, "va"), ("new/b", 1, new, "vb"), ("new/c", 1, new, "vc")])
    monkeypatch.setenv("SECRETBRIDGE_KEY", f"{new.decode()},{old.decode()}")
    make().health()
    monkeypatch.setenv("SECRETBRIDGE_KEY", new.decode())
    store = make()
    assert store.get("new/b").value == "vb"
    with pytest.raises(StoreUnavailable, match="none of the store's keys fits"):
        store.health()


# ------------------------------------------------------------------ a symlinked key file


def test_rotation_writes_through_a_symlinked_key_file(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    """Failed before: the link was replaced by a regular file; the target kept the old key."""
    secrets = isolated_home.parent / "secrets"
    secrets.mkdir(mode=0o700)
    target = secrets / "local.key"
    target.write_bytes(Fernet.generate_key() + b"\n")
    target.chmod(0o600)
    link = isolated_home / "store.key"
    link.parent.mkdir(mode=0o700)
    link.symlink_to(target)
    old = target.read_bytes()
    make().put("db", CANARY)
    make().rotate_key()
    assert link.is_symlink() and link.resolve() == target
    assert target.read_bytes() != old
    assert (target.stat().st_mode & 0o777) == 0o600
    assert sorted(p.name for p in secrets.iterdir()) == ["local.key"], "no temp file left"
    assert make().get("db").value == CANARY


# ------------------------------------------------------------------ format 1 -> 2


def _format_1(db: Path, rows: list[tuple[str, int, bytes, str]]) -> None:
    """A store file as format 1 wrote it: no key ids, no version high-water marks."""
    db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "CREATE TABLE secrets (name TEXT NOT NULL, version INTEGER NOT NULL, "
            "token BLOB NOT NULL, created REAL NOT NULL, PRIMARY KEY (name, version)) "
            "WITHOUT ROWID"
        )
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('format', '1')")
        for name, version, key, value in rows:
            token = Fernet(key).encrypt(b"t" + f"{name}\0{version}\0".encode() + value.encode())
            conn.execute("INSERT INTO secrets VALUES (?, ?, ?, 0)", (name, version, token))
    conn.close()


def test_a_format_1_store_is_migrated_in_place(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    key = Fernet.generate_key()
    folder = isolated_home
    db = folder / "store.db"
    _format_1(db, [("db", 1, key, "one"), ("db", 2, key, CANARY), ("other", 4, key, "four")])
    (folder / "store.key").write_bytes(key + b"\n")
    (folder / "store.key").chmod(0o600)

    store = make()
    assert store.get("db").value == CANARY
    assert _sql(db, "SELECT value FROM meta WHERE key = 'format'") == [("2",)]
    key_ids = _sql(db, "SELECT DISTINCT key_id FROM secrets")
    assert len(key_ids) == 1 and key_ids[0][0]
    assert store.get("db", "1").value == "one"
    store.delete("other")
    assert store.put("other", "five") == "5", "versions continue after the migration"
    assert store.put("db", "three") == "3"
    assert store.rotate_key() == 4
    assert make().get("db", "2").value == CANARY


def test_a_format_1_store_is_not_migrated_under_a_wrong_key(
    make: Callable[..., LocalStore], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = isolated_home / "store.db"
    _format_1(db, [("db", 1, Fernet.generate_key(), CANARY)])
    monkeypatch.setenv("SECRETBRIDGE_KEY", Fernet.generate_key().decode())
    with pytest.raises(StoreUnavailable, match="none of the store's keys") as info:
        make().get("db")
    assert_no_leak(CANARY, info.value)
    assert _sql(db, "SELECT value FROM meta WHERE key = 'format'") == [("1",)]


def test_a_rotation_that_fails_midway_leaves_every_needed_key(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    """A row that does not open stops the rotation after the new key was written to the
    key file: the transaction rolls back, the old key stays, every good row still reads."""
    store = make()
    store.put("good", CANARY)
    store.put("tampered", "x")
    db = isolated_home / "store.db"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE secrets SET token = ? WHERE name = 'tampered'", (b"garbage",))
    conn.close()
    with pytest.raises(StoreUnavailable, match="integrity check failed"):
        make().rotate_key()
    assert len((isolated_home / "store.key").read_bytes().split()) == 2
    assert make().get("good").value == CANARY
    store.put("good", "after")
    assert make().get("good").value == "after"
