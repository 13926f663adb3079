"""A stand-in for the Kubernetes API server's core/v1 Secrets, over HTTPS with a CA of
its own, reached by the real ``kubernetes`` client through a generated kubeconfig
(``<workdir>/kubeconfig``: server URL, certificate-authority path, bearer token).

It speaks:

- ``GET  /api/v1/namespaces/{ns}/secrets`` with ``labelSelector`` (``k=v`` terms, comma
  separated), ``limit`` and ``continue`` paging; with ``Accept: application/json;
  as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`` it answers metadata only, as the
  real API server does
- ``POST /api/v1/namespaces/{ns}/secrets`` (409 AlreadyExists)
- ``GET | PUT | PATCH | DELETE /api/v1/namespaces/{ns}/secrets/{name}`` (PUT checks
  ``metadata.resourceVersion`` when given: 409 Conflict; PATCH is a JSON merge patch,
  also accepted for strategic-merge content types)
- ``GET /version``

``stringData`` is folded into ``data`` (base64) as the API server does. Errors are
``Status`` objects (``{"kind": "Status", "status": "Failure", "reason": "NotFound",
"code": 404, ...}``). Every request needs ``Authorization: Bearer <token>`` (else 401);
namespaces in :attr:`forbidden` answer 403 Forbidden, as RBAC does. Namespaces spring
into being on first use. Faults (429, 503, latency, drops) come from :class:`StandIn`.
"""

from __future__ import annotations

import base64
import copy
import datetime
import itertools
import json
import re
import secrets
import threading
import uuid
from pathlib import Path
from typing import Any

from .standin import Request, Response, StandIn

NAMESPACE = "secretbridge"
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_NS = r"/api/v1/namespaces/(?P<namespace>[a-z0-9-]+)/secrets"
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "AlreadyExists",
    410: "Expired",
    422: "Invalid",
}


def status(code: int, message: str, reason: str | None = None, **details: Any) -> Response:
    return Response(
        code,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure" if code >= 400 else "Success",
            "message": message,
            "reason": reason or _REASONS.get(code, ""),
            "details": details,
            "code": code,
        },
    )


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


class KubernetesStandIn(StandIn):
    name = "k8s"
    tls = True

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.token = secrets.token_urlsafe(24)
        self.forbidden: set[str] = set()  # namespaces the token may not touch
        self._secrets: dict[tuple[str, str], dict[str, Any]] = {}
        self._versions = itertools.count(1000)
        self._lock = threading.Lock()
        self.route("GET", r"/version", self.version)
        self.route("GET", _NS, self.list_secrets)
        self.route("POST", _NS, self.create)
        one = _NS + r"/(?P<name>[^/]+)"
        self.route("GET", one, self.read)
        self.route("PUT", one, self.replace)
        self.route("PATCH", one, self.patch)
        self.route("DELETE", one, self.delete)

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    def start(self) -> None:
        super().start()
        assert self.ca is not None
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "standin",
                    "cluster": {
                        "server": self.url,
                        "certificate-authority": str(self.ca.ca_cert),
                    },
                }
            ],
            "users": [{"name": "standin-user", "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": "standin",
                    "context": {
                        "cluster": "standin",
                        "user": "standin-user",
                        "namespace": NAMESPACE,
                    },
                }
            ],
            "current-context": "standin",
        }
        self.kubeconfig.write_text(json.dumps(config, indent=2))  # JSON is valid YAML
        self.kubeconfig.chmod(0o600)

    # ------------------------------------------------------------------ dispatch

    def dispatch(self, request: Request) -> Response:
        if request.path != "/__faults__":
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return status(401, "Unauthorized")
            match = re.match(_NS, request.path)
            if match and match["namespace"] in self.forbidden:
                verb = {"GET": "get", "POST": "create", "PUT": "update"}.get(
                    request.method, request.method.lower()
                )
                return status(
                    403,
                    f'secrets is forbidden: User "system:serviceaccount:standin:reader" cannot '
                    f'{verb} resource "secrets" in API group "" in the namespace '
                    f'"{match["namespace"]}"',
                    kind="secrets",
                )
        return super().dispatch(request)

    def not_found(self, request: Request, method_mismatch: bool) -> Response:
        if method_mismatch:
            return status(405, "the server does not allow this method", "MethodNotAllowed")
        return status(404, "the server could not find the requested resource")

    # ------------------------------------------------------------------ helpers

    def _missing(self, name: str) -> Response:
        return status(404, f'secrets "{name}" not found', name=name, kind="secrets")

    def _validate(self, body: Any, namespace: str, name: str | None) -> dict[str, Any] | Response:
        if not isinstance(body, dict) or body.get("kind", "Secret") != "Secret":
            return status(400, "the body is not a Secret")
        meta = body.get("metadata") or {}
        name = name or meta.get("name")
        if not name or not _DNS1123_SUBDOMAIN.fullmatch(name) or len(name) > 253:
            return status(
                422,
                f'Secret "{name}" is invalid: metadata.name: Invalid value: "{name}": a '
                "lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.'",
            )
        if meta.get("name") not in (None, name):
            return status(400, "the name of the object does not match the name in the URL")
        data = dict(body.get("data") or {})
        for key, value in (body.get("stringData") or {}).items():
            data[key] = base64.b64encode(value.encode()).decode()
        size = 0
        for key, value in data.items():
            if not _KEY.fullmatch(key):
                return status(422, f'Secret "{name}" is invalid: data[{key}]: invalid key')
            try:
                size += len(base64.b64decode(value, validate=True))
            except (ValueError, TypeError):
                return status(400, f"data[{key}] is not valid base64")
        if size > 1024 * 1024:
            return status(
                422, f'Secret "{name}" is invalid: data: Too long: must have at most 1048576 bytes'
            )
        return {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": meta.get("labels") or {},
                "annotations": meta.get("annotations") or {},
                "resourceVersion": meta.get("resourceVersion"),
            },
            "data": data,
            "type": body.get("type") or "Opaque",
        }

    def _store(self, namespace: str, secret: dict[str, Any], old: dict[str, Any] | None) -> Any:
        meta = secret["metadata"]
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        else:
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
        meta["resourceVersion"] = str(next(self._versions))
        if not secret.get("data"):
            secret.pop("data", None)
        self._secrets[(namespace, meta["name"])] = secret
        return copy.deepcopy(secret)

    # ------------------------------------------------------------------ routes

    def version(self, request: Request) -> Response:
        return Response(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0-standin"})

    def list_secrets(self, request: Request, namespace: str) -> Response:
        selector = {}
        for term in filter(None, request.query.get("labelSelector", "").split(",")):
            key, sep, value = term.partition("=")
            if not sep:
                return status(400, f"unable to parse requirement: {term!r}")
            selector[key.strip()] = value.lstrip("=").strip()
        try:
            limit = int(request.query.get("limit") or 0)
            start = int(request.query.get("continue") or 0)
        except ValueError:
            return status(410, "the provided continue parameter is too old", "Expired")
        with self._lock:
            items = [
                copy.deepcopy(secret)
                for (ns, _), secret in sorted(self._secrets.items())
                if ns == namespace
                and all(secret["metadata"]["labels"].get(k) == v for k, v in selector.items())
            ]
            list_version = str(next(self._versions))
        end = start + limit if limit > 0 else len(items)
        page = items[start:end]
        meta: dict[str, Any] = {"resourceVersion": list_version}
        if end < len(items):
            meta["continue"] = str(end)
            meta["remainingItemCount"] = len(items) - end
        if "as=PartialObjectMetadataList" in request.headers.get("accept", ""):
            return Response(
                200,
                {
                    "kind": "PartialObjectMetadataList",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": meta,
                    "items": [
                        {
                            "kind": "PartialObjectMetadata",
                            "apiVersion": "meta.k8s.io/v1",
                            "metadata": item["metadata"],
                        }
                        for item in page
                    ],
                },
            )
        return Response(
            200, {"kind": "SecretList", "apiVersion": "v1", "metadata": meta, "items": page}
        )

    def create(self, request: Request, namespace: str) -> Response:
        secret = self._validate(request.json(), namespace, None)
        if isinstance(secret, Response):
            return secret
        name = secret["metadata"]["name"]
        with self._lock:
            if (namespace, name) in self._secrets:
                return status(409, f'secrets "{name}" already exists', name=name, kind="secrets")
            return Response(201, self._store(namespace, secret, None))

    def read(self, request: Request, namespace: str, name: str) -> Response:
        with self._lock:
            secret = self._secrets.get((namespace, name))
            if secret is None:
                return self._missing(name)
            return Response(200, copy.deepcopy(secret))

    def replace(self, request: Request, namespace: str, name: str) -> Response:
        secret = self._validate(request.json(), namespace, name)
        if isinstance(secret, Response):
            return secret
        with self._lock:
            old = self._secrets.get((namespace, name))
            if old is None:
                return self._missing(name)
            wanted = secret["metadata"]["resourceVersion"]
            if wanted and wanted != old["metadata"]["resourceVersion"]:
                return status(
                    409,
                    f'Operation cannot be fulfilled on secrets "{name}": the object has been '
                    "modified; please apply your changes to the latest version and try again",
                    "Conflict",
                    name=name,
                    kind="secrets",
                )
            return Response(200, self._store(namespace, secret, old))

    def patch(self, request: Request, namespace: str, name: str) -> Response:
        kind = request.headers.get("content-type", "")
        if "merge-patch" not in kind:
            return status(
                415, f"the stand-in takes merge patches, not {kind}", "UnsupportedMediaType"
            )
        with self._lock:
            old = self._secrets.get((namespace, name))
            if old is None:
                return self._missing(name)
            merged = _merge(copy.deepcopy(old), request.json())
        secret = self._validate(merged, namespace, name)
        if isinstance(secret, Response):
            return secret
        with self._lock:
            return Response(200, self._store(namespace, secret, old))

    def delete(self, request: Request, namespace: str, name: str) -> Response:
        with self._lock:
            if self._secrets.pop((namespace, name), None) is None:
                return self._missing(name)
        return Response(
            200,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": name, "kind": "secrets"},
            },
        )

    # ------------------------------------------------------------------ Service

    def endpoints(self) -> dict[str, Any]:
        assert self.ca is not None
        return {
            "url": self.url,
            "kubeconfig": str(self.kubeconfig),
            "ca": str(self.ca.ca_cert),
            "token": self.token,
            "namespace": NAMESPACE,
        }

    def store_configs(self) -> dict[str, dict[str, Any]]:
        # The kubeconfig holds the server, the CA and the token, as a real one does.
        return {"k8s": {"kind": "k8s", "kubeconfig": "env:SECRETBRIDGE_DEV_KUBECONFIG"}}

    def environment(self) -> dict[str, str]:
        return {"SECRETBRIDGE_DEV_KUBECONFIG": str(self.kubeconfig)}

    def api(self) -> Any:
        """A real CoreV1Api configured from this stand-in's kubeconfig."""
        from kubernetes import client, config

        return client.CoreV1Api(config.new_client_from_config(str(self.kubeconfig)))

    def seed_demo(self) -> None:
        from kubernetes import client

        api = self.api()
        # Named as the k8s naming rule spells logical names: connections/warehouse and
        # variables/batch_size; k8s://secretbridge/connections.warehouse#login also works.
        demo = {
            "connections.warehouse": {
                "conn_type": "snowflake",
                "login": "etl",
                "password": "sf-demo-1",
                "host": "acme.snowflakecomputing.com",
            },
            "variables.batch-size": {"value": "500"},
        }
        for name, data in demo.items():
            body = client.V1Secret(
                metadata=client.V1ObjectMeta(name=name),
                type="Opaque",
                string_data=data,
            )
            try:
                api.create_namespaced_secret(NAMESPACE, body)
            except client.ApiException as error:
                if error.status != 409:
                    raise
        api.api_client.close()
