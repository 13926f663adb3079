"""``local``: a Fernet-encrypted SQLite file, the embedded default when nothing is configured.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256). Each ciphertext also
carries the name and version it was written for, so rows moved in the file are detected
rather than served. Names are kept in clear (they are not secret; listing needs them).

Keys come from the ``key`` option (``env:VAR`` or ``file:/path`` allowed), else the
``SECRETBRIDGE_KEY`` variable (comma-separated), else a 0600 key file beside the
database, created by ``init`` (a symlinked key file is written through the link).

Key ids make rotation safe across processes. Each row records the id of the key that
sealed it (the first 8 bytes of the key's SHA-256) and ``meta`` the store's primary key
id. A write seals under that primary, looked up inside its write transaction: a writer
still holding a retired key reads the key file again, and a key set without the primary
(a wrong ``SECRETBRIDGE_KEY``) is refused with a ConfigError instead of writing what no
reader could open. ``rotate_key`` holds the database's write lock while it puts a new key
in front of the key file, re-encrypts every row and commits; a second locked step then
drops the keys no row uses. A crash at any point leaves a key file that holds every key a
row needs. A reader meeting a key id it does not hold reads the key file (and the row)
again once before it fails. With keys from the environment or the option, put the new
key first there, then rotate.

The store fails closed: a missing (never initialised), corrupt, or locked (past
``timeout``) file is StoreUnavailable, never an empty store; "not found" means the store
answered so. Version numbers are never reused, even after a name is deleted, so a pinned
``?version=N`` cannot return other content. A value holds at most 1 MiB: as much as a
Kubernetes Secret and more than any cloud store takes (so anything kept there fits here),
while sealing one (Fernet base64 plus SQLite copies) stays at a few MiB of memory.

``init`` refuses a key file, database or home folder owned by another user, and makes
ones that others may read private (0600 files, 0700 home), saying what it changed.

File format 2 (key ids, each name's last version); a format-1 file is migrated in place
when first opened, under keys that open every row.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import stat
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import resolve_indirection
from ..errors import ConfigError, InvalidReference, SecretBridgeError, StoreUnavailable
from .base import Capabilities, Store, StoredValue, StoreOptions

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

KEY_ENV = "SECRETBRIDGE_KEY"
MAX_VALUE_SIZE = 1024 * 1024
FORMAT = "2"
_LAST_VERSIONS = """CREATE TABLE last_versions (
        name    TEXT    PRIMARY KEY,
        version INTEGER NOT NULL
    ) WITHOUT ROWID"""
_SCHEMA = (
    """CREATE TABLE secrets (
        name    TEXT    NOT NULL,
        version INTEGER NOT NULL,
        token   BLOB    NOT NULL,
        created REAL    NOT NULL,
        key_id  TEXT    NOT NULL,
        PRIMARY KEY (name, version)
    ) WITHOUT ROWID""",
    _LAST_VERSIONS,
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_ROW = "SELECT name, version, token, key_id FROM secrets"
_VERSION = re.compile(r"[1-9][0-9]*")
_MAX_VERSION = 2**63 - 1  # SQLite's INTEGER
_TEXT, _BINARY = b"t", b"b"
_BATCH = 500  # well under SQLite's bound-parameter limit

_Opened = tuple[str, int, "str | bytes | StoreUnavailable"]


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


@dataclass(frozen=True)
class InitResult:
    created: bool  # False: the store already existed
    fixed: tuple[str, ...] = ()  # one line for each file or folder made private


class _Keyring:
    """Fernet keys by id, newest first; the first is used when a store has no primary yet."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        from cryptography.fernet import Fernet

        self.keys = list(dict.fromkeys(keys))
        self.fernets: dict[str, Fernet] = {_key_id(key): Fernet(key) for key in self.keys}

    @property
    def primary(self) -> str:
        return next(iter(self.fernets))

    def with_new_key(self) -> _Keyring:
        from cryptography.fernet import Fernet

        return _Keyring([Fernet.generate_key(), *self.keys])

    def only(self, ids: Collection[str]) -> _Keyring:
        return _Keyring([key for key in self.keys if _key_id(key) in ids])

    def which(self, token: bytes) -> str | None:
        """The id of the key that opens ``token`` (format-1 rows do not record it)."""
        from cryptography.fernet import InvalidToken

        for identifier, fernet in self.fernets.items():
            with contextlib.suppress(InvalidToken):
                fernet.decrypt(token)
                return identifier
        return None


def _key_id(key: bytes) -> str:
    """A short public id of a key: it names the key in rows and errors, and reveals nothing."""
    return hashlib.sha256(key).hexdigest()[:16]


class _KeyGone(StoreUnavailable):
    """A row sealed by a key this process does not hold, even after reading the keys again."""


class LocalStore(Store):
    kind = "local"
    capabilities = Capabilities(
        writable=True, versions=True, binary=True, batch_size=_BATCH, max_value_size=MAX_VALUE_SIZE
    )
    Options = LocalOptions
    options: LocalOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        home, base = self.context.home, self.context.base_dir
        self.path = _resolve_path(self.options.path, base, home / "store.db")
        self.key_file = _resolve_path(self.options.key_file, base, home / "store.key")
        self._conn: sqlite3.Connection | None = None
        self._keyring: _Keyring | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ set-up

    def init(self) -> InitResult:
        """Create the key file (unless keys come from elsewhere) and the database, after
        making existing ones private."""
        with self._lock:
            fixed = self._make_private()
            created = False
            if self._configured_keys() is None and not self.key_file.exists():
                from cryptography.fernet import Fernet

                # Exclusive: of two processes initialising at once, one key wins and
                # both use it (a replaced key would make the other's writes unreadable).
                created = _write_private(
                    self.key_file, Fernet.generate_key() + b"\n", exclusive=True
                )
                self._keyring = None
            if not self.path.exists():
                created = True
            self._connect(create=True)
        return InitResult(created, tuple(fixed))

    def _make_private(self) -> list[str]:
        """Refuse files of another user; take group and other access off existing ones."""
        fixed = []
        for path in (self.key_file, self.path, self.context.home):
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            if info.st_uid != os.geteuid():
                raise ConfigError(
                    f"{path} belongs to another user (uid {info.st_uid}); refusing to keep "
                    "secrets in it",
                    store=self.name,
                )
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o077:
                path.chmod(mode & 0o700)
                fixed.append(f"{path} was mode {mode:o}, now {mode & 0o700:o}")
        return fixed

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

    def _keys(self) -> _Keyring:
        """The keys, read once; ``_reload_keys`` reads them again."""
        with self._lock:
            if self._keyring is None:
                self._keyring = self._load_keys()
            return self._keyring

    def _reload_keys(self) -> _Keyring:
        with self._lock:
            self._keyring = None
            return self._keys()

    def _load_keys(self) -> _Keyring:
        keys = self._configured_keys()
        if keys is None:
            keys = self._read_key_file()
        try:
            ring: _Keyring | None = _Keyring(keys)
        except ValueError:
            ring = None  # raised below, outside the handler: the error may quote the key
        if ring is None or not ring.keys:
            raise ConfigError(
                f"{self.key_source}: not a valid Fernet key (32 url-safe base64-encoded bytes)",
                store=self.name,
            )
        return ring

    def _read_key_file(self) -> list[bytes]:
        try:
            text = self.key_file.read_bytes()
        except FileNotFoundError:
            text = None
        except OSError as error:
            raise StoreUnavailable(
                f"cannot read the key file {self.key_file}: {error.strerror}", store=self.name
            ) from None
        if text is None:
            if not self.path.exists():
                raise self._missing_store()
            raise StoreUnavailable(
                f"no key: set {KEY_ENV}, or run 'secretbridge init' to create {self.key_file}",
                store=self.name,
            )
        return [line.strip() for line in text.splitlines() if line.strip()]

    def _missing_store(self) -> StoreUnavailable:
        return StoreUnavailable(
            f"the store file {self.path} does not exist; run 'secretbridge init'",
            store=self.name,
        )

    def _connect(self, *, create: bool = False) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        if not create and not self.path.exists():
            raise self._missing_store()
        if create:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Create the file private before SQLite opens it.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.options.timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            _switch_to_wal(conn, self.options.timeout)
            conn.execute("PRAGMA synchronous=FULL")
            self._prepare(conn, create=create)
        except sqlite3.Error as error:
            failure = f"cannot open the store file {self.path}: {error}"
        else:
            self._conn = conn
            return conn
        finally:
            if conn is not None and self._conn is not conn:
                conn.close()
        raise StoreUnavailable(failure, store=self.name)

    def _prepare(self, conn: sqlite3.Connection, *, create: bool) -> None:
        """Create the schema, or migrate an older format, under the write lock."""
        if _format(conn) == FORMAT:
            return
        conn.execute("BEGIN IMMEDIATE")  # waits for a concurrent creator or migrator
        try:
            found = _format(conn)
            if found is None and create:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
            elif found == "1":
                self._migrate(conn)
            elif found != FORMAT:
                what = "no secretbridge store" if found is None else f"format {found}"
                raise StoreUnavailable(
                    f"the store file {self.path} holds {what}; this version reads format "
                    f"{FORMAT} (run 'secretbridge init' for a new store)",
                    store=self.name,
                )
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Format 1 -> 2: record the key that sealed each row, and each name's last version."""
        keys = self._keys()
        conn.execute("ALTER TABLE secrets ADD COLUMN key_id TEXT NOT NULL DEFAULT ''")
        for name, number, token in conn.execute("SELECT name, version, token FROM secrets"):
            found = keys.which(token)
            if found is None:
                raise self._no_key_fits(name)  # the file stays at format 1
            conn.execute(
                "UPDATE secrets SET key_id = ? WHERE name = ? AND version = ?",
                (found, name, number),
            )
        conn.execute(_LAST_VERSIONS)
        conn.execute(
            "INSERT INTO last_versions SELECT name, MAX(version) FROM secrets GROUP BY name"
        )
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('primary_key', ?)", (keys.primary,))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'format'", (FORMAT,))

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

    # ------------------------------------------------------------------ keys and crypto

    def _no_key_fits(self, name: str | None, key: str | None = None) -> _KeyGone:
        sealed = f" (sealed by key {key})" if key else ""
        return _KeyGone(
            f"cannot decrypt the secret{sealed}: none of the store's keys fits "
            f"(check {KEY_ENV} or the key file)",
            ref=name,
            store=self.name,
        )

    def _lacking(self, ids: Collection[str]) -> ConfigError:
        listed = ", ".join(sorted(ids))
        return ConfigError(
            f"the store's values are sealed by key {listed}, which is not among its keys "
            f"({self.key_source}): restore that key, or fix {KEY_ENV}",
            store=self.name,
        )

    def _primary(self, conn: sqlite3.Connection) -> tuple[str, Fernet]:
        """The key every write seals under, looked up inside the write transaction: if
        another process rotated, this one's keys are stale and are read again; a key set
        without the store's primary is refused."""
        keys = self._keys()
        row = conn.execute("SELECT value FROM meta WHERE key = 'primary_key'").fetchone()
        if row is None:  # the first write to a new store
            conn.execute("INSERT INTO meta VALUES ('primary_key', ?)", (keys.primary,))
            return keys.primary, keys.fernets[keys.primary]
        (primary,) = row
        if primary not in keys.fernets:
            keys = self._reload_keys()
        if primary not in keys.fernets:
            raise self._lacking([primary])
        return primary, keys.fernets[primary]

    def _plain(self, name: str, number: int, token: bytes, key: str) -> bytes:
        """A row's checked plaintext (tag, binding, value), reading the keys again if
        the row's key is not among them (another process rotated)."""
        from cryptography.fernet import InvalidToken

        fernet = (self._keyring or self._keys()).fernets.get(key)
        if fernet is None:
            fernet = self._reload_keys().fernets.get(key)
        if fernet is None:
            raise self._no_key_fits(name, key)
        try:
            plain = fernet.decrypt(token)
        except InvalidToken:
            plain = b""
        if not plain[1:].startswith(_binding(name, number)):
            raise StoreUnavailable(
                "integrity check failed: the stored ciphertext was altered, or written "
                "for another name or version",
                ref=name,
                store=self.name,
            )
        return plain

    def _open(self, name: str, number: int, token: bytes, key: str) -> str | bytes:
        plain = self._plain(name, number, token, key)
        raw = plain[1 + len(_binding(name, number)) :]
        return raw if plain[:1] == _BINARY else raw.decode()

    # ------------------------------------------------------------------ reads

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        # Keys first: a bad key setting is a config error, even before the file exists.
        if self._keyring is None:
            self._keys()
        with self._lock:
            conn = self._connect()
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.Error as error:
                failure = f"store file {self.path}: {error}"
        raise StoreUnavailable(failure, store=self.name)

    def _read(self, sql: str, params: Sequence[Any]) -> list[_Opened]:
        """Rows as (name, version, value or error). A row whose key left the key file
        after the row was read (a rotation finished in between) is read once more."""
        opened = self._open_rows(self._query(sql, params))
        if any(isinstance(value, _KeyGone) for _, _, value in opened):
            opened = self._open_rows(self._query(sql, params))
        return opened

    def _open_rows(self, rows: list[Any]) -> list[_Opened]:
        out: list[_Opened] = []
        for name, number, token, key in rows:
            try:
                out.append((name, number, self._open(name, number, token, key)))
            except StoreUnavailable as error:
                out.append((name, number, error))
        return out

    def get(self, path: str, version: str | None = None) -> StoredValue:
        if version is None:
            rows = self._read(f"{_ROW} WHERE name = ? ORDER BY version DESC LIMIT 1", (path,))
        else:
            number = _version_number(version, path, self.name)
            rows = self._read(f"{_ROW} WHERE name = ? AND version = ?", (path, number))
        if not rows:
            raise self.not_found(path, version)
        _, found, value = rows[0]
        if isinstance(value, StoreUnavailable):
            raise value
        return StoredValue(value, str(found))

    def get_many(self, paths: Sequence[str]) -> dict[str, StoredValue | SecretBridgeError]:
        out: dict[str, StoredValue | SecretBridgeError] = {}
        unique = list(dict.fromkeys(paths))
        for start in range(0, len(unique), _BATCH):
            chunk = unique[start : start + _BATCH]
            marks = ",".join("?" * len(chunk))
            try:
                rows = self._read(
                    f"{_ROW} WHERE name IN ({marks}) AND version = "  # noqa: S608
                    "(SELECT MAX(version) FROM secrets AS s WHERE s.name = secrets.name)",
                    chunk,
                )
            except StoreUnavailable as error:
                return dict.fromkeys(unique, error)
            for name, number, value in rows:
                out[name] = (
                    value
                    if isinstance(value, StoreUnavailable)
                    else StoredValue(value, str(number))
                )
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
        if not rows:
            raise self.not_found(path)
        return [str(number) for (number,) in rows]

    def health(self) -> None:
        """Open one row of each key generation in use, and check that writes could seal."""
        for _, _, value in self._read(f"{_ROW} GROUP BY key_id", ()):
            if isinstance(value, StoreUnavailable):
                raise value
        for (primary,) in self._query("SELECT value FROM meta WHERE key = 'primary_key'"):
            if primary not in self._keys().fernets and primary not in self._reload_keys().fernets:
                raise self._lacking([primary])

    # ------------------------------------------------------------------ writes

    def put(self, path: str, value: str | bytes) -> str:
        if "\0" in path:
            raise InvalidReference("a name must not contain NUL", store=self.name)
        self.check_size(path, value)  # also when called directly, not through a resolver
        if self._configured_keys() is None and not self.key_file.exists():
            self.init()
        self._keys()  # a missing or bad key fails before the transaction opens
        tag, raw = (_TEXT, value.encode()) if isinstance(value, str) else (_BINARY, value)
        try:
            with self._transaction() as conn:
                key, fernet = self._primary(conn)
                (number,) = conn.execute(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM last_versions WHERE name = ?",
                    (path,),
                ).fetchone()
                conn.execute(
                    "INSERT INTO secrets (name, version, token, created, key_id) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        path,
                        number,
                        fernet.encrypt(tag + _binding(path, number) + raw),
                        time.time(),
                        key,
                    ),
                )
                conn.execute(
                    "INSERT INTO last_versions VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                    (path, number),
                )
                conn.execute(
                    "DELETE FROM secrets WHERE name = ? AND version <= ?",
                    (path, number - self.options.keep_versions),
                )
        except sqlite3.Error as error:
            failure = f"the write failed and was rolled back: {error}"
        else:
            return str(number)
        raise StoreUnavailable(failure, ref=path, store=self.name)

    def delete(self, path: str) -> None:
        with self._lock:
            self._connect()  # a store that does not exist is unavailable, not created
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

        With a key file, under the database's write lock: a new key goes in front of the
        file (the old ones stay), every row is re-encrypted and the new primary recorded
        in one transaction; a second locked step drops the keys no row uses. With keys
        from the environment or the ``key`` option, put the new key first there; this
        re-encrypts under it. Refused (ConfigError) if a row's key is missing.
        """
        from_file = self._configured_keys() is None
        try:
            with self._transaction() as conn:
                keys = self._reload_keys()
                in_use = {key for (key,) in conn.execute("SELECT DISTINCT key_id FROM secrets")}
                if in_use - keys.fernets.keys():
                    raise self._lacking(in_use - keys.fernets.keys())
                if from_file:
                    keys = keys.with_new_key()
                    _write_private(self.key_file, b"\n".join(keys.keys) + b"\n")
                    self._keyring = keys
                primary = keys.primary
                rows = conn.execute(_ROW).fetchall()
                for name, number, token, key in rows:
                    sealed = keys.fernets[primary].encrypt(self._plain(name, number, token, key))
                    conn.execute(
                        "UPDATE secrets SET token = ?, key_id = ? WHERE name = ? AND version = ?",
                        (sealed, primary, name, number),
                    )
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('primary_key', ?)", (primary,))
            if from_file:
                with self._transaction() as conn:
                    in_use = {key for (key,) in conn.execute("SELECT DISTINCT key_id FROM secrets")}
                    in_use.update(
                        v
                        for (v,) in conn.execute("SELECT value FROM meta WHERE key = 'primary_key'")
                    )
                    keys = self._reload_keys()
                    kept = keys.only(in_use)
                    if kept.keys != keys.keys:
                        _write_private(self.key_file, b"\n".join(kept.keys) + b"\n")
                        self._keyring = kept
        except (sqlite3.Error, OSError) as error:
            failure = f"key rotation failed and was rolled back: {error}"
        else:
            return len(rows)
        raise StoreUnavailable(failure, store=self.name)


def _format(conn: sqlite3.Connection) -> str | None:
    """The store file's format, None for a file without the store's tables."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    except sqlite3.OperationalError as error:
        if "no such table" not in str(error):
            raise
        return None
    return None if row is None else str(row[0])


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
    path = Path(os.path.realpath(path))  # through a symlink: replace its target, in its folder
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
