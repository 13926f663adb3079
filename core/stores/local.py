"""``local``: a Fernet-encrypted SQLite file, the embedded default when nothing is configured.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a MultiFernet key
list, so keys can be rotated: the first key encrypts, every key decrypts, and
``rotate_key`` re-encrypts every row under a new key in one transaction. Each
ciphertext also carries the name it was written for, so rows swapped in the file are
detected rather than served under the wrong name. Names are kept in clear (they are
not secret; listing needs them).

Keys come from the ``key`` option (use ``env:VAR`` or ``file:/path``), else the
``SECRETBRIDGE_KEY`` variable (comma-separated, newest first), else a 0600 key file
beside the database, created by ``init``.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import resolve_indirection
from ..errors import ConfigError, InvalidReference, SecretBridgeError, StoreUnavailable
from .base import Capabilities, Store, StoredValue, StoreOptions

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

KEY_ENV = "SECRETBRIDGE_KEY"
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS secrets (
        name    TEXT    NOT NULL,
        version INTEGER NOT NULL,
        token   BLOB    NOT NULL,
        created REAL    NOT NULL,
        PRIMARY KEY (name, version)
    ) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT OR IGNORE INTO meta VALUES ('format', '1')",
)
_VERSION = re.compile(r"[1-9][0-9]*")
_MAX_VERSION = 2**63 - 1  # SQLite's INTEGER
_TEXT, _BINARY = b"t", b"b"
_BATCH = 500  # well under SQLite's bound-parameter limit


@dataclass(frozen=True)
class LocalOptions(StoreOptions):
    path: str | None = None  # database file; default: <home>/store.db
    key: str | None = None  # comma-separated Fernet keys, newest first (env:/file: allowed)
    key_file: str | None = None  # default: <home>/store.key
    keep_versions: int = 10
    timeout: float = 5.0  # seconds to wait for another writer's lock

    def __post_init__(self) -> None:
        if self.keep_versions < 1:
            raise ValueError("keep_versions: must be at least 1")
        if self.timeout <= 0:
            raise ValueError("timeout: must be more than 0 seconds")


class LocalStore(Store):
    kind = "local"
    capabilities = Capabilities(writable=True, versions=True, binary=True, batch_size=_BATCH)
    Options = LocalOptions
    options: LocalOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        home, base = self.context.home, self.context.base_dir
        self.path = _resolve_path(self.options.path, base, home / "store.db")
        self.key_file = _resolve_path(self.options.key_file, base, home / "store.key")
        self._conn: sqlite3.Connection | None = None
        self._fernet: MultiFernet | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ set-up

    def init(self) -> bool:
        """Create the key file (unless keys come from elsewhere) and the database.
        Returns False if the store already existed."""
        created = False
        with self._lock:
            if self._configured_keys() is None and not self.key_file.exists():
                from cryptography.fernet import Fernet

                # Exclusive: of two processes initialising at once, one key wins and
                # both use it (a replaced key would make the other's writes unreadable).
                created = _write_private(
                    self.key_file, Fernet.generate_key() + b"\n", exclusive=True
                )
                self._fernet = None
            if not self.path.exists():
                created = True
            self._connect(create=True)
        return created

    @property
    def key_source(self) -> str:
        if self.options.key is not None:
            return f"keys from stores.{self.name}.key"
        if KEY_ENV in os.environ:
            return f"keys from ${KEY_ENV}"
        return f"key file {self.key_file}"

    def _configured_keys(self) -> list[bytes] | None:
        raw = self.options.key
        if raw is not None:
            raw = resolve_indirection(raw, where=f"stores.{self.name}.key")
        else:
            raw = os.environ.get(KEY_ENV)
        if raw is None:
            return None
        keys = [k.strip().encode() for k in raw.split(",") if k.strip()]
        if not keys:
            raise ConfigError(f"stores.{self.name}.key: no Fernet key given")
        return keys

    def _keys(self) -> list[bytes]:
        keys = self._configured_keys()
        if keys is not None:
            return keys
        try:
            text = self.key_file.read_bytes()
        except FileNotFoundError:
            raise StoreUnavailable(
                f"no key: set {KEY_ENV}, or run 'secretbridge init' to create {self.key_file}",
                store=self.name,
            ) from None
        except OSError as error:
            raise StoreUnavailable(
                f"cannot read the key file {self.key_file}: {error.strerror}", store=self.name
            ) from None
        return [line.strip() for line in text.splitlines() if line.strip()]

    def _cipher(self) -> MultiFernet:
        if self._fernet is None:
            from cryptography.fernet import Fernet, MultiFernet

            try:
                self._fernet = MultiFernet([Fernet(key) for key in self._keys()])
            except ValueError:
                raise ConfigError(
                    "a store key is not a valid Fernet key (32 url-safe base64-encoded bytes)",
                    store=self.name,
                ) from None
        return self._fernet

    def _connect(self, *, create: bool = False) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        if not create and not self.path.exists():
            raise StoreUnavailable(
                f"the store file {self.path} does not exist; run 'secretbridge init'",
                store=self.name,
            )
        if create:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Create the file private before SQLite opens it.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.options.timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            _switch_to_wal(conn, self.options.timeout)
            conn.execute("PRAGMA synchronous=FULL")
            if create:
                conn.execute("BEGIN IMMEDIATE")  # waits for a concurrent creator
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute("COMMIT")
        except sqlite3.Error as error:
            raise StoreUnavailable(
                f"cannot open the store file {self.path}: {error}", store=self.name
            ) from None
        self._conn = conn
        return conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connect(create=True)
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ------------------------------------------------------------------ crypto

    def _seal(self, name: str, version: int, value: str | bytes) -> bytes:
        tag, raw = (_TEXT, value.encode()) if isinstance(value, str) else (_BINARY, value)
        return self._cipher().encrypt(tag + _binding(name, version) + raw)

    def _open(self, name: str, version: int, token: bytes) -> str | bytes:
        from cryptography.fernet import InvalidToken

        try:
            plain = self._cipher().decrypt(token)
        except InvalidToken:
            raise StoreUnavailable(
                "cannot decrypt the secret: none of the store's keys fits "
                f"(check {KEY_ENV} or the key file)",
                ref=name,
                store=self.name,
            ) from None
        tag, body = plain[:1], plain[1:]
        binding = _binding(name, version)
        if not body.startswith(binding):
            raise StoreUnavailable(
                "integrity check failed: the stored ciphertext was written for another "
                "name or version",
                ref=name,
                store=self.name,
            )
        raw = body[len(binding) :]
        return raw if tag == _BINARY else raw.decode()

    # ------------------------------------------------------------------ reads

    def _query(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._lock:
            try:
                conn = self._connect()
            except StoreUnavailable:
                return []  # an uninitialised store holds nothing yet
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.Error as error:
                raise StoreUnavailable(f"store file error: {error}", store=self.name) from None

    def get(self, path: str, version: str | None = None) -> StoredValue:
        if version is None:
            sql = "SELECT version, token FROM secrets WHERE name = ? ORDER BY version DESC LIMIT 1"
            rows = self._query(sql, (path,))
        else:
            sql = "SELECT version, token FROM secrets WHERE name = ? AND version = ?"
            rows = self._query(sql, (path, _version_number(version, path, self.name)))
        if not rows:
            raise self.not_found(path, version)
        number, token = rows[0]
        return StoredValue(self._open(path, number, token), str(number))

    def get_many(self, paths: Sequence[str]) -> dict[str, StoredValue | SecretBridgeError]:
        out: dict[str, StoredValue | SecretBridgeError] = {}
        unique = list(dict.fromkeys(paths))
        for start in range(0, len(unique), _BATCH):
            chunk = unique[start : start + _BATCH]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT name, version, token FROM secrets WHERE name IN ({marks}) "  # noqa: S608
                "AND version = (SELECT MAX(version) FROM secrets AS s WHERE s.name = secrets.name)",
                chunk,
            )
            for name, number, token in rows:
                try:
                    out[name] = StoredValue(self._open(name, number, token), str(number))
                except SecretBridgeError as error:
                    out[name] = error
        for path in unique:
            out.setdefault(path, self.not_found(path))
        return out

    def list_names(self, prefix: str = "") -> list[str]:
        rows = self._query(
            "SELECT DISTINCT name FROM secrets WHERE substr(name, 1, ?) = ? ORDER BY name",
            (len(prefix), prefix),
        )
        return [name for (name,) in rows]

    def versions(self, path: str) -> list[str]:
        rows = self._query("SELECT version FROM secrets WHERE name = ? ORDER BY version", (path,))
        return [str(number) for (number,) in rows]

    def health(self) -> None:
        rows = self._query_strict("SELECT name, version, token FROM secrets LIMIT 1")
        for name, number, token in rows:
            self._open(name, number, token)  # proves the key fits
        if not rows:
            self._cipher()

    def _query_strict(self, sql: str) -> list[Any]:
        with self._lock:
            conn = self._connect()
            try:
                return conn.execute(sql).fetchall()
            except sqlite3.Error as error:
                raise StoreUnavailable(f"store file error: {error}", store=self.name) from None

    # ------------------------------------------------------------------ writes

    def put(self, path: str, value: str | bytes) -> str:
        if "\0" in path:
            raise InvalidReference("a name must not contain NUL", store=self.name)
        if self._configured_keys() is None and not self.key_file.exists():
            self.init()
        self._cipher()  # a missing or bad key fails before the transaction opens
        try:
            with self._transaction() as conn:
                (latest,) = conn.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM secrets WHERE name = ?", (path,)
                ).fetchone()
                number = latest + 1
                token = self._seal(path, number, value)
                conn.execute(
                    "INSERT INTO secrets VALUES (?, ?, ?, ?)", (path, number, token, time.time())
                )
                conn.execute(
                    "DELETE FROM secrets WHERE name = ? AND version <= ?",
                    (path, number - self.options.keep_versions),
                )
        except sqlite3.Error as error:
            raise StoreUnavailable(
                f"the write failed and was rolled back: {error}", ref=path, store=self.name
            ) from None
        return str(number)

    def delete(self, path: str) -> None:
        if not self.path.exists():
            raise self.not_found(path)
        try:
            with self._transaction() as conn:
                deleted = conn.execute("DELETE FROM secrets WHERE name = ?", (path,)).rowcount
        except sqlite3.Error as error:
            raise StoreUnavailable(
                f"the delete failed and was rolled back: {error}", ref=path, store=self.name
            ) from None
        if not deleted:
            raise self.not_found(path)

    def rotate_key(self) -> int:
        """Re-encrypt every value under a new primary key; returns how many were.

        With a key file: a new key is added in front, every row is re-encrypted in one
        transaction, then the old keys are dropped from the file. A crash in between
        leaves a file that still holds every key needed. With keys from the environment
        or the ``key`` option, put the new key first there; this re-encrypts under it.
        """
        from cryptography.fernet import Fernet, MultiFernet

        from_file = self._configured_keys() is None
        old_keys = self._keys()
        keys = [Fernet.generate_key(), *old_keys] if from_file else old_keys
        if from_file:
            _write_private(self.key_file, b"\n".join(keys) + b"\n")
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        try:
            with self._transaction() as conn:
                rows = conn.execute("SELECT name, version, token FROM secrets").fetchall()
                for name, number, token in rows:
                    conn.execute(
                        "UPDATE secrets SET token = ? WHERE name = ? AND version = ?",
                        (self._fernet.rotate(token), name, number),
                    )
        except sqlite3.Error as error:
            raise StoreUnavailable(
                f"key rotation failed and was rolled back: {error}", store=self.name
            ) from None
        if from_file:
            _write_private(self.key_file, keys[0] + b"\n")
            self._fernet = MultiFernet([Fernet(keys[0])])
        return len(rows)


def _switch_to_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """``PRAGMA journal_mode=WAL`` answers "database is locked" at once, without SQLite's
    busy handler, while another connection is creating the same file: wait it out."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def _binding(name: str, version: int) -> bytes:
    """What each ciphertext is sealed to, so a row moved in the file is not served."""
    return f"{name}\0{version}\0".encode()


def _version_number(version: str, path: str, store: str) -> int:
    if not _VERSION.fullmatch(version):
        raise InvalidReference(
            f"local store versions are whole numbers from 1; got {version!r}",
            ref=path,
            store=store,
        )
    number = int(version)
    return number if number <= _MAX_VERSION else 0  # 0 matches no row: not found


def _resolve_path(value: str | None, base: Path, default: Path) -> Path:
    if value is None:
        return default
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _write_private(path: Path, data: bytes, *, exclusive: bool = False) -> bool:
    """Write ``data`` to ``path`` atomically, readable by the owner only. With
    ``exclusive``, an existing file is kept and False returned."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.urandom(8).hex()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    written = True
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            try:
                os.link(tmp, path)  # atomic, and fails if the file exists
            except FileExistsError:
                written = False
        else:
            tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return written
