"""``k8s``: Kubernetes Secrets (core/v1), through the official ``kubernetes`` client.

Paths:

- ``name`` — a Secret in the store's namespace (what logical names map to)
- ``namespace/name`` — a Secret in another namespace
- ``namespace/name/key`` — one key of a Secret

A whole Secret reads as a JSON object of its keys (``k8s://pipelines/snowflake#password``
picks one), except a Secret whose only key is ``value``, which reads as that value: it
is what :meth:`put` writes for a plain value, so a logical name maps to one value.
A key path reads as the key's value. Values are bytes in Kubernetes; one that is not
UTF-8, or whose key is listed in the ``secretbridge.io/binary-keys`` annotation (which
``put`` of bytes sets), comes back as bytes; inside a JSON object, such a value is its
base64 text.

The namespace used for one-segment paths is the ``namespace`` option, else the
kubeconfig context's (or, in a pod, the service account's), else ``default``.
Credentials come from the kubeconfig (``kubeconfig`` option, else ``$KUBECONFIG``/
``~/.kube/config``; exec plugins and token refresh work as in kubectl), or the pod's
service account with ``in_cluster = true``.

Every call has a ``connect_timeout`` and a ``timeout`` (read); 429 and 5xx answers and
connection errors are retried by urllib3's Retry on the client's pool (exponential
backoff from ``backoff`` seconds with jitter, ``Retry-After`` honoured up to
``backoff_max``), ``max_attempts`` tries in all. A Secret holds at most 1 MiB. Listing
asks for metadata only (``PartialObjectMetadataList``), so it never transfers values.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import resolve_indirection
from ..errors import (
    AccessDenied,
    ConfigError,
    InvalidReference,
    SecretBridgeError,
    StoreUnavailable,
)
from ..naming import NamingRule
from .base import BackoffOptions, Capabilities, Lazy, Store, StoredValue, import_sdk

VALUE_KEY = "value"
BINARY_KEYS = "secretbridge.io/binary-keys"
_SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_MAX_NAME = 253
_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")
_METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
_CONFLICT_TRIES = 5


@dataclass(frozen=True)
class KubernetesOptions(BackoffOptions):
    namespace: str | None = None  # default: the kubeconfig context's, else "default"
    kubeconfig: str | None = None  # path (env:VAR allowed); default $KUBECONFIG, ~/.kube/config
    context: str | None = None  # default: the kubeconfig's current context
    in_cluster: bool = False  # the pod's service account token and CA
    connect_timeout: float = 5.0  # seconds to connect, per try
    max_attempts: int = 4
    backoff: float = 0.1
    page_size: int = 500  # Secrets per list page

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.page_size < 1:
            raise ValueError("page_size: must be at least 1")
        if self.in_cluster and (self.kubeconfig or self.context):
            raise ValueError("in_cluster: cannot be combined with kubeconfig or context")
        if self.namespace is not None and not _NAMESPACE.fullmatch(self.namespace):
            raise ValueError("namespace: not a valid namespace name (DNS-1123 label)")


@dataclass(frozen=True)
class _Path:
    namespace: str
    name: str
    key: str | None


class KubernetesStore(Store):
    kind = "k8s"
    capabilities = Capabilities(writable=True, binary=True, max_value_size=1024 * 1024)
    Options = KubernetesOptions
    options: KubernetesOptions
    # A logical name is one Secret: a DNS-1123 subdomain in the store's namespace.
    default_naming = NamingRule(
        separator=".",
        case="lower",
        replace={"_": "-"},
        allowed=r"a-z0-9.-",
        allowed_description="lower case letters, digits, '-' and '.' (DNS-1123)",
        pattern=_NAME.pattern,
        max_length=_MAX_NAME,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connection: Lazy[tuple[Any, str]] = Lazy(self._open)

    # ------------------------------------------------------------------ the client

    def _connect(self) -> tuple[Any, str]:
        """The CoreV1 API client and the default namespace, built once."""
        return self._connection.get()

    def _open(self) -> tuple[Any, str]:
        kubernetes = import_sdk("kubernetes", kind=self.kind, extra="k8s")
        client, config = kubernetes.client, kubernetes.config
        configuration = client.Configuration()
        namespace = self._load(config, configuration)
        configuration.retries = self._retry()
        api = client.CoreV1Api(client.ApiClient(configuration))
        return api, self.options.namespace or namespace or "default"

    def _load(self, config: Any, configuration: Any) -> str | None:
        """Fill ``configuration`` from the pod or a kubeconfig; returns its namespace."""
        where = f"stores.{self.name}"
        if self.options.in_cluster:
            try:
                config.load_incluster_config(client_configuration=configuration)
            except config.ConfigException as error:
                raise StoreUnavailable(
                    f"not running in a Kubernetes pod with a service account: {error}",
                    store=self.name,
                ) from None
            try:
                with open(f"{_SA_DIR}/namespace", encoding="utf-8") as handle:
                    return handle.read().strip() or None
            except OSError:
                return None
        path: str | None = None
        if self.options.kubeconfig is not None:
            given = resolve_indirection(self.options.kubeconfig, where=f"{where}.kubeconfig")
            path = str(self.context.base_dir / Path(given).expanduser())  # absolute stays so
        try:
            config.load_kube_config(
                config_file=path,
                context=self.options.context,
                client_configuration=configuration,
                persist_config=False,
            )
            contexts, current = config.list_kube_config_contexts(path)
        except (config.ConfigException, OSError, ValueError) as error:
            # Kubeconfig errors name files and contexts, never the credentials in them.
            raise ConfigError(f"{where}.kubeconfig: cannot use the kubeconfig: {error}") from None
        chosen = current
        if self.options.context is not None:
            chosen = next((c for c in contexts if c.get("name") == self.options.context), None)
        namespace = ((chosen or {}).get("context") or {}).get("namespace")
        return str(namespace) if namespace else None

    def _retry(self) -> Any:
        import urllib3

        cap = self.options.backoff_max

        class _Retry(urllib3.Retry):
            def parse_retry_after(self, retry_after: str) -> float:
                return min(float(super().parse_retry_after(retry_after)), cap)

        tries = self.options.max_attempts - 1
        return _Retry(
            total=tries,
            connect=tries,
            read=tries,
            status=tries,
            other=0,
            redirect=0,
            backoff_factor=self.options.backoff,
            backoff_jitter=self.options.backoff,
            backoff_max=cap,
            status_forcelist=(429, 500, 502, 503, 504),
            # Reads, replaces and deletes repeat safely; a create or a patch does not.
            allowed_methods=frozenset({"GET", "HEAD", "PUT", "DELETE"}),
            respect_retry_after_header=True,
            raise_on_status=False,  # the last answer comes back, with its Status
        )

    def _timeout(self) -> tuple[float, float]:
        return (self.options.connect_timeout, self.options.timeout)

    def close(self) -> None:
        connection = self._connection.take()
        if connection is not None:
            connection[0].api_client.close()

    # ------------------------------------------------------------------ paths and errors

    def _parse(self, path: str, namespace: str) -> _Path:
        parts = path.split("/")
        if len(parts) == 1:
            parts = [namespace, *parts]
        if len(parts) > 3:
            raise self._bad_path(path, "at most namespace/name/key")
        ns, name = parts[0], parts[1]
        key = parts[2] if len(parts) == 3 else None
        if not _NAMESPACE.fullmatch(ns):
            raise self._bad_path(path, f"namespace {ns!r} is not a DNS-1123 label")
        if not (_NAME.fullmatch(name) and len(name) <= _MAX_NAME):
            raise self._bad_path(path, f"Secret name {name!r} is not a DNS-1123 subdomain")
        if key is not None and not _KEY.fullmatch(key):
            raise self._bad_path(path, f"key {key!r} is not letters, digits, '-', '_' or '.'")
        return _Path(ns, name, key)

    def _bad_path(self, path: str, why: str) -> InvalidReference:
        return InvalidReference(
            f"a Kubernetes path is name, namespace/name or namespace/name/key: {why}",
            ref=path,
            store=self.name,
        )

    def _translate(self, error: BaseException, path: str) -> SecretBridgeError:
        kubernetes = import_sdk("kubernetes", kind=self.kind, extra="k8s")
        if isinstance(error, SecretBridgeError):
            return error
        if isinstance(error, kubernetes.client.ApiException):
            code = int(error.status or 0)
            reason, message = _status_of(error.body, error.reason)
            text = f"the API server answered {code} {reason}: {message}"
            if code == 404:
                if _about_secrets(error.body):
                    return self.not_found(path)
                # Not the Secret's own 404 (a wrong server URL, a proxy): "not found"
                # would let the resolver's chain serve a different store's value.
                return StoreUnavailable(
                    f"{text} (not a Secret's answer: is the server URL right?)",
                    ref=path,
                    store=self.name,
                )
            if code == 409:
                return _Conflict(text, ref=path, store=self.name)
            if code in (401, 403):
                return AccessDenied(text, ref=path, store=self.name)
            return StoreUnavailable(text, ref=path, store=self.name)
        return StoreUnavailable(
            f"the API server could not be reached: {type(error).__name__}: {error}",
            ref=path,
            store=self.name,
        )

    def _call(self, path: str, fn: Any, *args: Any, write: bool = False, **kwargs: Any) -> Any:
        try:
            return fn(*args, _request_timeout=self._timeout(), **kwargs)
        except Exception as error:
            cause, translated = error, self._translate(error, path)
        # A failed write's exception may hold the request body: do not chain it.
        raise translated from (None if write else cause)

    # ------------------------------------------------------------------ reads

    def _read(self, api: Any, where: _Path, path: str) -> Any:
        return self._call(path, api.read_namespaced_secret, where.name, where.namespace)

    def get(self, path: str, version: str | None = None) -> StoredValue:
        if version is not None:
            raise InvalidReference(
                "Kubernetes Secrets have no versions; drop '?version='",
                ref=path,
                store=self.name,
            )
        api, namespace = self._connect()
        where = self._parse(path, namespace)
        secret = self._read(api, where, path)
        data: dict[str, str] = secret.data or {}
        binary = _binary_keys(secret)
        if where.key is not None:
            if where.key not in data:
                raise self.not_found(path)
            return StoredValue(_decode(data[where.key], where.key in binary))
        if list(data) == [VALUE_KEY]:
            return StoredValue(_decode(data[VALUE_KEY], VALUE_KEY in binary))
        document: dict[str, str] = {}
        for key, encoded in data.items():
            value = _decode(encoded, key in binary)
            document[key] = value if isinstance(value, str) else encoded
        return StoredValue(json.dumps(document, ensure_ascii=False))

    def list_names(self, prefix: str = "") -> list[str]:
        api, namespace = self._connect()
        parts = prefix.split("/")
        if len(parts) >= 3:  # keys of one Secret
            ns, name, key_prefix = parts[0], parts[1], "/".join(parts[2:])
            try:
                where = self._parse(f"{ns}/{name}", namespace)
                secret = self._read(api, where, prefix)
            except (InvalidReference, LookupError):
                return []
            return sorted(
                f"{ns}/{name}/{key}" for key in (secret.data or {}) if key.startswith(key_prefix)
            )
        if len(parts) == 2:
            ns, name_prefix, shown = parts[0], parts[1], f"{parts[0]}/"
            if not _NAMESPACE.fullmatch(ns):
                return []
        else:
            ns, name_prefix, shown = namespace, prefix, ""
        return sorted(
            shown + name for name in self._names(api, ns, prefix) if name.startswith(name_prefix)
        )

    def _names(self, api: Any, namespace: str, path: str) -> Iterator[str]:
        """Secret names in ``namespace``, a page at a time, as metadata only."""
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": self.options.page_size}
            if token:
                kwargs["_continue"] = token
            response = self._call(
                path,
                api.list_namespaced_secret,
                namespace,
                _headers={"Accept": _METADATA_ONLY},
                _preload_content=False,
                **kwargs,
            )
            body = response.data
            if response.status >= 400:
                kubernetes = import_sdk("kubernetes", kind=self.kind, extra="k8s")
                error = kubernetes.client.ApiException(status=response.status, reason="")
                error.body = body
                raise self._translate(error, path)
            try:
                document = json.loads(body)
            except ValueError:
                raise StoreUnavailable(
                    "the API server's list answer is not JSON", ref=path, store=self.name
                ) from None
            for item in document.get("items") or ():
                yield item["metadata"]["name"]
            previous, token = token, (document.get("metadata") or {}).get("continue")
            if not token or token == previous:  # a repeated token would loop forever
                return

    def health(self) -> None:
        api, namespace = self._connect()
        response = self._call(
            namespace,
            api.list_namespaced_secret,
            namespace,
            limit=1,
            _headers={"Accept": _METADATA_ONLY},
            _preload_content=False,
        )
        if response.status >= 400:
            kubernetes = import_sdk("kubernetes", kind=self.kind, extra="k8s")
            error = kubernetes.client.ApiException(status=response.status, reason="")
            error.body = response.data
            raise self._translate(error, namespace)

    # ------------------------------------------------------------------ writes

    def put(self, path: str, value: str | bytes) -> None:
        raw = value.encode("utf-8") if isinstance(value, str) else value
        api, namespace = self._connect()
        where = self._parse(path, namespace)
        key = where.key or VALUE_KEY
        encoded = base64.b64encode(raw).decode("ascii")
        kubernetes = import_sdk("kubernetes", kind=self.kind, extra="k8s")
        client = kubernetes.client
        binary = {key} if isinstance(value, bytes) else set()
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(
                name=where.name, annotations={BINARY_KEYS: key} if binary else None
            ),
            type="Opaque",
            data={key: encoded},
        )
        try:
            self._call(path, api.create_namespaced_secret, where.namespace, body, write=True)
            return
        except _Conflict:
            pass

        def change(data: dict[str, str], binary_keys: set[str]) -> set[str]:
            if where.key is None:  # the whole Secret becomes this one value
                data.clear()
            data[key] = encoded
            return (binary_keys - {key}) | binary

        self._rewrite(api, where, path, "write", change)  # it exists: read, change, replace

    def delete(self, path: str) -> None:
        api, namespace = self._connect()
        where = self._parse(path, namespace)
        if where.key is None:
            self._call(path, api.delete_namespaced_secret, where.name, where.namespace, write=True)
            return

        def change(data: dict[str, str], binary_keys: set[str]) -> set[str]:
            if data.pop(str(where.key), None) is None:
                raise self.not_found(path)
            return binary_keys

        self._rewrite(api, where, path, "delete", change)

    def _rewrite(
        self,
        api: Any,
        where: Any,
        path: str,
        action: str,
        change: Callable[[dict[str, str], set[str]], set[str]],
    ) -> None:
        """Read a Secret, let ``change`` edit its data (returning the keys that hold
        bytes), and replace it; again if another writer got in between (409)."""
        for _ in range(_CONFLICT_TRIES):
            secret = self._read(api, where, path)
            data = dict(secret.data or {})
            binary = change(data, _binary_keys(secret) & set(data)) & set(data)
            annotations = dict(secret.metadata.annotations or {})
            annotations.pop(BINARY_KEYS, None)
            if binary:
                annotations[BINARY_KEYS] = ",".join(sorted(binary))
            secret.metadata.annotations = annotations
            secret.data = data
            secret.string_data = None
            try:
                self._call(
                    path,
                    api.replace_namespaced_secret,
                    where.name,
                    where.namespace,
                    secret,
                    write=True,
                )
                return
            except _Conflict:
                continue
        raise StoreUnavailable(
            f"the Secret kept changing under the {action} (409 Conflict); try again",
            ref=path,
            store=self.name,
        )


class _Conflict(StoreUnavailable):
    """409: the Secret exists already, or changed since it was read."""


def _binary_keys(secret: Any) -> set[str]:
    annotations = (secret.metadata.annotations if secret.metadata else None) or {}
    text = annotations.get(BINARY_KEYS) or ""
    return {key.strip() for key in text.split(",") if key.strip()}


def _decode(encoded: str, binary: bool) -> str | bytes:
    raw = base64.b64decode(encoded)
    if binary:
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _about_secrets(body: Any) -> bool:
    """Whether a 404's body is the API server's Status about a Secret (``secrets "x"
    not found``), rather than an unknown path's or another server's."""
    try:
        status = json.loads(body) if body else None
    except (TypeError, ValueError):
        return False
    if not isinstance(status, dict) or status.get("kind") != "Status":
        return False
    details = status.get("details")
    return isinstance(details, dict) and details.get("kind") == "secrets"


def _status_of(body: Any, fallback: Any) -> tuple[str, str]:
    """(reason, message) of a Kubernetes Status body; Status messages name objects,
    never Secret data."""
    try:
        status = json.loads(body) if body else {}
    except (TypeError, ValueError):
        status = {}
    if not isinstance(status, dict):
        status = {}
    reason = str(status.get("reason") or fallback or "")
    message = str(status.get("message") or "")[:300]
    return reason, message
