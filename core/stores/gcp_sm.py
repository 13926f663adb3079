"""``gcp-sm``: Google Cloud Secret Manager, through ``google-cloud-secret-manager``.

Paths are a secret id in the configured project (``snowflake``), or a full name
(``projects/P/secrets/S``). Versions are ``latest`` (the default), a version number,
or a version alias. Payloads are bytes on the wire and carry no type: a payload that
is valid UTF-8 comes back as text, anything else as bytes. Reads check the payload's
CRC-32C; writes send one, so the service refuses a corrupted upload.

Credentials come from Application Default Credentials (``GOOGLE_APPLICATION_CREDENTIALS``,
the metadata server, workload identity), or a service-account key in
``credentials_file`` (a path, or ``env:VAR``/``file:/path`` holding the path or the
JSON itself). ``anonymous = true`` is for local stand-ins and emulators only and is
refused without ``api_endpoint``.

Reads and writes retry throttling (429) and unavailability (503) with exponential
backoff and full jitter (google.api_core Retry), reads also timeouts and dropped
connections, up to ``max_attempts`` tries within ``deadline`` seconds; each try has
``timeout`` seconds. The first wait is ``backoff`` seconds, doubled per retry up to
``backoff_max``.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ..config import resolve_indirection
from ..errors import (
    AccessDenied,
    ConfigError,
    InvalidReference,
    SecretBridgeError,
    StoreUnavailable,
    unchained,
)
from ..naming import NamingRule, airflow_preset
from .base import BackoffOptions, Capabilities, Lazy, Store, StoredValue, import_sdk

_ID_CHARS, _MAX_ID = r"A-Za-z0-9_-", 255
_ID = re.compile(f"[{_ID_CHARS}]{{1,{_MAX_ID}}}")
_FULL = re.compile(r"projects/(?P<project>[^/]+)/secrets/(?P<secret>[^/]+)")
_VERSION = re.compile(r"[1-9][0-9]{0,18}|[A-Za-z][A-Za-z0-9_-]{0,62}")
_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
_TRANSPORT_LOGGER = "google.cloud.secretmanager_v1.services.secret_manager_service.transports"


@dataclass(frozen=True)
class SecretManagerOptions(BackoffOptions):
    project: str | None = None  # default: the project of the credentials (ADC)
    credentials_file: str | None = None  # service-account key: a path, env:VAR or file:/path
    api_endpoint: str | None = None  # e.g. a regional or private endpoint, or a local stand-in
    transport: Literal["grpc", "rest"] = "grpc"
    anonymous: bool = False  # no credentials at all: local stand-ins and emulators only
    deadline: float = 60.0  # seconds for all tries of one call
    max_attempts: int = 5
    backoff: float = 0.1
    backoff_max: float = 5.0
    page_size: int = 250  # secrets per listSecrets page
    filter: str | None = None  # extra listSecrets filter, e.g. "labels.team=data"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.deadline < math.inf:
            raise ValueError("deadline: must be more than 0 seconds")
        if not 1 <= self.page_size <= 25000:
            raise ValueError("page_size: must be between 1 and 25000")
        if self.anonymous and not self.api_endpoint:
            raise ValueError(
                "anonymous: only for a local stand-in or emulator; set api_endpoint too"
            )
        if self.anonymous and self.credentials_file:
            raise ValueError("anonymous: cannot be combined with credentials_file")
        if self.project is not None and not self.project:
            raise ValueError("project: must not be empty")


class SecretManagerStore(Store):
    kind = "gcp-sm"
    # Not ``binary``: a payload carries no type, so bytes that happen to be UTF-8 come
    # back as text (a non-UTF-8 payload does come back as bytes).
    capabilities = Capabilities(
        writable=True, versions=True, binary=False, max_value_size=64 * 1024
    )
    Options = SecretManagerOptions
    options: SecretManagerOptions
    default_naming = NamingRule(
        separator="-",
        replace={".": "-"},
        allowed=_ID_CHARS,
        allowed_description="letters, digits, '_' and '-'",
        max_length=_MAX_ID,
    )
    # Airflow's CloudSecretManagerBackend: airflow-connections-<id>, sep "-"
    naming_presets: ClassVar[Mapping[str, NamingRule]] = {
        "airflow": airflow_preset(default_naming, "airflow-", "-", replace={})
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connection: Lazy[tuple[Any, str]] = Lazy(self._open)

    # ------------------------------------------------------------------ the client

    def _sdk(self) -> Any:
        return import_sdk("google.cloud.secretmanager", kind=self.kind, extra="gcp")

    def _connect(self) -> tuple[Any, str]:
        """The client and the project, built once."""
        return self._connection.get()

    def _open(self) -> tuple[Any, str]:
        secretmanager = self._sdk()
        _quiet_payload_logging()
        credentials, project = self._credentials()
        from google.api_core.client_options import ClientOptions

        client_options = (
            ClientOptions(api_endpoint=self.options.api_endpoint)
            if self.options.api_endpoint
            else None
        )
        transport: Any = self.options.transport
        if self.options.anonymous and transport == "grpc":
            # A local emulator speaks plain gRPC; production gRPC is always TLS.
            grpc = importlib.import_module("grpc")
            endpoint = self.options.api_endpoint or ""
            endpoint = endpoint.split("://", 1)[-1]
            transports = secretmanager.SecretManagerServiceClient.get_transport_class
            transport = transports("grpc")(
                credentials=credentials, channel=grpc.insecure_channel(endpoint)
            )
            client = secretmanager.SecretManagerServiceClient(transport=transport)
        else:
            client = secretmanager.SecretManagerServiceClient(
                credentials=credentials,
                transport=transport,
                client_options=client_options,
            )
        return client, project

    @unchained()  # a JSONDecodeError keeps the whole key text (.doc)
    def _credentials(self) -> tuple[Any, str]:
        where = f"stores.{self.name}"
        if self.options.anonymous:
            from google.auth.credentials import AnonymousCredentials

            if not self.options.project:
                raise ConfigError(f"{where}.project: needed with anonymous = true")
            return AnonymousCredentials(), self.options.project  # type: ignore[no-untyped-call]
        if self.options.credentials_file:
            from google.oauth2 import service_account

            raw = resolve_indirection(
                self.options.credentials_file, where=f"{where}.credentials_file"
            )
            try:
                if raw.lstrip().startswith("{"):
                    info = json.loads(raw)
                else:
                    with open(raw, encoding="utf-8") as handle:
                        info = json.load(handle)
                credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                    info, scopes=_SCOPES
                )
            except (OSError, ValueError, KeyError) as error:
                # The text may be a private key: name the problem, never the content.
                reason = error.strerror if isinstance(error, OSError) else type(error).__name__
                raise ConfigError(
                    f"{where}.credentials_file: not a usable service-account key ({reason})"
                ) from None
            project = self.options.project or info.get("project_id")
            if not project:
                raise ConfigError(f"{where}.project: not set, and the key names no project")
            return credentials, project
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            credentials, found = google.auth.default(scopes=_SCOPES)
        except DefaultCredentialsError as error:
            raise StoreUnavailable(
                f"no Google credentials found (Application Default Credentials): {error}",
                store=self.name,
            ) from None
        project = self.options.project or found
        if not project:
            raise ConfigError(
                f"{where}.project: not set, and Application Default Credentials name no project"
            )
        return credentials, project

    def close(self) -> None:
        connection = self._connection.take()
        if connection is not None:
            connection[0].transport.close()

    # ------------------------------------------------------------------ calls

    def _retry(self, *, read: bool) -> Any:
        """A google.api_core Retry for one call: 429/503 (and, for reads, timeouts and
        dropped connections) with exponential backoff and full jitter, at most
        ``max_attempts`` tries within ``deadline`` seconds."""
        from google.api_core import exceptions
        from google.api_core.retry import Retry

        retryable: tuple[type[BaseException], ...] = (
            exceptions.ServiceUnavailable,
            exceptions.TooManyRequests,
            exceptions.ResourceExhausted,
        )
        if read:
            import requests

            retryable += (
                exceptions.DeadlineExceeded,
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
            )
        failures = 0

        def predicate(error: BaseException) -> bool:
            nonlocal failures
            failures += 1
            return isinstance(error, retryable) and failures < self.options.max_attempts

        return Retry(
            predicate=predicate,
            initial=self.options.backoff,
            maximum=min(self.options.backoff_max, self.options.deadline),
            multiplier=2.0,
            timeout=self.options.deadline,
        )

    def _call(
        self,
        fn: Callable[..., Any],
        request: dict[str, Any],
        *,
        path: str,
        read: bool = True,
        version: str | None = None,
    ) -> Any:
        from google.api_core import exceptions

        try:
            return fn(request=request, retry=self._retry(read=read), timeout=self.options.timeout)
        except Exception as error:
            cause = error.cause if isinstance(error, exceptions.RetryError) else error
            translated = self._translate(cause or error, path, version)
        # A failed write's exception holds the request, payload included: do not chain it.
        raise translated from (cause if read else None)

    def _translate(self, error: BaseException, path: str, version: str | None) -> Exception:
        from google.api_core import exceptions

        if isinstance(error, SecretBridgeError):
            return error
        message = getattr(error, "message", None) or str(error)
        if isinstance(error, exceptions.NotFound):
            return self.not_found(path, version)
        if isinstance(error, exceptions.FailedPrecondition) and version is not None:
            # A disabled or destroyed version: there is no value to serve.
            return self.not_found(path, version)
        # gRPC says PermissionDenied/Unauthenticated; REST says Forbidden/Unauthorized.
        if isinstance(
            error,
            exceptions.PermissionDenied
            | exceptions.Unauthenticated
            | exceptions.Forbidden
            | exceptions.Unauthorized,
        ):
            return AccessDenied(
                f"Secret Manager refused access: {type(error).__name__}: {message}",
                ref=path,
                store=self.name,
            )
        return StoreUnavailable(
            f"Secret Manager call failed: {type(error).__name__}: {message}",
            ref=path,
            store=self.name,
        )

    def _secret_name(self, path: str, project: str) -> str:
        if _ID.fullmatch(path):
            return f"projects/{project}/secrets/{path}"
        full = _FULL.fullmatch(path)
        if full and _ID.fullmatch(full["secret"]):
            return path
        raise InvalidReference(
            "a Secret Manager path is a secret id (letters, digits, '_' and '-', at most "
            "255) or projects/PROJECT/secrets/SECRET",
            ref=path,
            store=self.name,
        )

    # ------------------------------------------------------------------ reads

    def get(self, path: str, version: str | None = None) -> StoredValue:
        if version is not None and not _VERSION.fullmatch(version):
            raise InvalidReference(
                f"a Secret Manager version is a number, 'latest' or an alias; got {version!r}",
                ref=path,
                store=self.name,
            )
        client, project = self._connect()
        name = f"{self._secret_name(path, project)}/versions/{version or 'latest'}"
        response = self._call(
            client.access_secret_version, {"name": name}, path=path, version=version
        )
        payload = response.payload
        data = bytes(payload.data)
        if "data_crc32c" in payload and payload.data_crc32c != crc32c(data):
            raise StoreUnavailable(
                "the payload failed its CRC-32C check (corrupted in transit)",
                ref=path,
                store=self.name,
            )
        number = response.name.rsplit("/", 1)[-1] or None
        try:
            return StoredValue(data.decode("utf-8"), number)
        except UnicodeDecodeError:
            return StoredValue(data, number)

    def list_names(self, prefix: str = "") -> list[str]:
        client, project = self._connect()
        request: dict[str, Any] = {
            "parent": f"projects/{project}",
            "page_size": self.options.page_size,
        }
        if self.options.filter:
            request["filter"] = self.options.filter
        pager = self._call(client.list_secrets, request, path=prefix)
        names: list[str] = []
        try:
            for secret in pager:
                secret_id = secret.name.rsplit("/", 1)[-1]
                if secret_id.startswith(prefix):
                    names.append(secret_id)
        except Exception as error:  # a later page failed after its retries
            raise self._translate(error, prefix, None) from None
        return sorted(names)

    def versions(self, path: str) -> list[str]:
        """The version numbers of a secret, oldest first (enabled or not)."""
        client, project = self._connect()
        request = {"parent": self._secret_name(path, project), "page_size": 1000}
        pager = self._call(client.list_secret_versions, request, path=path)
        try:
            numbers = [int(v.name.rsplit("/", 1)[-1]) for v in pager]
        except Exception as error:
            raise self._translate(error, path, None) from None
        return [str(n) for n in sorted(numbers)]

    def health(self) -> None:
        client, project = self._connect()
        self._call(
            client.list_secrets,
            {"parent": f"projects/{project}", "page_size": 1},
            path=f"projects/{project}",
        )

    # ------------------------------------------------------------------ writes

    def put(self, path: str, value: str | bytes) -> str | None:
        data = value.encode("utf-8") if isinstance(value, str) else value
        client, project = self._connect()
        name = self._secret_name(path, project)
        request = {"parent": name, "payload": {"data": data, "data_crc32c": crc32c(data)}}
        try:
            added = self._call(client.add_secret_version, request, path=path, read=False)
        except SecretBridgeError as error:
            if not isinstance(error, LookupError):
                raise
            self._create(client, name, path)
            added = self._call(client.add_secret_version, request, path=path, read=False)
        return str(added.name.rsplit("/", 1)[-1])

    def _create(self, client: Any, name: str, path: str) -> None:
        from google.api_core import exceptions

        parent, _, secret_id = name.rpartition("/secrets/")
        request = {
            "parent": parent,
            "secret_id": secret_id,
            "secret": {"replication": {"automatic": {}}},
        }
        try:
            client.create_secret(
                request=request, retry=self._retry(read=False), timeout=self.options.timeout
            )
        except exceptions.Conflict:  # 409: AlreadyExists (gRPC) or Conflict (REST)
            pass  # created by someone else in between: add the version to it
        except exceptions.RetryError as error:
            raise self._translate(error.cause or error, path, None) from None
        except Exception as error:
            raise self._translate(error, path, None) from None

    def delete(self, path: str) -> None:
        client, project = self._connect()
        name = self._secret_name(path, project)
        self._call(client.delete_secret, {"name": name}, path=path, read=False)


# ---------------------------------------------------------------------- helpers


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum Secret Manager keeps for each payload."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


class _RedactPayloads(logging.Filter):
    """The client's transports log request and response payloads (base64 secret data)
    as structured ``extra`` fields at DEBUG; blank them so a debug log holds no value."""

    def filter(self, record: logging.LogRecord) -> bool:
        for attribute in ("httpRequest", "httpResponse", "request", "response"):
            entry = getattr(record, attribute, None)
            if isinstance(entry, dict) and "payload" in entry:
                setattr(record, attribute, {**entry, "payload": "<redacted by secretbridge>"})
        return True


_FILTER = _RedactPayloads()


def _quiet_payload_logging() -> None:
    for module in ("rest", "grpc", "grpc_asyncio"):
        logger = logging.getLogger(f"{_TRANSPORT_LOGGER}.{module}")
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
