"""``vault``: HashiCorp Vault (or OpenBao) KV secrets engines, version 1 or 2, through hvac.

Paths
    Without the ``mount`` option a physical name is ``MOUNT/PATH``: the first segment is
    the KV mount and the rest the path inside it (``vault://secret/prod/snowflake``), as
    the official Airflow ``VaultBackend`` lays names out (``naming = { preset = "airflow" }``
    gives ``airflow/connections/<id>``: mount ``airflow``). With ``mount = "secret"`` (a
    mount may have several segments, ``"team/kv"``) every physical name is a path inside
    that one mount, so ``connections/pg`` is read from ``secret/connections/pg``.

KV version
    ``kv_version`` (default 2) is the engine version of the mounts this store reads. It
    is checked once per mount (``sys/internal/ui/mounts/<mount>``); a mismatch is a
    ConfigError, not a silent "not found". On KV v2, ``?version=N`` pins a version
    (positive integers) and ``put`` returns the new version number; ``delete`` removes the
    metadata and every version. KV v1 has no versions.

Values
    A Vault secret is a JSON object (the KV data). The store returns it as JSON text,
    so ``#field`` picks one key through the resolver -- except the shared convention for
    single values: data that is exactly ``{"value": "text"}`` comes back as ``text``, and
    ``{"value_b64": "..."}`` as the decoded bytes. ``put(path, "text")`` writes
    ``{"value": "text"}`` and ``put(path, b"...")`` writes ``{"value_b64": ...}``, so
    every value round-trips exactly (a JSON text is kept as one string, not split
    into keys). Data written by other tools with several keys reads back as JSON text
    with the keys in Vault's order (sorted).

Authentication (``auth``; default ``token`` when ``token`` is set)
    ``token``       ``token = "env:VAULT_TOKEN"`` or ``"file:/path"`` (re-read on a 403,
                    so a token file that Vault Agent rotates is picked up).
    ``userpass``    ``username``, ``password``.
    ``approle``     ``role_id``, ``secret_id`` (optional when the role does not bind one).
    ``jwt``/``oidc`` ``role`` and ``jwt`` (``file:``/``env:``); ``oidc`` is the JWT login of
                    an auth mount named ``oidc`` (the browser flow is not supported).
    ``kubernetes``  ``role`` and ``jwt`` (default: the pod's service-account token file).
    ``auth_mount`` names the auth mount when it is not the method's name. Nothing is read
    from ``~/.vault-token`` or ``$VAULT_TOKEN`` unless the config names it: a store with
    no credentials fails with a ConfigError that says what to set.

    Logins happen once per store, not per call; a login token is re-acquired before it
    expires (at 80% of its TTL) and, on a 403, once more before the call is retried, so an
    expired or revoked token costs one extra login, not a failed run.

Transport
    One ``hvac.Client`` per store on a ``requests.Session`` whose adapter retries
    connection errors, read timeouts, 429 and 5xx with exponential backoff and jitter
    (``max_attempts``, ``backoff``; ``backoff_max`` caps each wait and Retry-After). Every
    call has ``connect_timeout``/``timeout``; a call takes at most about
    ``max_attempts * (connect_timeout + timeout)`` plus backoff.
    TLS: ``ca_file`` (PEM bundle), ``verify = false`` (tests only), ``client_cert`` and
    ``client_key`` for mutual TLS. ``namespace`` sends ``X-Vault-Namespace``. The URL is
    ``url``, else ``$VAULT_ADDR``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ..config import resolve_indirection
from ..errors import (
    AccessDenied,
    ConfigError,
    InvalidReference,
    InvalidSecretValue,
    SecretBridgeError,
    StoreUnavailable,
)
from ..naming import PLAIN, NamingRule, airflow_preset
from .base import BackoffOptions, Capabilities, Store, StoredValue, import_sdk

T = TypeVar("T")
#: hvac ships no type information: its client is typed as Any here.
_Client = Any

AUTH_METHODS = ("token", "userpass", "approle", "jwt", "oidc", "kubernetes")
K8S_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105 - a path
RETRY_STATUSES = (429, 500, 502, 503, 504)
_VERSION = re.compile(r"[1-9][0-9]{0,18}")
_VALUE, _VALUE_B64 = "value", "value_b64"


@dataclass(frozen=True)
class VaultOptions(BackoffOptions):
    url: str | None = None  # default: $VAULT_ADDR
    mount: str | None = None  # None: the first path segment is the mount
    kv_version: int = 2
    namespace: str | None = None
    auth: str | None = None  # one of AUTH_METHODS; default "token"
    auth_mount: str | None = None  # default: the auth method's name
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    role_id: str | None = field(default=None, repr=False)
    secret_id: str | None = field(default=None, repr=False)
    role: str | None = None
    jwt: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    verify: bool = True
    client_cert: str | None = None
    client_key: str | None = None
    connect_timeout: float = 5.0
    backoff: float = 0.25  # seconds, doubled per retry, plus up to as much jitter

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kv_version not in (1, 2):
            raise ValueError("kv_version: expected 1 or 2")
        if self.mount is not None and not self.mount.strip("/"):
            raise ValueError("mount: must name a mount, such as 'secret'")
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert: client_cert and client_key go together")
        method = self.method
        if method not in AUTH_METHODS:
            raise ValueError(f"auth: expected one of {', '.join(AUTH_METHODS)}")
        needs = {
            "token": ("token",),
            "userpass": ("username", "password"),
            "approle": ("role_id",),
            "jwt": ("role", "jwt"),
            "oidc": ("role", "jwt"),
            "kubernetes": ("role",),
        }[method]
        for key in needs:
            if getattr(self, key) is None and (self.auth is not None or key != "token"):
                raise ValueError(f"{key}: auth = {method!r} needs {' and '.join(needs)}")

    @property
    def method(self) -> str:
        return self.auth if self.auth is not None else "token"


class VaultStore(Store):
    kind = "vault"
    capabilities = Capabilities(writable=True, versions=True, binary=True)
    Options = VaultOptions
    options: VaultOptions
    # Airflow's VaultBackend: mount_point "airflow", connections_path "connections"
    naming_presets: ClassVar[Mapping[str, NamingRule]] = {
        "airflow": airflow_preset(PLAIN, "airflow/", "/")
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.options.kv_version == 1:
            self.capabilities = replace(self.capabilities, versions=False)  # one value a path
        self._mount = self.options.mount.strip("/") if self.options.mount else None
        self._client: _Client | None = None
        self._login_client: _Client | None = None  # same session, never a token
        self._lock = threading.RLock()
        self._generation = 0  # bumped by every login, so concurrent 403s log in once
        self._refresh_at: float | None = None  # monotonic time to log in again
        self._checked_mounts: set[str] = set()
        # One KV-version check per mount, even when get_many's threads race for it.
        self._mount_lock = threading.Lock()

    # ------------------------------------------------------------------ reads

    def get(self, path: str, version: str | None = None) -> StoredValue:
        mount, inner = self._split(path)
        v2 = self.options.kv_version == 2
        if version is not None:
            if not v2:
                raise InvalidReference(
                    "KV v1 secrets have no versions; drop '?version='", ref=path, store=self.name
                )
            if not _VERSION.fullmatch(version):
                raise InvalidReference(
                    f"KV v2 versions are positive whole numbers, not {version!r}",
                    ref=path,
                    store=self.name,
                )

        def read(client: _Client) -> StoredValue:
            if v2:
                response = client.secrets.kv.v2.read_secret_version(
                    path=inner,
                    version=int(version) if version else None,
                    mount_point=mount,
                    raise_on_deleted_version=True,
                )
                body = response["data"]
                number = body.get("metadata", {}).get("version")
                return StoredValue(
                    self._decode(body.get("data"), path), None if number is None else str(number)
                )
            response = client.secrets.kv.v1.read_secret(path=inner, mount_point=mount)
            return StoredValue(self._decode(response.get("data"), path))

        return self._call(read, path, mount=mount, missing=lambda: self.not_found(path, version))

    def list_names(self, prefix: str = "") -> list[str]:
        if self._mount is not None:
            return sorted(self._walk(self._mount, prefix, ""))
        head, sep, rest = prefix.partition("/")
        if sep:
            return sorted(self._walk(head, rest, f"{head}/"))
        found: list[str] = []
        for mount in self._kv_mounts():
            if mount.startswith(head) and "/" not in mount:
                found.extend(self._walk(mount, "", f"{mount}/"))
        return sorted(found)

    def versions(self, path: str) -> list[str]:
        """KV v2: every version number of ``path``, oldest first (deleted and destroyed
        ones included: they still hold their number). KV v1 keeps one value: ``[]``."""
        if self.options.kv_version == 1:
            return super().versions(path)
        mount, inner = self._split(path)

        def numbers(client: _Client) -> list[str]:
            response = client.secrets.kv.v2.read_secret_metadata(path=inner, mount_point=mount)
            found = (response or {}).get("data", {}).get("versions") or {}
            return [str(number) for number in sorted(int(key) for key in found)]

        return self._call(numbers, path, mount=mount, missing=lambda: self.not_found(path))

    def _walk(self, mount: str, prefix: str, outer: str) -> list[str]:
        """Every secret under ``mount`` whose path starts with ``prefix``: LIST the
        folder the prefix ends in, then only the sub-folders that can hold matches."""
        v2 = self.options.kv_version == 2
        found: list[str] = []
        folders = [prefix[: prefix.rfind("/") + 1]]
        while folders:
            folder = folders.pop()

            def list_folder(client: _Client, folder: str = folder) -> list[str]:
                engine = client.secrets.kv.v2 if v2 else client.secrets.kv.v1
                response = engine.list_secrets(path=folder, mount_point=mount)
                return list((response or {}).get("data", {}).get("keys") or [])

            keys = self._call(list_folder, outer + folder, mount=mount, missing=list)
            for key in keys:
                full = folder + key
                if key.endswith("/"):
                    if full.startswith(prefix) or prefix.startswith(full):
                        folders.append(full)
                elif full.startswith(prefix):
                    found.append(outer + full)
        return found

    def _kv_mounts(self) -> list[str]:
        """The KV mounts of this store's version that the token can see."""

        def mounts(client: _Client) -> dict[str, Any]:
            response = client.adapter.get("/v1/sys/internal/ui/mounts")
            secret: dict[str, Any] = (response or {}).get("data", {}).get("secret") or {}
            return secret

        names = []
        for path, info in self._call(mounts, "", missing=dict).items():
            if isinstance(info, dict) and _kv_version_of(info) == self.options.kv_version:
                names.append(path.strip("/"))
        return names

    # ------------------------------------------------------------------ writes

    def put(self, path: str, value: str | bytes) -> str | None:
        mount, inner = self._split(path)
        if isinstance(value, bytes):
            data = {_VALUE_B64: base64.b64encode(value).decode("ascii")}
        else:
            data = {_VALUE: value}

        def write(client: _Client) -> str | None:
            if self.options.kv_version == 2:
                response = client.secrets.kv.v2.create_or_update_secret(
                    path=inner, secret=data, mount_point=mount
                )
                number = (response or {}).get("data", {}).get("version")
                return None if number is None else str(number)
            client.secrets.kv.v1.create_or_update_secret(
                path=inner, secret=data, method="PUT", mount_point=mount
            )
            return None

        def no_mount() -> InvalidReference:
            return InvalidReference(
                f"Vault has nothing to write to here: is {mount!r} a KV mount?",
                ref=path,
                store=self.name,
            )

        return self._call(write, path, mount=mount, missing=no_mount)

    def delete(self, path: str) -> None:
        """Delete the secret; on KV v2 its metadata and every version."""
        mount, inner = self._split(path)

        def remove(client: _Client) -> None:
            if self.options.kv_version == 2:
                engine = client.secrets.kv.v2
                engine.read_secret_metadata(path=inner, mount_point=mount)  # 404 if absent
                engine.delete_metadata_and_all_versions(path=inner, mount_point=mount)
            else:
                client.secrets.kv.v1.read_secret(path=inner, mount_point=mount)
                client.secrets.kv.v1.delete_secret(path=inner, mount_point=mount)

        self._call(remove, path, mount=mount, missing=lambda: self.not_found(path))

    # ------------------------------------------------------------------ health

    def health(self) -> None:
        """Log in if needed and look the token up: Vault answers, is unsealed, and
        accepts this store's credentials."""

        def lookup(client: _Client) -> None:
            client.auth.token.lookup_self()

        try:
            self._call(lookup, "", missing=lambda: None)
        except AccessDenied as error:
            raise StoreUnavailable(
                f"Vault refused this store's credentials: {error.message}", store=self.name
            ) from None

    def close(self) -> None:
        with self._lock:
            client, self._client, self._login_client = self._client, None, None
            self._refresh_at = None
            self._checked_mounts.clear()
        if client is not None:
            client.adapter.close()

    # ------------------------------------------------------------------ paths and values

    def _split(self, path: str) -> tuple[str, str]:
        segments = path.split("/")
        if not path or any(s in ("", ".", "..") for s in segments):
            raise InvalidReference(
                "a Vault path is '/'-separated segments, none empty, '.' or '..'",
                ref=path,
                store=self.name,
            )
        if self._mount is not None:
            return self._mount, path
        if len(segments) < 2:
            raise InvalidReference(
                "a Vault path is MOUNT/PATH (such as secret/prod/db); or set 'mount' in "
                "the store's config to use paths inside one mount",
                ref=path,
                store=self.name,
            )
        return segments[0], "/".join(segments[1:])

    def _decode(self, data: Any, path: str) -> str | bytes:
        if not isinstance(data, dict):
            raise self.not_found(path)
        if len(data) == 1 and _VALUE in data:
            value = data[_VALUE]
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if len(data) == 1 and isinstance(data.get(_VALUE_B64), str):
            try:
                return base64.b64decode(data[_VALUE_B64], validate=True)
            except (binascii.Error, ValueError):
                raise InvalidSecretValue(
                    f"the secret's {_VALUE_B64!r} key is not valid base64",
                    ref=path,
                    store=self.name,
                ) from None
        return json.dumps(data, ensure_ascii=False)

    # ------------------------------------------------------------------ the client

    def _call(
        self,
        operation: Callable[[_Client], T],
        path: str,
        *,
        mount: str | None = None,
        missing: Callable[[], Any],
    ) -> T:
        """Run ``operation`` with the logged-in client and map hvac's errors to ours:
        404 -> ``missing()``, 403 -> log in again once and retry, then AccessDenied."""
        hvac_exceptions = import_sdk("hvac.exceptions", kind="vault", extra="vault")
        client = self._ready_client()
        if mount is not None and mount not in self._checked_mounts:
            with self._mount_lock:
                if mount not in self._checked_mounts:
                    self._check_mount(client, mount)
        for attempt in (1, 2):
            generation = self._generation
            try:
                return operation(client)
            except hvac_exceptions.InvalidPath as error:
                if not _from_vault(error):
                    # A proxy's or a wrong URL prefix's 404 is no proof the secret is
                    # missing: "not found" would let the chain serve another store's value.
                    raise self._unavailable(error, path) from None
                result: T = missing()
                if isinstance(result, BaseException):
                    raise result from None
                return result
            except (hvac_exceptions.Forbidden, hvac_exceptions.Unauthorized) as error:
                if attempt == 1 and self._login_again(client, generation):
                    continue
                raise AccessDenied(
                    f"Vault refused the request: {_describe(error)}", ref=path, store=self.name
                ) from None
            except SecretBridgeError:
                raise
            except Exception as error:
                raise self._unavailable(error, path) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _unavailable(self, error: Exception, path: str | None) -> StoreUnavailable:
        return StoreUnavailable(
            f"the Vault request failed: {type(error).__name__}: {_describe(error)}",
            ref=path or None,
            store=self.name,
        )

    def _ready_client(self) -> _Client:
        client = self._client
        refresh_at = self._refresh_at
        if client is not None and (refresh_at is None or time.monotonic() < refresh_at):
            return client
        with self._lock:
            if self._client is None:
                client = self._new_client()
                try:
                    self._login(client)
                except BaseException:
                    client.adapter.close()
                    raise
                self._client = client  # published only once it holds a token
            elif self._refresh_at is not None and time.monotonic() >= self._refresh_at:
                self._login(self._client)
            return self._client

    def _login_again(self, client: _Client, generation: int) -> bool:
        """After a 403: log in again (once for any number of threads that saw the same
        token refused). True if there is a new token worth retrying with."""
        with self._lock:
            if self._generation != generation:
                return True  # another thread logged in meanwhile
            previous = client.token
            self._login(client)
            return bool(client.token != previous or self.options.method != "token")

    def _new_client(self) -> _Client:
        hvac = import_sdk("hvac", kind="vault", extra="vault")
        requests = import_sdk("requests", kind="vault", extra="vault")
        adapters = import_sdk("requests.adapters", kind="vault", extra="vault")
        retry_module = import_sdk("urllib3.util.retry", kind="vault", extra="vault")
        options = self.options
        where = f"stores.{self.name}"
        url = options.url or os.environ.get("VAULT_ADDR")
        if not url:
            raise ConfigError(f"{where}.url: not set, and $VAULT_ADDR is not set either")
        url = resolve_indirection(url, where=f"{where}.url")
        retries = options.max_attempts - 1

        class _Retry(retry_module.Retry):  # type: ignore[misc,name-defined]
            def parse_retry_after(self, retry_after: str) -> float:
                # Honour Retry-After (Vault's rate-limit quotas send it) up to
                # backoff_max: urllib3 alone would sleep up to 6 hours per retry.
                return min(float(super().parse_retry_after(retry_after)), options.backoff_max)

        retry = _Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            backoff_factor=options.backoff,
            backoff_jitter=options.backoff,
            backoff_max=options.backoff_max,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,  # every verb: Vault's LIST, logins and writes too
            raise_on_status=False,  # the last answer goes to hvac, which names the error
            respect_retry_after_header=True,
        )
        adapter = adapters.HTTPAdapter(max_retries=retry, pool_connections=2, pool_maxsize=16)
        session = requests.Session()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        verify: bool | str = options.verify
        if options.ca_file is not None:
            ca_file = self._file(options.ca_file)
            if not ca_file.is_file():
                raise ConfigError(f"{where}.ca_file: no such file: {ca_file}")
            verify = str(ca_file)
        session.verify = verify
        cert: tuple[str, str] | tuple[()] = ()  # () not None: hvac would read $VAULT_CLIENT_CERT
        if options.client_cert is not None and options.client_key is not None:
            cert = (str(self._file(options.client_cert)), str(self._file(options.client_key)))
        clients = [
            hvac.Client(
                url=url,
                token="",  # never None: hvac would read $VAULT_TOKEN or ~/.vault-token
                verify=verify,
                cert=cert,
                timeout=(options.connect_timeout, options.timeout),
                session=session,
                namespace=options.namespace,
            )
            for _ in range(2)
        ]
        # Logins go through a second client on the same session that never sends a
        # token: the first one keeps its (maybe expired) token until the new one is set.
        self._login_client = clients[1]
        client: _Client = clients[0]
        return client

    def _file(self, name: str) -> Path:
        path = Path(name).expanduser()
        return path if path.is_absolute() else self.context.base_dir / path

    def _login(self, client: _Client) -> None:
        """Get a token by the configured method; remember when to get the next one."""
        options = self.options
        method = options.method
        where = f"stores.{self.name}"
        mount = (options.auth_mount or method).strip("/")

        def secret(key: str, default: str | None = None) -> str:
            raw = getattr(options, key) or default
            if raw is None:  # __post_init__ makes sure of it; a store built in code may not
                raise ConfigError(f"{where}.{key}: auth = {method!r} needs it")
            return resolve_indirection(raw, where=f"{where}.{key}")

        if method == "token":
            if options.token is None:
                raise ConfigError(
                    f"{where}: no Vault credentials are configured; set token "
                    "(token = 'env:VAULT_TOKEN' or 'file:/path') or auth with its settings. "
                    "~/.vault-token and $VAULT_TOKEN are only read when the config names them"
                )
            client.token = secret("token")
            self._generation += 1
            self._refresh_at = None
            return
        hvac_exceptions = import_sdk("hvac.exceptions", kind="vault", extra="vault")
        login = self._login_client
        assert login is not None
        try:
            if method == "userpass":
                response = login.auth.userpass.login(
                    username=options.username,
                    password=secret("password"),
                    use_token=False,
                    mount_point=mount,
                )
            elif method == "approle":
                secret_id = secret("secret_id") if options.secret_id is not None else None
                response = login.auth.approle.login(
                    role_id=secret("role_id"),
                    secret_id=secret_id,
                    use_token=False,
                    mount_point=mount,
                )
            elif method in ("jwt", "oidc"):
                response = login.auth.jwt.jwt_login(
                    role=options.role, jwt=secret("jwt"), use_token=False, path=mount
                )
            else:  # kubernetes
                response = login.auth.kubernetes.login(
                    role=options.role,
                    jwt=secret("jwt", f"file:{K8S_TOKEN_FILE}"),
                    use_token=False,
                    mount_point=mount,
                )
        except SecretBridgeError:
            raise
        except (
            hvac_exceptions.InvalidRequest,
            hvac_exceptions.Forbidden,
            hvac_exceptions.Unauthorized,
            hvac_exceptions.InvalidPath,
        ) as error:
            raise AccessDenied(
                f"login to Vault failed (auth method {method!r} at auth/{mount}): "
                f"{_describe(error)}",
                store=self.name,
            ) from None
        except Exception as error:
            raise self._unavailable(error, None) from None
        auth = (response or {}).get("auth") or {}
        token = auth.get("client_token")
        if not isinstance(token, str) or not token:
            raise StoreUnavailable(
                f"login to Vault (auth method {method!r} at auth/{mount}) returned no token",
                store=self.name,
            )
        client.token = token
        ttl = float(auth.get("lease_duration") or 0)
        self._generation += 1
        # Log in again at 80% of the token's life (at most a minute early).
        self._refresh_at = time.monotonic() + ttl - min(ttl * 0.2, 60.0) if ttl > 0 else None

    def _check_mount(self, client: _Client, mount: str) -> None:
        """Once per mount: is it a KV engine of the configured version? An unreadable
        answer (no such mount, or the token may not look) leaves the check to the call."""
        hvac_exceptions = import_sdk("hvac.exceptions", kind="vault", extra="vault")
        try:
            response = client.adapter.get(f"/v1/sys/internal/ui/mounts/{_quote(mount)}")
        except (hvac_exceptions.Forbidden, hvac_exceptions.InvalidPath):
            self._checked_mounts.add(mount)  # not ours to know: the call itself will say
            return
        except Exception:
            return  # transient (5xx, throttled, unreachable): check again next time
        info = (response or {}).get("data") or {}
        if not isinstance(info, dict) or not info.get("type"):
            return
        found = _kv_version_of(info)
        if found != self.options.kv_version:
            what = f"KV version {found}" if found else f"a {info.get('type')!r} engine"
            raise ConfigError(
                f"stores.{self.name}.kv_version: mount {mount!r} is {what}, "
                f"but the store is configured for KV version {self.options.kv_version}",
                store=self.name,
            )
        self._checked_mounts.add(mount)


def _kv_version_of(info: dict[str, Any]) -> int | None:
    if info.get("type") not in ("kv", "generic"):
        return None
    version = str((info.get("options") or {}).get("version") or "1")
    return 2 if version == "2" else 1


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="/")


def _from_vault(error: BaseException) -> bool:
    """Whether a 404 is Vault's own answer (``{"errors": [...]}``, or a deleted KV v2
    version's ``{"data": ...}``), not a proxy's or another server's page."""
    body = getattr(error, "json", None)
    return isinstance(body, dict) and ("errors" in body or "data" in body)


def _describe(error: BaseException) -> str:
    """hvac's message is Vault's error list and the request line: no values."""
    errors: Iterable[Any] | None = getattr(error, "errors", None)
    if errors and not isinstance(errors, str):
        text = "; ".join(str(e) for e in errors)
        method, url = getattr(error, "method", None), getattr(error, "url", None)
        return f"{text} ({method.upper()} {url})" if method and url else text
    return str(error) or type(error).__name__
