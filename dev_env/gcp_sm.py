"""A stand-in for Google Cloud Secret Manager (v1), as the REST transport of the
``google-cloud-secret-manager`` client calls it (``transport="rest"`` with an
``http://`` ``api_endpoint`` and anonymous credentials).

It speaks, for ``projects/{p}/secrets/{s}`` in any project:

- ``GET  /v1/projects/{p}/secrets/{s}/versions/{v}:access`` (``v`` a number or ``latest``):
  ``payload.data`` base64 and ``payload.dataCrc32c``
- ``GET  /v1/projects/{p}/secrets/{s}`` and ``DELETE`` (the secret and all its versions)
- ``GET  /v1/projects/{p}/secrets`` paged (``pageSize``, ``pageToken``), with an optional
  ``filter`` of ``name:TEXT`` (the id contains TEXT) or ``labels.K=V``
- ``POST /v1/projects/{p}/secrets?secretId=S`` (createSecret; 409 if it exists)
- ``POST /v1/projects/{p}/secrets/{s}:addVersion`` (checks ``dataCrc32c`` when given)
- ``GET  /v1/projects/{p}/secrets/{s}/versions`` paged, and ``.../versions/{v}``

Errors have Google's shape: ``{"error": {"code": 404, "message": ..., "status":
"NOT_FOUND"}}``. Secrets listed in :attr:`denied` answer 403 PERMISSION_DENIED, as IAM
does. Faults (429, 503, latency, drops) come from the :class:`StandIn` base. Regional
secrets (``locations/``), IAM policies, rotation and version aliases are not spoken.

It also speaks gRPC (the client's default ``transport="grpc"``, over an insecure
channel to :attr:`grpc_endpoint`, ``127.0.0.1:PORT``): the unary methods
``google.cloud.secretmanager.v1.SecretManagerService/`` ``AccessSecretVersion``,
``GetSecretVersion``, ``ListSecretVersions``, ``AddSecretVersion``, ``GetSecret``,
``DeleteSecret``, ``ListSecrets`` and ``CreateSecret``, with the client package's own
protobuf messages. Each call is turned into its REST equivalent (Google's HTTP mapping
of the method: ``AccessSecretVersion`` is ``GET /v1/{name}:access``) and served by the
same routes over the same in-memory state, so it is logged (:meth:`count`) and
matched by faults under that verb and path. Errors become gRPC status codes (404
NOT_FOUND, 403 PERMISSION_DENIED, 409 ALREADY_EXISTS, 429 RESOURCE_EXHAUSTED, 503
UNAVAILABLE, 400 INVALID_ARGUMENT or FAILED_PRECONDITION); a ``drop`` fault aborts
with UNAVAILABLE, a ``latency`` fault delays the answer.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .service import LOOPBACK
from .standin import Request, Response, StandIn

PROJECT = "secretbridge-dev"
_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")
_MAX_PAYLOAD = 64 * 1024
_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
}
# HTTP status -> gRPC status code name, for answers whose body names no status.
_GRPC_CODE = {
    **_STATUS,
    401: "UNAUTHENTICATED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"
_P = r"/v1/projects/(?P<project>[^/:]+)"
_S = _P + r"/secrets/(?P<secret>[^/:]+)"


def google_error(code: int, message: str, status: str | None = None) -> Response:
    return Response(
        code, {"error": {"code": code, "message": message, "status": status or _STATUS[code]}}
    )


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), as Secret Manager checks payloads with."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _table()


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SecretManagerStandIn(StandIn):
    name = "gcp"

    def __init__(self, workdir: Path, *, default_page_size: int = 100) -> None:
        super().__init__(workdir)
        self.default_page_size = default_page_size
        self.denied: set[str] = set()  # secret ids that answer 403
        # (project, secret id) -> {"meta": Secret JSON, "versions": [{"data", "state", ...}]}
        self._secrets: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.route("GET", _S + r"/versions/(?P<version>[^/:]+):access", self.access)
        self.route("GET", _S + r"/versions/(?P<version>[^/:]+)", self.get_version)
        self.route("GET", _S + r"/versions", self.list_versions)
        self.route("POST", _S + r":addVersion", self.add_version)
        self.route("GET", _S, self.get_secret)
        self.route("DELETE", _S, self.delete_secret)
        self.route("GET", _P + r"/secrets", self.list_secrets)
        self.route("POST", _P + r"/secrets", self.create_secret)
        self._grpc_server: Any = None
        self._grpc_port: int | None = None

    # ------------------------------------------------------------------ helpers

    def _find(self, project: str, secret: str, permission: str) -> dict[str, Any] | Response:
        name = f"projects/{project}/secrets/{secret}"
        if secret in self.denied:
            return google_error(
                403,
                f"Permission '{permission}' denied for resource '{name}' (or it may not exist).",
            )
        entry = self._secrets.get((project, secret))
        if entry is None:
            return google_error(404, f"Secret [{name}] not found or has no versions.")
        return entry

    def _version(self, entry: dict[str, Any], version: str) -> tuple[int, dict[str, Any]] | None:
        versions = entry["versions"]
        if version == "latest":
            for number in range(len(versions), 0, -1):
                if versions[number - 1]["state"] == "ENABLED":
                    return number, versions[number - 1]
            return None
        if not version.isdigit() or not 1 <= int(version) <= len(versions):
            return None
        return int(version), versions[int(version) - 1]

    @staticmethod
    def _version_json(name: str, number: int, version: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": f"{name}/versions/{number}",
            "createTime": version["createTime"],
            "state": version["state"],
            "replicationStatus": {"automatic": {}},
            "etag": f'"{number}"',
            "clientSpecifiedPayloadChecksum": version["checksummed"],
        }

    def _page(self, request: Request, key: str, items: list[Any]) -> Response:
        """One page of ``items`` under ``key``; the page token is the next offset."""
        try:
            size = int(request.query.get("pageSize") or self.default_page_size)
            start = int(request.query.get("pageToken") or 0)
        except ValueError:
            return google_error(400, "Invalid page token or page size.")
        end = start + max(1, min(size, 25000))
        body: dict[str, Any] = {key: items[start:end], "totalSize": len(items)}
        if end < len(items):
            body["nextPageToken"] = str(end)
        return Response(200, body)

    # ------------------------------------------------------------------ routes

    def _find_version(
        self, project: str, secret: str, version: str, permission: str
    ) -> tuple[str, int, dict[str, Any]] | Response:
        """The secret's name, the version's number and record; or the error answer."""
        entry = self._find(project, secret, permission)
        if isinstance(entry, Response):
            return entry
        name = f"projects/{project}/secrets/{secret}"
        found = self._version(entry, version)
        if found is None:
            return google_error(404, f"Secret Version [{name}/versions/{version}] not found.")
        return (name, *found)

    def access(self, request: Request, project: str, secret: str, version: str) -> Response:
        with self._lock:
            found = self._find_version(project, secret, version, "secretmanager.versions.access")
            if isinstance(found, Response):
                return found
            name, number, chosen = found
            if chosen["state"] != "ENABLED":
                return google_error(
                    400,
                    f"Secret Version [{name}/versions/{number}] is in {chosen['state']} state.",
                    "FAILED_PRECONDITION",
                )
            data: bytes = chosen["data"]
        return Response(
            200,
            {
                "name": f"{name}/versions/{number}",
                "payload": {
                    "data": base64.b64encode(data).decode("ascii"),
                    "dataCrc32c": str(crc32c(data)),
                },
            },
        )

    def get_version(self, request: Request, project: str, secret: str, version: str) -> Response:
        with self._lock:
            found = self._find_version(project, secret, version, "secretmanager.versions.get")
            if isinstance(found, Response):
                return found
            return Response(200, self._version_json(*found))

    def list_versions(self, request: Request, project: str, secret: str) -> Response:
        with self._lock:
            entry = self._find(project, secret, "secretmanager.versions.list")
            if isinstance(entry, Response):
                return entry
            name = f"projects/{project}/secrets/{secret}"
            newest_first = [
                self._version_json(name, number, version)
                for number, version in reversed(list(enumerate(entry["versions"], 1)))
            ]
        return self._page(request, "versions", newest_first)

    def add_version(self, request: Request, project: str, secret: str) -> Response:
        document = request.json() or {}
        payload = document.get("payload") or {}
        try:
            data = base64.b64decode(payload.get("data", ""), validate=True)
        except ValueError:
            return google_error(400, "Invalid value at 'payload.data' (TYPE_BYTES).")
        if len(data) > _MAX_PAYLOAD:
            return google_error(400, f"Secret Payload cannot be larger than {_MAX_PAYLOAD} bytes.")
        checksum = payload.get("dataCrc32c")
        if checksum is not None and int(checksum) != crc32c(data):
            return google_error(400, "Checksum mismatch: data_crc32c does not match the payload.")
        with self._lock:
            entry = self._find(project, secret, "secretmanager.versions.add")
            if isinstance(entry, Response):
                return entry
            version = {
                "data": data,
                "state": "ENABLED",
                "createTime": _now(),
                "checksummed": checksum is not None,
            }
            entry["versions"].append(version)
            number = len(entry["versions"])
        name = f"projects/{project}/secrets/{secret}"
        return Response(200, self._version_json(name, number, version))

    def get_secret(self, request: Request, project: str, secret: str) -> Response:
        with self._lock:
            entry = self._find(project, secret, "secretmanager.secrets.get")
            if isinstance(entry, Response):
                return entry
            return Response(200, dict(entry["meta"]))

    def delete_secret(self, request: Request, project: str, secret: str) -> Response:
        with self._lock:
            entry = self._find(project, secret, "secretmanager.secrets.delete")
            if isinstance(entry, Response):
                return entry
            del self._secrets[(project, secret)]
        return Response(200, {})

    def list_secrets(self, request: Request, project: str) -> Response:
        matches = _filter(request.query.get("filter", ""))
        if matches is None:
            return google_error(400, "Invalid filter (the stand-in knows name:X and labels.K=V).")
        with self._lock:
            items = [
                dict(entry["meta"])
                for (p, secret), entry in sorted(self._secrets.items())
                if p == project and matches(secret, entry["meta"])
            ]
        return self._page(request, "secrets", items)

    def create_secret(self, request: Request, project: str) -> Response:
        secret = request.query.get("secretId", "")
        if not _ID.fullmatch(secret):
            return google_error(
                400,
                "Secret ID must be 1-255 characters: letters, digits, underscores and hyphens.",
            )
        document = request.json() or {}
        if not document.get("replication"):
            return google_error(400, "Secret.replication is required.")
        name = f"projects/{project}/secrets/{secret}"
        with self._lock:
            if (project, secret) in self._secrets:
                return google_error(409, f"Secret [{name}] already exists.")
            meta = {
                "name": name,
                "replication": document["replication"],
                "createTime": _now(),
                "labels": document.get("labels") or {},
                "annotations": document.get("annotations") or {},
                "etag": '"1"',
            }
            self._secrets[(project, secret)] = {"meta": meta, "versions": []}
        return Response(200, dict(meta))

    # ------------------------------------------------------------------ gRPC

    @property
    def grpc_endpoint(self) -> str:
        """``127.0.0.1:PORT`` of the gRPC face (plain text: an insecure channel)."""
        assert self._grpc_port is not None, f"{self.name} is not started"
        return f"{LOOPBACK}:{self._grpc_port}"

    def _grpc_methods(self) -> dict[str, tuple[Any, Any, Callable[[Any], Request]]]:
        """gRPC method -> (request class, response class, its REST equivalent)."""
        from google.cloud.secretmanager_v1 import types
        from google.protobuf import empty_pb2, json_format

        def rest(method: str, path: str, query: dict[str, Any] | None = None) -> Request:
            clean = {k: str(v) for k, v in (query or {}).items() if v not in ("", 0, None)}
            return Request(method, "/v1/" + path, clean, {}, b"")

        def body(request: Request, message: Any) -> Request:
            request.body = json.dumps(json_format.MessageToDict(message)).encode()
            return request

        def paged(r: Any) -> dict[str, Any]:
            return {"pageSize": r.page_size, "pageToken": r.page_token}

        return {
            "AccessSecretVersion": (
                types.AccessSecretVersionRequest.pb(),
                types.AccessSecretVersionResponse.pb(),
                lambda r: rest("GET", r.name + ":access"),
            ),
            "GetSecretVersion": (
                types.GetSecretVersionRequest.pb(),
                types.SecretVersion.pb(),
                lambda r: rest("GET", r.name),
            ),
            "ListSecretVersions": (
                types.ListSecretVersionsRequest.pb(),
                types.ListSecretVersionsResponse.pb(),
                lambda r: rest("GET", r.parent + "/versions", paged(r)),
            ),
            "AddSecretVersion": (
                types.AddSecretVersionRequest.pb(),
                types.SecretVersion.pb(),
                lambda r: body(rest("POST", r.parent + ":addVersion"), r),
            ),
            "GetSecret": (
                types.GetSecretRequest.pb(),
                types.Secret.pb(),
                lambda r: rest("GET", r.name),
            ),
            "DeleteSecret": (
                types.DeleteSecretRequest.pb(),
                empty_pb2.Empty,
                lambda r: rest("DELETE", r.name),
            ),
            "ListSecrets": (
                types.ListSecretsRequest.pb(),
                types.ListSecretsResponse.pb(),
                lambda r: rest("GET", r.parent + "/secrets", {**paged(r), "filter": r.filter}),
            ),
            "CreateSecret": (
                types.CreateSecretRequest.pb(),
                types.Secret.pb(),
                lambda r: body(
                    rest("POST", r.parent + "/secrets", {"secretId": r.secret_id}), r.secret
                ),
            ),
        }

    def _grpc_handler(
        self, response_class: Any, to_rest: Callable[[Any], Request]
    ) -> Callable[[Any, Any], Any]:
        import grpc
        from google.protobuf import json_format

        def handle(message: Any, context: Any) -> Any:
            request = to_rest(message)
            self.requests.append((request.method, request.path))
            fault = self.faults.take(request.path)
            if fault is not None:
                if fault.kind == "drop":
                    context.abort(grpc.StatusCode.UNAVAILABLE, "connection dropped (injected)")
                if fault.kind == "latency":
                    time.sleep(fault.delay)
                elif fault.kind == "status":
                    code = _GRPC_CODE.get(fault.status, "UNKNOWN")
                    context.abort(grpc.StatusCode[code], "injected fault")
            try:
                response = self.dispatch(request)
            except Exception as error:  # a stand-in bug: say what
                context.abort(grpc.StatusCode.INTERNAL, repr(error))
            document = response.body if isinstance(response.body, dict) else {}
            if response.status >= 400:
                error = document.get("error") or {}
                code = error.get("status") or _GRPC_CODE.get(response.status, "UNKNOWN")
                context.abort(grpc.StatusCode[code], str(error.get("message", "")))
            return json_format.ParseDict(document, response_class(), ignore_unknown_fields=True)

        return handle

    def start(self) -> None:
        import grpc

        super().start()
        handlers = {
            method: grpc.unary_unary_rpc_method_handler(
                self._grpc_handler(response_class, to_rest),
                request_deserializer=request_class.FromString,
                response_serializer=lambda message: message.SerializeToString(),
            )
            for method, (request_class, response_class, to_rest) in self._grpc_methods().items()
        }
        server = grpc.server(
            ThreadPoolExecutor(max_workers=16, thread_name_prefix="gcp-grpc"),
            handlers=[grpc.method_handlers_generic_handler(_SERVICE, handlers)],
        )
        port = server.add_insecure_port(f"{LOOPBACK}:0")
        if not port:
            server.stop(None)
            super().stop()
            raise RuntimeError("the gRPC face could not bind a port on 127.0.0.1")
        server.start()
        self._grpc_server, self._grpc_port = server, port

    def stop(self) -> None:
        server, self._grpc_server = self._grpc_server, None
        if server is not None:
            server.stop(grace=0.5).wait(timeout=5)
        super().stop()

    # ------------------------------------------------------------------ Service

    def endpoints(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "grpc_endpoint": self.grpc_endpoint,
            "project": PROJECT,
            "credentials": "anonymous",
        }

    def store_settings(
        self, project: str = PROJECT, transport: str = "rest", **extra: Any
    ) -> dict[str, Any]:
        """One ``gcp-sm`` store table pointing at this stand-in over ``transport`` (``rest``
        or ``grpc``); ``extra`` settings are added (and win)."""
        return {
            "kind": "gcp-sm",
            "project": project,
            "api_endpoint": self.grpc_endpoint if transport == "grpc" else self.url,
            "transport": transport,
            "anonymous": True,  # the stand-in takes no credentials; never in production
            **extra,
        }

    def store_configs(self) -> dict[str, dict[str, Any]]:
        return {"gcp-sm": self.store_settings()}

    def client(self, transport: str = "rest") -> Any:
        """A real SecretManagerServiceClient pointed at this stand-in (REST, or gRPC over
        an insecure channel)."""
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import secretmanager

        if transport == "grpc":
            import grpc

            grpc_transport = secretmanager.SecretManagerServiceClient.get_transport_class("grpc")
            return secretmanager.SecretManagerServiceClient(
                transport=grpc_transport(channel=grpc.insecure_channel(self.grpc_endpoint))
            )
        return secretmanager.SecretManagerServiceClient(
            credentials=AnonymousCredentials(),
            transport="rest",
            client_options=ClientOptions(api_endpoint=self.url),
        )

    def seed_demo(self) -> None:
        client = self.client()
        demo: dict[str, bytes] = {
            "connections-warehouse": (
                b'{"conn_type": "snowflake", "login": "etl", "password": "sf-demo-1",'
                b' "host": "acme.snowflakecomputing.com"}'
            ),
            "variables-batch_size": b"500",
            "tls-client-key": bytes(range(256)),
        }
        parent = f"projects/{PROJECT}"
        for secret_id, data in demo.items():
            if (PROJECT, secret_id) not in self._secrets:
                client.create_secret(
                    request={
                        "parent": parent,
                        "secret_id": secret_id,
                        "secret": {"replication": {"automatic": {}}},
                    }
                )
            client.add_secret_version(
                request={
                    "parent": f"{parent}/secrets/{secret_id}",
                    "payload": {"data": data, "data_crc32c": crc32c(data)},
                }
            )
        client.transport.close()


def _filter(text: str) -> Any:
    """A predicate (secret id, metadata) -> bool for the filters the stand-in knows."""
    text = text.strip()
    if not text:
        return lambda secret, meta: True
    if text.startswith("name:"):
        needle = text[5:].strip('"')
        return lambda secret, meta: needle in secret
    label = re.fullmatch(r"labels\.([a-z0-9_-]+)\s*=\s*\"?([^\"]*)\"?", text)
    if label:
        key, value = label.groups()
        return lambda secret, meta: meta.get("labels", {}).get(key) == value
    return None
