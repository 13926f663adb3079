"""A stand-in for Azure Key Vault's secrets REST API, enough for the real
``azure.keyvault.secrets.SecretClient`` and ``azure.identity`` credentials to run
unchanged against 127.0.0.1.

What it speaks (every Key Vault call needs an ``api-version`` query parameter, any value):

* ``GET /secrets/{name}[/{version}]`` -> SecretBundle (``/secrets/{name}/`` is the latest)
* ``PUT /secrets/{name}`` -> a new version (32 hex characters), SecretBundle
* ``GET /secrets`` and ``GET /secrets/{name}/versions`` -> pages of SecretItems, at most
  ``maxresults`` (default and cap: :attr:`page_size`) each, chained with ``nextLink``
* ``DELETE /secrets/{name}`` -> DeletedSecretBundle. Soft-delete is always on, as in
  every vault today: the name moves to the deleted collection (``GET /deletedsecrets/{name}``,
  which the SDK's delete poller waits on), a ``PUT`` of a deleted name is refused with
  409 ``ObjectIsDeletedButRecoverable`` and ``DELETE /deletedsecrets/{name}`` purges it.
* errors as Key Vault sends them: ``{"error": {"code": "SecretNotFound", "message": ...}}``
  with 404; 403 ``Forbidden`` for names in :attr:`denied` (``ForbiddenByRbac``) and for
  disabled versions (``SecretDisabled``); 409 as above; 400 ``BadParameter``; 429 and 5xx
  through the fault plan of :class:`~dev_env.standin.StandIn` (``retry_after`` sets
  ``Retry-After``).
* the bearer challenge: a request without ``Authorization: Bearer <token>``, or with a
  token this stand-in did not issue (or that expired), gets 401 with
  ``WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
  resource="https://vault.azure.net"``; SecretClient then asks its credential for a token
  and sends the request again.

Tokens come from a managed-identity endpoint in the App Service style, served on a
second, plain-HTTP listener as App Service does (``IDENTITY_ENDPOINT`` is an
``http://127.0.0.1`` URL there too): ``GET /msi/token?api-version=...&resource=...``
with the ``X-IDENTITY-HEADER`` secret answers ``{"access_token", "expires_on",
"resource", "token_type"}``. With ``IDENTITY_ENDPOINT``/``IDENTITY_HEADER`` from
:meth:`KeyVaultStandIn.environment`, ``ManagedIdentityCredential`` and
``DefaultAzureCredential`` work unchanged. A user-assigned identity's ``client_id`` is
accepted if it is in :attr:`client_ids` (empty: any).

Service principals (``ClientSecretCredential``) log in to an Entra ID (AAD) token service
on the same HTTPS listener, as MSAL inside azure-identity asks for it:

* ``GET /{tenant}/v2.0/.well-known/openid-configuration`` -> the OpenID configuration
  (``issuer``, ``authorization_endpoint``, ``token_endpoint``, ...), fetched once per
  credential; an unknown tenant gets 400 ``invalid_tenant`` (AADSTS90002).
* ``POST /{tenant}/oauth2/v2.0/token`` (form: ``grant_type=client_credentials``,
  ``client_id``, ``client_secret``, ``scope=https://vault.azure.net/.default``) ->
  ``{"token_type": "Bearer", "expires_in", "ext_expires_in", "access_token"}``, a token the
  vault routes accept. Errors carry AAD's body (``error``, ``error_description`` starting
  ``AADSTS<code>:``, ``error_codes``, ``trace_id``, ``correlation_id``, ``timestamp``):
  a wrong secret is 401 ``invalid_client`` (AADSTS7000215), an unknown client 400
  ``unauthorized_client`` (AADSTS700016), another scope 400 ``invalid_scope``
  (AADSTS70011), another grant 400 ``unsupported_grant_type`` (AADSTS70003). Like AAD,
  no error repeats the secret. :attr:`service_principals` maps client ids to secrets;
  one (``client_id``, ``client_secret``) pair is made at start.

The credential's ``authority`` is the stand-in's URL (``https://127.0.0.1:<port>``) with
``connection_verify=<ca.pem>`` and ``disable_instance_discovery=True``: MSAL otherwise
asks ``login.microsoftonline.com/common/discovery/instance`` about any host it does not
know. The login paths need no bearer token and stay out of :attr:`log`; count them with
``count("POST", "/oauth2/v2.0/token")``.

Client side, the vault is ``https://127.0.0.1:<port>`` with its own CA: pass
``connection_verify=<ca.pem>`` and ``verify_challenge_resource=False`` (127.0.0.1 is not
a subdomain of vault.azure.net) to SecretClient.

Not enforced unless asked: Key Vault's 25 KB value limit (set :attr:`max_value_bytes`).
Not spoken: tags and attributes beyond ``enabled``, update, backup/restore, recover,
certificates-backed secrets, keys, PoP tokens and CAE claims; for the token service,
instance discovery, authorization codes, refresh tokens, certificates and client
assertions, and any claims inside tokens (they are opaque strings here).

:attr:`log` holds ``(method, path, status)`` of every Key Vault request answered (faults
excepted: see ``requests``), so tests can count the challenge (401 then 200).
"""

from __future__ import annotations

import base64
import datetime
import re
import secrets as _random
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from .standin import Request, Response, StandIn

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"  # a well-formed tenant id for the challenge
RESOURCE = "https://vault.azure.net"
TOKEN_LIFETIME = 3600  # seconds
#: the variable the ``azure-kv-sp`` store config reads its client secret from (not
#: AZURE_CLIENT_SECRET, which DefaultAzureCredential would pick up too)
CLIENT_SECRET_ENV = "SECRETBRIDGE_AZURE_KV_CLIENT_SECRET"  # noqa: S105 - a variable name
_NAME = r"(?P<name>[0-9A-Za-z-]+)"
_TENANT = r"/(?P<tenant>[^/]+)"
_LOGIN = re.compile(r"/[^/]+/(?:v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token)\Z")


@dataclass
class _Version:
    id: str
    value: str
    content_type: str | None
    enabled: bool
    created: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class _Deleted:
    versions: list[_Version]
    deleted: int


def _error(status: int, code: str, message: str, inner: str | None = None) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if inner:
        body["error"]["innererror"] = {"code": inner}
    return Response(status, body)


class KeyVaultStandIn(StandIn):
    """Key Vault secrets API plus a managed-identity token endpoint; see the module doc."""

    name = "azure"
    tls = True

    class _IdentityEndpoint(StandIn):
        """The App Service managed-identity endpoint (plain HTTP, as in App Service). Nested,
        so that ``python -m dev_env`` does not take it for a service of its own."""

        name = "azure-identity"
        tls = False

        def __init__(self, workdir: Path, vault: KeyVaultStandIn) -> None:
            super().__init__(workdir)
            self.vault = vault
            self.route("GET", r"/msi/token", vault._issue_token)

        def endpoints(self) -> dict[str, Any]:
            return {}

        def store_configs(self) -> dict[str, dict[str, Any]]:
            return {}

    #: default and largest page of a list call (Key Vault's own limit is 25)
    page_size = 25
    #: Key Vault refuses values over 25 KB; None leaves values unbounded here
    max_value_bytes: int | None = None

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.tenant = TENANT
        self.identity_header = _random.token_hex(16)
        self.client_ids: set[str] = set()
        self.client_id = str(uuid.uuid4())  # a service principal, for ClientSecretCredential
        self.client_secret = _random.token_urlsafe(24)
        self.service_principals: dict[str, str] = {self.client_id: self.client_secret}
        self.denied: set[str] = set()  # secret names whose calls get 403 ForbiddenByRbac
        self.log: list[tuple[str, str, int]] = []
        self._secrets: dict[str, list[_Version]] = {}
        self._deleted: dict[str, _Deleted] = {}
        self._tokens: dict[str, float] = {}  # token -> expires_on
        self._lock = threading.Lock()
        self.identity = self._IdentityEndpoint(workdir, self)
        self.route("GET", r"/secrets", self._list)
        self.route("GET", rf"/secrets/{_NAME}/versions", self._versions)
        self.route("GET", rf"/secrets/{_NAME}/?", self._get)
        self.route("GET", rf"/secrets/{_NAME}/(?P<version>[^/]+)", self._get)
        self.route("PUT", rf"/secrets/{_NAME}", self._set)
        self.route("DELETE", rf"/secrets/{_NAME}", self._delete)
        self.route("GET", rf"/deletedsecrets/{_NAME}", self._get_deleted)
        self.route("DELETE", rf"/deletedsecrets/{_NAME}", self._purge)
        self.route("GET", rf"{_TENANT}/v2\.0/\.well-known/openid-configuration", self._openid)
        self.route("POST", rf"{_TENANT}/oauth2/v2\.0/token", self._aad_token)

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        super().start()
        try:
            self.identity.start()
        except BaseException:
            super().stop()
            raise

    def stop(self) -> None:
        self.identity.stop()
        super().stop()

    @property
    def identity_endpoint(self) -> str:
        return f"{self.identity.url}/msi/token"

    @property
    def ca_file(self) -> str:
        assert self.ca is not None, "the stand-in is not started"
        return str(self.ca.ca_cert)

    def endpoints(self) -> dict[str, Any]:
        return {
            "vault_url": self.url,
            "ca_file": self.ca_file,
            "tenant_id": self.tenant,
            "identity_endpoint": self.identity_endpoint,
            "identity_header": self.identity_header,
            "authority": self.url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "notes": "SecretClient(vault_url, credential, connection_verify=ca_file, "
            "verify_challenge_resource=False); ClientSecretCredential(tenant_id, client_id, "
            "client_secret, authority=authority, connection_verify=ca_file, "
            "disable_instance_discovery=True)",
        }

    def store_settings(self, **extra: Any) -> dict[str, Any]:
        """One ``azure-kv`` store table pointing at this stand-in: its managed identity (the
        variables of :meth:`environment`), its CA; ``extra`` settings are added (and win)."""
        return {
            "kind": "azure-kv",
            "vault_url": self.url,
            "credential": "managed_identity",
            "ca_file": self.ca_file,
            "verify_challenge_resource": False,
            **extra,
        }

    def store_configs(self) -> dict[str, dict[str, Any]]:
        return {
            "azure-kv": self.store_settings(purge_on_delete=True),
            "azure-kv-sp": self.store_settings(
                credential="client_secret",
                tenant_id=self.tenant,
                client_id=self.client_id,
                client_secret=f"env:{CLIENT_SECRET_ENV}",
                authority=self.url,
                disable_instance_discovery=True,
                purge_on_delete=True,
            ),
        }

    def environment(self) -> dict[str, str]:
        """What App Service sets for a managed identity (read by azure-identity itself),
        and the service principal's secret for the ``azure-kv-sp`` store."""
        return {
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
            CLIENT_SECRET_ENV: self.client_secret,
        }

    def seed_demo(self) -> None:
        client = self.client()
        try:
            client.set_secret("connections-demo-postgres", "postgres://etl:demo-pass@db:5432/sales")
            client.set_secret("variables-batch-size", "500")
        finally:
            client.close()

    def client(self) -> Any:
        """A real SecretClient on this stand-in, authenticated with a token it issued."""
        from azure.core.credentials import AccessToken
        from azure.keyvault.secrets import SecretClient

        token = self.issue_token()

        class _Static:
            def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
                return AccessToken(token, int(time.time()) + TOKEN_LIFETIME)

        return SecretClient(
            self.url,
            _Static(),
            connection_verify=self.ca_file,
            verify_challenge_resource=False,
        )

    # ----------------------------------------------------------------- tokens

    def issue_token(self, lifetime: int = TOKEN_LIFETIME) -> str:
        token = "sb-" + _random.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.time() + lifetime
        return token

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def _issue_token(self, request: Request) -> Response:
        if request.headers.get("x-identity-header") != self.identity_header:
            return Response(401, {"statusCode": 401, "message": "missing X-IDENTITY-HEADER"})
        resource = request.query.get("resource", "").removesuffix("/.default").rstrip("/")
        if "api-version" not in request.query or resource != RESOURCE:
            return Response(400, {"statusCode": 400, "message": f"unknown resource {resource!r}"})
        client_id = request.query.get("client_id")
        if client_id and self.client_ids and client_id not in self.client_ids:
            return Response(
                400,
                {
                    "statusCode": 400,
                    "message": "No User Assigned or Delegated Managed Identity found for "
                    "specified ClientId/ResourceId/PrincipalId.",
                },
            )
        token = self.issue_token()
        return Response(
            200,
            {
                "access_token": token,
                "expires_on": str(int(time.time()) + TOKEN_LIFETIME),
                "resource": RESOURCE,
                "token_type": "Bearer",
                "client_id": client_id or "system-assigned",
            },
        )

    # ----------------------------------------------------------------- Entra ID

    def _aad_error(self, status: int, error: str, code: int, description: str) -> Response:
        """An error in the shape AAD's v2.0 endpoints answer with."""
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        body = {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
            f"Correlation ID: {correlation} Timestamp: {now}",
            "error_codes": [code],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"{self.url}/error?code={code}",
        }
        return Response(status, body)

    def _unknown_tenant(self, tenant: str, error: str = "invalid_request") -> Response:
        return self._aad_error(
            400,
            error,
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud.",
        )

    def _openid(self, request: Request, tenant: str) -> Response:
        if tenant != self.tenant:
            return self._unknown_tenant(tenant, "invalid_tenant")
        base = f"{self.url}/{tenant}"
        return Response(
            200,
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "response_types_supported": ["code", "id_token", "code id_token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "tenant_region_scope": "WW",
            },
        )

    def _aad_token(self, request: Request, tenant: str) -> Response:
        if tenant != self.tenant:
            return self._unknown_tenant(tenant)
        form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return self._aad_error(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{form.get('grant_type', '')}'.",
            )
        client_id = form.get("client_id", "")
        with self._lock:
            expected = self.service_principals.get(client_id)
        if expected is None:
            return self._aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'.",
            )
        if not _random.compare_digest(form.get("client_secret", ""), expected):
            return self._aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request "
                "is the client secret value, not the client secret ID, for a secret added to "
                f"app '{client_id}'.",
            )
        scopes = form.get("scope", "").split()
        if f"{RESOURCE}/.default" not in scopes:
            return self._aad_error(
                400,
                "invalid_scope",
                70011,
                f"The provided value for the input parameter 'scope' is not valid. "
                f"This stand-in issues tokens for '{RESOURCE}/.default' only.",
            )
        return Response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME - 1,
                "ext_expires_in": TOKEN_LIFETIME - 1,
                "access_token": self.issue_token(),
            },
        )

    # ----------------------------------------------------------------- dispatch

    def dispatch(self, request: Request) -> Response:
        if request.path == "/__faults__" or _LOGIN.match(request.path):
            return super().dispatch(request)
        response = self._authorized(request) or self._checked(request)
        self.log.append((request.method, request.path, response.status))
        return response

    def _authorized(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and self._tokens.get(token, 0) > time.time():
            return None
        challenge = f'Bearer authorization="https://login.microsoftonline.com/{self.tenant}", '
        challenge += f'resource="{RESOURCE}"'
        if header:
            challenge += ', error="invalid_token"'
            message = "AKV10032: Invalid issuer or token."
        else:
            message = "AKV10000: Request is missing a Bearer or PoP token."
        response = _error(401, "Unauthorized", message)
        response.headers["WWW-Authenticate"] = challenge
        return response

    def _checked(self, request: Request) -> Response:
        if "api-version" not in request.query:
            return _error(400, "BadParameter", "The 'api-version' query parameter is missing.")
        name = request.path.split("/")[2] if request.path.count("/") >= 2 else ""
        if name.lower() in {n.lower() for n in self.denied}:
            return _error(
                403,
                "Forbidden",
                f"Caller is not authorized to perform action on resource secret {name!r}.",
                "ForbiddenByRbac",
            )
        return super().dispatch(request)

    # ----------------------------------------------------------------- shapes

    def _id(self, name: str, version: str | None = None) -> str:
        return f"{self.url}/secrets/{name}" + (f"/{version}" if version else "")

    def _attributes(self, version: _Version) -> dict[str, Any]:
        return {
            "enabled": version.enabled,
            "created": version.created,
            "updated": version.created,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": 90,
        }

    def _bundle(self, name: str, version: _Version, *, value: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self._id(name, version.id),
            "attributes": self._attributes(version),
            "tags": version.tags,
        }
        if value:
            body["value"] = version.value
        if version.content_type is not None:
            body["contentType"] = version.content_type
        return body

    def _deleted_bundle(self, name: str, deleted: _Deleted) -> dict[str, Any]:
        body = self._bundle(name, deleted.versions[-1], value=False)
        body["recoveryId"] = f"{self.url}/deletedsecrets/{name}"
        body["deletedDate"] = deleted.deleted
        body["scheduledPurgeDate"] = deleted.deleted + 90 * 86400
        return body

    def _find(self, name: str) -> tuple[str, list[_Version]] | None:
        # Key Vault names are case-insensitive; the stored spelling is kept.
        for stored, versions in self._secrets.items():
            if stored.lower() == name.lower():
                return stored, versions
        return None

    def _not_found(self, name: str, version: str | None = None) -> Response:
        what = f"{name}/{version}" if version else name
        return _error(
            404,
            "SecretNotFound",
            f"A secret with (name/id) {what} was not found in this key vault. If you recently "
            "deleted this secret you may be able to recover it using the correct recovery "
            "command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
        )

    def _page(self, request: Request, path: str, items: list[dict[str, Any]]) -> Response:
        try:
            size = int(request.query.get("maxresults") or self.page_size)
            start = int(base64.urlsafe_b64decode(request.query.get("$skiptoken", "MA==")))
        except ValueError:
            return _error(400, "BadParameter", "invalid maxresults or $skiptoken")
        if not 1 <= size <= self.page_size:
            return _error(400, "BadParameter", f"maxresults must be between 1 and {self.page_size}")
        end = start + size
        body: dict[str, Any] = {"value": items[start:end], "nextLink": None}
        if end < len(items):
            token = base64.urlsafe_b64encode(str(end).encode()).decode()
            body["nextLink"] = (
                f"{self.url}{path}?api-version={quote(request.query['api-version'])}"
                f"&$skiptoken={token}&maxresults={size}"
            )
        return Response(200, body)

    # ----------------------------------------------------------------- handlers

    def _get(self, request: Request, name: str, version: str | None = None) -> Response:
        with self._lock:
            found = self._find(name)
            if found is None:
                return self._not_found(name, version)
            stored, versions = found
            match = (
                versions[-1]
                if version is None
                else next((v for v in versions if v.id == version), None)
            )
            if match is None:
                return self._not_found(name, version)
            if not match.enabled:
                return _error(
                    403,
                    "Forbidden",
                    "Operation get is not allowed on a disabled secret.",
                    "SecretDisabled",
                )
            return Response(200, self._bundle(stored, match))

    def _set(self, request: Request, name: str) -> Response:
        document = request.json() or {}
        value = document.get("value")
        if not isinstance(value, str):
            return _error(400, "BadParameter", "Property 'value' is required and must be a string.")
        if self.max_value_bytes is not None and len(value.encode()) > self.max_value_bytes:
            return _error(
                400,
                "BadParameter",
                f"Secret value size must be {self.max_value_bytes} bytes or less.",
            )
        enabled = (document.get("attributes") or {}).get("enabled", True)
        version = _Version(
            id=uuid.uuid4().hex,
            value=value,
            content_type=document.get("contentType"),
            enabled=bool(enabled),
            created=int(time.time()),
            tags=dict(document.get("tags") or {}),
        )
        with self._lock:
            if any(d.lower() == name.lower() for d in self._deleted):
                return _error(
                    409,
                    "Conflict",
                    f"Secret {name} is currently in a deleted but recoverable state, and its "
                    "name cannot be reused; in this state, the secret can only be recovered or "
                    "purged.",
                    "ObjectIsDeletedButRecoverable",
                )
            found = self._find(name)
            if found is None:
                self._secrets[name] = [version]
                stored = name
            else:
                stored = found[0]
                found[1].append(version)
            return Response(200, self._bundle(stored, version))

    def _list(self, request: Request) -> Response:
        with self._lock:
            items = [
                {
                    "id": self._id(name),
                    "attributes": self._attributes(versions[-1]),
                    "tags": versions[-1].tags,
                    **(
                        {"contentType": versions[-1].content_type}
                        if versions[-1].content_type is not None
                        else {}
                    ),
                }
                for name, versions in sorted(self._secrets.items(), key=lambda kv: kv[0].lower())
            ]
        return self._page(request, "/secrets", items)

    def _versions(self, request: Request, name: str) -> Response:
        with self._lock:
            found = self._find(name)
            if found is None:
                return self._not_found(name)
            stored, versions = found
            items = [
                {"id": self._id(stored, v.id), "attributes": self._attributes(v), "tags": v.tags}
                for v in versions
            ]
        return self._page(request, f"/secrets/{stored}/versions", items)

    def _delete(self, request: Request, name: str) -> Response:
        with self._lock:
            found = self._find(name)
            if found is None:
                return self._not_found(name)
            stored, versions = found
            del self._secrets[stored]
            deleted = _Deleted(versions, int(time.time()))
            self._deleted[stored] = deleted
            return Response(200, self._deleted_bundle(stored, deleted))

    def _deleted_entry(self, name: str) -> tuple[str, _Deleted] | None:
        for stored, deleted in self._deleted.items():
            if stored.lower() == name.lower():
                return stored, deleted
        return None

    def _get_deleted(self, request: Request, name: str) -> Response:
        with self._lock:
            entry = self._deleted_entry(name)
            if entry is None:
                return self._not_found(name)
            return Response(200, self._deleted_bundle(*entry))

    def _purge(self, request: Request, name: str) -> Response:
        with self._lock:
            entry = self._deleted_entry(name)
            if entry is None:
                return self._not_found(name)
            del self._deleted[entry[0]]
        return Response(204)
