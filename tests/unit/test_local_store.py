"""The ``local`` store's own promises: private files, no plaintext on disk, keys from the
environment or a key file, tamper detection, pruning, key rotation, and writes that
either happen whole or not at all (even under SIGKILL or another writer's lock)."""

from __future__ import annotations

import queue
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from leaks import assert_no_leak
from resolvers import Resolvers

from secretbridge import (
    ConfigError,
    InvalidReference,
    InvalidSecretValue,
    Resolver,
    SecretBridgeError,
    SecretNotFound,
    StoreUnavailable,
)
from secretbridge.config import parse_config
from secretbridge.stores.local import LocalStore

CANARY = "canary-local-8d2c-NEVER-ON-DISK"
STORE = "vault-local"  # the name conftest's ``make`` configures


def no_canary(error: BaseException, *secrets: str) -> None:
    """The error (and its chain) shows neither the canary nor any of ``secrets``."""
    assert_no_leak((CANARY, *secrets), error)


def rows(db: Path) -> dict[tuple[str, int], bytes]:
    """Every (name, version) -> token, read straight from the file with sqlite3."""
    conn = sqlite3.connect(db)
    try:
        found = conn.execute("SELECT name, version, token FROM secrets").fetchall()
    finally:
        conn.close()
    return {(name, version): bytes(token) for name, version, token in found}


def raw_files(db: Path) -> dict[str, bytes]:
    files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return {p.name: p.read_bytes() for p in files if p.exists()}


# ------------------------------------------------------------------ files and keys


def test_init_creates_a_private_home_key_file_and_database(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    assert not isolated_home.exists()
    store = make()
    assert store.init().created is True
    assert stat.S_IMODE(isolated_home.stat().st_mode) == 0o700
    key_file = isolated_home / "store.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    Fernet(key_file.read_bytes().strip())  # a valid Fernet key
    assert stat.S_IMODE((isolated_home / "store.db").stat().st_mode) == 0o600
    store.put("a", CANARY)
    for suffix in ("-wal", "-shm"):
        side = isolated_home / f"store.db{suffix}"
        if side.exists():
            assert stat.S_IMODE(side.stat().st_mode) == 0o600, side
    assert store.init().created is False, "a second init says the store already existed"
    assert store.get("a").value == CANARY


def test_the_database_files_never_hold_plaintext(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    store = make()
    store.init()
    values = {
        "connections/warehouse": f'{{"password": "{CANARY}"}}',
        "variables/token": CANARY * 3,
        "binary/blob": b"\xff\x00" + CANARY.encode() + b"\x80",
        "unicode/名前": f"🔑{CANARY}密码",
    }
    for _ in range(3):
        for name, value in values.items():
            store.put(name, value)
    store.delete("variables/token")
    store.put("variables/token", CANARY)
    db = isolated_home / "store.db"

    def check(stage: str) -> None:
        files = raw_files(db)
        blob = b"".join(files.values())
        assert b"connections/warehouse" in blob, f"{stage}: the names are there to be found"
        for name, data in files.items():
            assert CANARY.encode() not in data, f"{stage}: plaintext in {name}"
            assert CANARY.encode("utf-16-le") not in data, f"{stage}: plaintext in {name}"

    check("while open")
    assert "store.db-wal" in raw_files(db), "the WAL was inspected while the store was open"
    store.close()
    check("after close")


def test_secretbridge_key_is_used_instead_of_the_key_file(
    make: Callable[..., LocalStore], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, older = Fernet.generate_key(), Fernet.generate_key()
    monkeypatch.setenv("SECRETBRIDGE_KEY", f" {primary.decode()} , {older.decode()} ")
    store = make()
    store.init()
    assert not (isolated_home / "store.key").exists(), "no key file when the key is given"
    assert "SECRETBRIDGE_KEY" in store.key_source
    store.put("db", CANARY)
    (token,) = rows(isolated_home / "store.db").values()
    assert CANARY.encode() in Fernet(primary).decrypt(token), "the first key encrypts"
    with pytest.raises(InvalidToken):
        Fernet(older).decrypt(token)

    # Any listed key decrypts; a store with the older key only cannot.
    monkeypatch.setenv("SECRETBRIDGE_KEY", f"{older.decode()},{primary.decode()}")
    assert make().get("db").value == CANARY
    monkeypatch.setenv("SECRETBRIDGE_KEY", older.decode())
    with pytest.raises(StoreUnavailable):
        make().get("db")


@pytest.fixture
def wrong_key(make: Callable[..., LocalStore], monkeypatch: pytest.MonkeyPatch) -> str:
    """``db`` and ``other`` written under the key file's key, then ``SECRETBRIDGE_KEY``
    set to another key (returned)."""
    store = make()
    store.init()
    store.put("db", CANARY)
    store.put("other", CANARY)
    wrong = Fernet.generate_key().decode()
    monkeypatch.setenv("SECRETBRIDGE_KEY", wrong)
    return wrong


def test_the_environment_key_wins_over_an_existing_key_file(
    make: Callable[..., LocalStore], wrong_key: str
) -> None:
    with pytest.raises(StoreUnavailable, match="none of the store's keys fits"):
        make().get("db")


def test_a_wrong_key_is_unavailable_saying_no_key_fits(
    make: Callable[..., LocalStore], wrong_key: str, resolvers: Resolvers
) -> None:
    stranger = make()
    with pytest.raises(StoreUnavailable, match="none of the store's keys fits") as info:
        stranger.get("db")
    assert (info.value.ref, info.value.store) == ("db", STORE)
    no_canary(info.value, wrong_key)
    with pytest.raises(StoreUnavailable, match="none of the store's keys fits") as info:
        stranger.health()
    no_canary(info.value, wrong_key)
    batch = stranger.get_many(["db", "other", "missing"])
    assert isinstance(batch["db"], StoreUnavailable)
    assert isinstance(batch["other"], StoreUnavailable)
    assert isinstance(batch["missing"], SecretNotFound)
    resolver = resolvers.resolver({STORE: {"kind": "local"}})
    with pytest.raises(StoreUnavailable) as info:
        resolver.get("secret:db")
    no_canary(info.value, wrong_key)


def test_a_malformed_key_is_a_config_error_that_does_not_echo_it(
    make: Callable[..., LocalStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = "not-a-fernet-key-" + CANARY
    monkeypatch.setenv("SECRETBRIDGE_KEY", bad)
    with pytest.raises(ConfigError, match="not a valid Fernet key") as info:
        make().put("db", "value")
    no_canary(info.value, bad)


# ------------------------------------------------------------------ tampering


def test_swapping_two_names_ciphertexts_is_detected(
    make: Callable[..., LocalStore], isolated_home: Path, resolvers: Resolvers
) -> None:
    store = make()
    store.init()
    store.put("prod/db", f"prod-{CANARY}")
    store.put("dev/db", f"dev-{CANARY}")
    store.close()
    db = isolated_home / "store.db"
    tokens = rows(db)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE secrets SET token = ? WHERE name = ?", (tokens[("dev/db", 1)], "prod/db")
        )
        conn.execute(
            "UPDATE secrets SET token = ? WHERE name = ?", (tokens[("prod/db", 1)], "dev/db")
        )
    conn.close()

    fresh = make()
    for name in ("prod/db", "dev/db"):
        with pytest.raises(StoreUnavailable, match="integrity check failed") as info:
            fresh.get(name)
        assert info.value.ref == name
        no_canary(info.value)
    batch = fresh.get_many(["prod/db", "dev/db"])
    assert all(isinstance(v, StoreUnavailable) for v in batch.values()), batch
    resolver = resolvers.resolver({STORE: {"kind": "local"}})
    with pytest.raises(StoreUnavailable, match="integrity"):
        resolver.get("secret:prod/db")


def test_swapping_two_versions_of_one_name_is_detected(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    """A row moved to another version (an old password put back as the latest) must not
    be served as that version. Fails today: only the name is sealed, not the version."""
    store = make()
    store.init()
    store.put("prod/db", "revoked-password")
    store.put("prod/db", "current-password")
    db = isolated_home / "store.db"
    tokens = rows(db)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE secrets SET token = ? WHERE name = 'prod/db' AND version = 2",
            (tokens[("prod/db", 1)],),
        )
        conn.execute(
            "UPDATE secrets SET token = ? WHERE name = 'prod/db' AND version = 1",
            (tokens[("prod/db", 2)],),
        )
    conn.close()
    served: Any
    try:
        served = make().get("prod/db").value
    except StoreUnavailable as error:
        served = error
    assert isinstance(served, StoreUnavailable), (
        f"version 2 of prod/db was served from version 1's row ({served!r})"
    )


# ------------------------------------------------------------------ versions


def test_keep_versions_prunes_old_versions(make: Callable[..., LocalStore]) -> None:
    store = make(keep_versions=3)
    for i in range(1, 6):
        assert store.put("db", f"v{i}") == str(i)
    store.put("other", "x")
    assert store.versions("db") == ["3", "4", "5"]
    assert store.versions("other") == ["1"]
    for gone in ("1", "2"):
        with pytest.raises(SecretNotFound, match=f"version '{gone}'"):
            store.get("db", gone)
    assert [store.get("db", v).value for v in ("3", "4", "5")] == ["v3", "v4", "v5"]
    assert store.get("db").version == "5"


def test_keep_versions_below_one_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=rf"stores\.{STORE}\.keep_versions"):
        document = {"stores": {STORE: {"kind": "local", "keep_versions": 0}}}
        Resolver(parse_config(document)).store(STORE)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0", InvalidReference),
        ("-1", InvalidReference),
        ("1.0", InvalidReference),
        ("latest", InvalidReference),
        ("²", InvalidReference),  # str.isdigit() is true for superscripts; int() is not
        ("99999999999999999999", SecretNotFound),  # a whole number, just not a version
    ],
)
def test_odd_version_strings_are_refused_or_not_found(
    make: Callable[..., LocalStore], version: str, expected: type[SecretBridgeError]
) -> None:
    store = make()
    store.put("db", CANARY)
    with pytest.raises(expected) as info:
        store.get("db", version)
    assert info.value.store == STORE


# ------------------------------------------------------------------ key rotation


def _assert_rotated(
    before: dict[tuple[str, int], bytes],
    after: dict[tuple[str, int], bytes],
    old: list[bytes],
    new: bytes,
) -> None:
    assert set(after) == set(before), "rotation keeps every row and version"
    for row, token in after.items():
        assert token != before[row], f"{row} was not re-encrypted"
        for key in old:
            with pytest.raises(InvalidToken):
                Fernet(key).decrypt(token)
        Fernet(new).decrypt(token)


def _fill(store: LocalStore) -> dict[str, str | bytes]:
    values: dict[str, str | bytes] = {
        "connections/pg": f"postgres://u:{CANARY}@h/db",
        "variables/blob": b"\xff\x00" + CANARY.encode(),
        "unicode/名前": f"密码{CANARY}",
    }
    for name, value in values.items():
        store.put(name, "older")
        store.put(name, value)
    return values


def test_rotate_key_with_a_key_file(make: Callable[..., LocalStore], isolated_home: Path) -> None:
    store = make()
    store.init()
    values = _fill(store)
    key_file = isolated_home / "store.key"
    old_key = key_file.read_bytes().strip()
    before = rows(isolated_home / "store.db")

    assert store.rotate_key() == len(before) == 6

    new_keys = key_file.read_bytes().split()
    assert len(new_keys) == 1 and new_keys[0] != old_key, "the key file holds the new key only"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    _assert_rotated(before, rows(isolated_home / "store.db"), [old_key], new_keys[0])
    for reader in (store, make()):
        assert {name: reader.get(name).value for name in values} == values
        assert reader.get("connections/pg", "1").value == "older"


def test_rotate_key_with_secretbridge_key_new_then_old(
    make: Callable[..., LocalStore], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    monkeypatch.setenv("SECRETBRIDGE_KEY", old.decode())
    values = _fill(make())
    before = rows(isolated_home / "store.db")

    monkeypatch.setenv("SECRETBRIDGE_KEY", f"{new.decode()},{old.decode()}")
    assert make().rotate_key() == len(before)

    assert not (isolated_home / "store.key").exists()
    _assert_rotated(before, rows(isolated_home / "store.db"), [old], new)
    monkeypatch.setenv("SECRETBRIDGE_KEY", new.decode())
    reader = make()
    assert {name: reader.get(name).value for name in values} == values


# ------------------------------------------------------------------ failed writes lose nothing


CHILD = textwrap.dedent(
    """
    import sys
    from secretbridge import Resolver, SecretNotFound
    from secretbridge.config import parse_config

    folder, count = sys.argv[1], int(sys.argv[2])
    settings = {"kind": "local", "path": folder + "/store.db", "key_file": folder + "/store.key"}
    store = Resolver(parse_config({"stores": {"loc": settings}})).store("loc")
    names = [f"crash/n{i:02d}" for i in range(count)]
    following = {}
    for name in names:
        try:
            following[name] = int(store.get(name).version) + 1
        except SecretNotFound:
            following[name] = 1
    for _ in range(10_000):
        for name in names:
            number = following[name]
            value = f"{name}|{number}|" + "x" * (number % 7) * 500
            got = store.put(name, value)
            assert got == str(number), (name, got, number)
            print(name, number, flush=True)  # acknowledged: put() returned
            following[name] = number + 1
    """
)


def _crash_value(name: str, version: int) -> str:
    return f"{name}|{version}|" + "x" * (version % 7) * 500


def _run_and_kill(folder: Path, count: int, acks: int, jitter: float) -> list[str]:
    """Start the writer, SIGKILL it once it has acknowledged ``acks`` puts (plus up to
    ``jitter`` seconds, so the kill lands at varying points inside a put), and return
    every line it printed."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 15
        while len(seen) < acks:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            assert line is not None, f"the writer exited early: {child.stderr.read()}"  # type: ignore[union-attr]
            seen.append(line)
        time.sleep(jitter)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=5) == -signal.SIGKILL
        reader.join(timeout=5)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=5)
        child.stdout.close()  # type: ignore[union-attr]
        child.stderr.close()  # type: ignore[union-attr]
    while (line := lines.get_nowait() if not lines.empty() else None) is not None:
        seen.append(line)
    return seen


def test_sigkill_mid_write_loses_nothing_already_written(
    make: Callable[..., LocalStore], tmp_path: Path
) -> None:
    folder = tmp_path / "crash"
    settings = {"path": str(folder / "store.db"), "key_file": str(folder / "store.key")}
    make(**settings).init()
    count = 24
    names = [f"crash/n{i:02d}" for i in range(count)]
    acked = dict.fromkeys(names, 0)
    rng = random.Random(20240611)
    for cycle in range(4):  # kill, reopen, check, and let the next writer carry on
        for line in _run_and_kill(folder, count, rng.randint(30, 90), rng.uniform(0, 0.003)):
            if not line.endswith("\n"):
                continue  # the kill cut this acknowledgement short: not an acknowledgement
            name, number = line.split()
            acked[name] = max(acked[name], int(number))

        store = make(**settings)
        store.health()
        conn = sqlite3.connect(folder / "store.db")
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()
        in_flight = []
        for name in names:
            got = store.get(name)
            assert got.version is not None
            number = int(got.version)
            assert number in (acked[name], acked[name] + 1), (
                f"cycle {cycle}: {name} is at v{number}; v{acked[name]} was acknowledged"
            )
            if number == acked[name] + 1:
                in_flight.append(name)  # the put the kill cut short had committed
            assert got.value == _crash_value(name, number), f"{name} v{number} is not intact"
            kept = [int(v) for v in store.versions(name)]
            assert kept == list(range(max(1, number - 9), number + 1)), f"{name}: {kept}"
            assert store.get(name, str(kept[0])).value == _crash_value(name, kept[0])
            acked[name] = number
        assert len(in_flight) <= 1, f"only one put was in flight: {in_flight}"
        store.close()
    assert min(acked.values()) >= 3, acked


def test_a_write_blocked_by_another_writers_lock_fails_cleanly(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    store = make(timeout=0.2)
    store.put("db", "v1")
    store.put("other", "kept")
    blocker = sqlite3.connect(isolated_home / "store.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="rolled back") as info:
            store.put("db", f"v2-{CANARY}")
        assert time.monotonic() - started < 3, "the lock wait honours the timeout option"
        assert (info.value.ref, info.value.store) == ("db", STORE)
        no_canary(info.value)
        with pytest.raises(StoreUnavailable, match="rolled back"):
            store.delete("other")
        with pytest.raises(StoreUnavailable, match="rolled back"):
            store.rotate_key()
        assert store.get("db").value == "v1", "readers still see the last good version"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert store.versions("db") == ["1"]
    assert store.get("other").value == "kept"
    assert store.put("db", "v2") == "2", "the failed write used no version number"
    # The failed rotation left a key file that still opens every row.
    fresh = make()
    assert (fresh.get("db").value, fresh.get("other").value) == ("v2", "kept")


# ------------------------------------------------------------------ uninitialised store


def test_an_uninitialised_store(make: Callable[..., LocalStore], isolated_home: Path) -> None:
    """A store that was never initialised cannot say a name is absent: every read is
    unavailable, names the file and says how to create it (it read as empty before)."""
    store = make()
    reads = (lambda: store.get("db"), store.list_names, store.health)
    for call in reads:
        with pytest.raises(StoreUnavailable, match=r"store\.db.*secretbridge init") as info:
            call()
        assert info.value.store == STORE
    assert isinstance(store.get_many(["db"])["db"], StoreUnavailable)
    assert not isolated_home.exists(), "reads create nothing"


def test_health_without_the_key_file_says_how_to_fix_it(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    store = make()
    store.init()
    (isolated_home / "store.key").unlink()
    with pytest.raises(StoreUnavailable, match=r"secretbridge init|SECRETBRIDGE_KEY"):
        make().health()


# ------------------------------------------------------------------ concurrency


def test_concurrent_puts_get_distinct_consecutive_versions(
    make: Callable[..., LocalStore],
) -> None:
    first = make(keep_versions=1000)
    first.init()
    second = make(keep_versions=1000)  # its own connection to the same file
    threads, each = 8, 15
    barrier = threading.Barrier(threads)
    written: dict[str, str] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(index: int) -> None:
        store = first if index % 2 else second
        try:
            barrier.wait(timeout=5)
            for j in range(each):
                value = f"t{index}-{j}"
                version = store.put("shared", value)
                with lock:
                    assert version not in written, f"version {version} handed out twice"
                    written[version] = value
        except BaseException as error:
            errors.append(error)

    pool = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=20)
    assert not any(thread.is_alive() for thread in pool)
    assert not errors, errors
    total = threads * each
    assert sorted(written, key=int) == [str(v) for v in range(1, total + 1)]
    assert first.versions("shared") == [str(v) for v in range(1, total + 1)]
    for version, value in written.items():
        assert first.get("shared", version).value == value
    assert first.get("shared").version == str(total)


def _race_first_puts(stores: list[LocalStore]) -> dict[int, BaseException | str]:
    """Each store puts one name at the same moment; returns each version or error."""
    barrier = threading.Barrier(len(stores))
    outcomes: dict[int, BaseException | str] = {}

    def first_put(index: int) -> None:
        try:
            barrier.wait(timeout=5)
            outcomes[index] = stores[index].put(f"n{index}", f"value-{index}")
        except BaseException as error:
            outcomes[index] = error

    pool = [threading.Thread(target=first_put, args=(i,)) for i in range(len(stores))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=10)
    return outcomes


def test_concurrent_first_puts_on_an_uninitialised_store_agree_on_one_key(
    make: Callable[..., LocalStore], tmp_path: Path
) -> None:
    """Several workers (each with its own Resolver) write before anyone ran ``init``:
    ``put`` creates the store on first use, so every put succeeds and stays readable.
    Fails today: the racing key-file creations collide (FileExistsError on the shared
    temp name) or overwrite each other's key (a put that returned is then unreadable)."""
    workers = 6
    for trial in range(3):
        folder = tmp_path / f"race{trial}"
        settings = {"path": str(folder / "store.db"), "key_file": str(folder / "store.key")}
        outcomes = _race_first_puts([make(**settings) for _ in range(workers)])
        assert outcomes == dict.fromkeys(range(workers), "1"), f"trial {trial}: {outcomes}"
        reader = make(**settings)
        for index in range(workers):
            assert reader.get(f"n{index}").value == f"value-{index}", "a written value was lost"


# ------------------------------------------------------------------ fail closed


def test_a_corrupt_store_is_unavailable_not_empty(
    make: Callable[..., LocalStore], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failed before: a store file that cannot be opened read as empty, so the chain
    moved on to the next store (here one an attacker can set)."""
    make().put("DB/PASSWORD", CANARY)
    (isolated_home / "store.db").write_bytes(b"this is not a database" * 200)
    for side in ("-wal", "-shm"):
        (isolated_home / f"store.db{side}").unlink(missing_ok=True)
    store = make()
    for call in (lambda: store.get("DB/PASSWORD"), store.list_names, store.health):
        with pytest.raises(StoreUnavailable, match=r"store\.db"):
            call()
    assert isinstance(store.get_many(["DB/PASSWORD"])["DB/PASSWORD"], StoreUnavailable)
    monkeypatch.setenv("DB_PASSWORD", "attacker")
    document = {
        "resolver": {"chain": ["local", "env"]},
        "stores": {"local": {"kind": "local"}, "env": {"kind": "env"}},
    }
    with Resolver(parse_config(document)) as resolver:
        with pytest.raises(StoreUnavailable):
            resolver.get("secret:DB/PASSWORD")
        with pytest.raises(StoreUnavailable):
            resolver.list_secrets()


def test_a_store_locked_past_the_timeout_is_unavailable(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    writer = make()
    writer.put("db", "v1")
    writer.close()  # leaving WAL mode needs the only connection
    db = isolated_home / "store.db"
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("PRAGMA journal_mode=DELETE")  # a rollback journal: readers wait too
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        store = make(timeout=0.2)
        with pytest.raises(StoreUnavailable, match="locked"):
            store.get("db")
        with pytest.raises(StoreUnavailable, match="locked"):
            store.list_names()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert make().get("db").value == "v1"


def test_a_missing_store_file_is_unavailable_naming_it(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    store = make()
    store.init()
    (isolated_home / "store.db").unlink()
    for call in (lambda: make().get("db"), lambda: make().list_names(), make().health):
        with pytest.raises(StoreUnavailable, match=r"store\.db does not exist.*secretbridge init"):
            call()


# ------------------------------------------------------------------ small findings


def test_an_unset_key_variable_is_a_config_error_naming_the_key(
    make: Callable[..., LocalStore],
) -> None:
    """Failed before: an uninitialised store answered "not found" without looking at the key."""
    store = make(key="env:SB_TEST_UNSET_KEY")
    for call in (lambda: store.get("db"), store.list_names, lambda: store.get_many(["db"])):
        with pytest.raises(ConfigError, match=rf"stores\.{STORE}\.key.*SB_TEST_UNSET_KEY"):
            call()


def test_version_numbers_are_never_reused_after_a_delete(make: Callable[..., LocalStore]) -> None:
    """Failed before: after ``rm`` versions restarted at 1, so a pin on version 1 of the
    old secret silently returned the new one."""
    store = make()
    store.put("db", "old-1")
    store.put("db", "old-2")
    store.delete("db")
    assert store.put("db", "new") == "3"
    with pytest.raises(SecretNotFound):
        store.get("db", "1")
    assert make().put("db", "newer") == "4"


def test_values_over_the_documented_limit_are_refused_before_sealing(
    make: Callable[..., LocalStore], resolvers: Resolvers
) -> None:
    store = make()
    limit = store.capabilities.max_value_size
    assert limit == 1024 * 1024
    store.put("at-limit", b"\x01" * limit)
    assert len(store.get("at-limit").value) == limit
    resolver = resolvers.resolver({STORE: {"kind": "local"}})
    for too_big in ("x" * (limit + 1), "é" * (limit // 2 + 1), b"\x01" * (limit + 1)):
        with pytest.raises(InvalidSecretValue, match=str(limit)):
            store.put("big", too_big)
        with pytest.raises(InvalidSecretValue, match=str(limit)):
            resolver.put("big", too_big)
    assert store.list_names() == ["at-limit"]


# ------------------------------------------------------------------ init and file modes


def test_init_makes_an_existing_home_and_key_file_private_and_says_so(
    make: Callable[..., LocalStore], isolated_home: Path
) -> None:
    """Failed before: init adopted a 0755 home and a 0644 key file without a word."""
    isolated_home.mkdir(mode=0o755)
    isolated_home.chmod(0o755)
    key_file = isolated_home / "store.key"
    key_file.write_bytes(Fernet.generate_key() + b"\n")
    key_file.chmod(0o644)
    result = make().init()
    assert result.created
    assert stat.S_IMODE(isolated_home.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert any("store.key" in line and "644" in line for line in result.fixed), result.fixed
    assert any(str(isolated_home) in line and "755" in line for line in result.fixed)
    assert make().init().fixed == ()


def test_init_refuses_a_key_file_owned_by_another_user(
    make: Callable[..., LocalStore], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make()
    store.init()
    key_file = isolated_home / "store.key"
    before = key_file.read_bytes()
    monkeypatch.setattr("os.geteuid", lambda: key_file.stat().st_uid + 1)
    with pytest.raises(ConfigError, match=r"store\.key.*another user"):
        make().init()
    assert key_file.read_bytes() == before
