"""``azure-kv``: Azure Key Vault secrets, through ``azure-keyvault-secrets`` and
``azure-identity`` (``pip install 'secretbridge[azure]'``).

Paths are secret names (letters, digits and dashes, at most 127; the kind's naming rule
maps logical names to them); ``?version=`` pins one of the 32-hex-digit version ids.

Credentials (option ``credential``):

* ``default`` (the default): ``DefaultAzureCredential``: environment, workload identity,
  managed identity, Azure CLI, ... in Azure's own order. ``client_id`` picks a
  user-assigned managed identity.
* ``managed_identity``: ``ManagedIdentityCredential`` only (system-assigned, or the
  user-assigned identity ``client_id``).
* ``client_secret``: a service principal: ``tenant_id``, ``client_id``, ``client_secret``
  (use ``env:VAR`` or ``file:/path`` for the secret), ``ClientSecretCredential``.
  ``authority`` is the login host of another cloud (``login.microsoftonline.us``,
  ``login.chinacloudapi.cn``, ...; default ``login.microsoftonline.com``), https only.
  MSAL checks a host it does not know with ``login.microsoftonline.com``'s instance
  discovery; ``disable_instance_discovery = true`` skips that check (Azure Stack, private
  or offline authorities). ``ca_file``, the timeouts and the retry settings apply to the
  token requests too. The token is fetched once and reused until it nears expiry.

Every call has a connect and a read timeout. Throttling (429, honouring Retry-After up to
``backoff_max`` seconds), 408 and 5xx, and connection errors are retried by azure-core's
RetryPolicy with exponential backoff; azure-core adds no jitter of its own, so the policy
here draws each wait at random between half and all of it. ``max_attempts`` counts the
first try.

Key Vault stores text. Binary values are written base64-encoded with the content type
``application/octet-stream; encoding=base64`` and come back as bytes; a value written by
anything else comes back as text whatever its content type. Key Vault refuses values
over 25 KB (about 18.7 KB of binary).

Deletes are soft deletes in every vault today: ``delete`` starts the deletion and waits
(at most ``delete_timeout`` seconds) until Key Vault reports it done. The name stays
reserved (a new ``put`` to it is refused) until the deleted secret is purged or its
retention ends; ``purge_on_delete = true`` purges it at once (needs the purge permission
and a vault without purge protection).

Secrets that are disabled are left out of ``list_names``; reading one is refused by Key Vault
(AccessDenied).
"""

from __future__ import annotations

import base64
import binascii
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NoReturn

from ..config import resolve_indirection
from ..errors import (
    AccessDenied,
    ConfigError,
    InvalidReference,
    InvalidSecretValue,
    SecretBridgeError,
    StoreUnavailable,
)
from ..naming import NamingRule, airflow_preset
from .base import BackoffOptions, Capabilities, Lazy, Store, StoredValue, import_sdk

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.keyvault.secrets import SecretClient

KIND = "azure-kv"
EXTRA = "azure"
#: content type that marks a base64-encoded binary value written by secretbridge
BINARY_CONTENT_TYPE = "application/octet-stream; encoding=base64"
_MAX_NAME = 127
_NAME = re.compile(rf"[0-9A-Za-z-]{{1,{_MAX_NAME}}}")
_VERSION = re.compile(r"[0-9A-Za-z]{1,64}")
_HEALTH_PROBE = "secretbridge-health-probe"


@dataclass(frozen=True)
class KeyVaultOptions(BackoffOptions):
    vault_url: str | None = None  # https://<vault>.vault.azure.net
    credential: Literal["default", "managed_identity", "client_secret"] = "default"
    client_id: str | None = None  # user-assigned identity, or the service principal
    tenant_id: str | None = None  # client_secret only
    client_secret: str | None = None  # client_secret only; env:VAR or file:/path
    authority: str | None = None  # client_secret only: login host of a sovereign cloud
    disable_instance_discovery: bool = False  # client_secret only: trust `authority` as is
    ca_file: str | None = None  # CA bundle for the vault's TLS (private CAs, tests)
    verify_challenge_resource: bool = True  # the challenge's resource must match the vault
    connect_timeout: float = 5.0  # seconds to connect, per attempt
    max_attempts: int = 4
    backoff_max: float = 8.0
    delete_timeout: float = 30.0  # seconds to wait for a soft delete to complete
    purge_on_delete: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.vault_url is not None and not self.vault_url.lower().startswith("https://"):
            raise ValueError("vault_url: Key Vault is reached over https only (https://...)")
        if self.credential == "client_secret":
            for key in ("tenant_id", "client_id", "client_secret"):
                if not getattr(self, key):
                    raise ValueError(f"{key}: required when credential = 'client_secret'")
            authority = (self.authority or "").lower()
            if "://" in authority and not authority.startswith("https://"):
                raise ValueError("authority: must be an https:// URL or a host name")
        else:
            for key in ("tenant_id", "client_secret", "authority"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key}: only used when credential = 'client_secret'")
            if self.disable_instance_discovery:
                raise ValueError(
                    "disable_instance_discovery: only used when credential = 'client_secret'"
                )


class KeyVaultStore(Store):
    kind = KIND
    capabilities = Capabilities(writable=True, versions=True, binary=True, max_value_size=25 * 1024)
    Options = KeyVaultOptions
    options: KeyVaultOptions
    default_naming = NamingRule(
        separator="-",
        replace={"_": "-", ".": "-"},
        allowed=r"A-Za-z0-9",
        allowed_description="letters, digits and dashes",
        max_length=_MAX_NAME,
    )
    # Airflow's AzureKeyVaultBackend: airflow-connections-<id>, '_' replaced by the separator
    naming_presets: ClassVar[Mapping[str, NamingRule]] = {
        "airflow": airflow_preset(default_naming, "airflow-", "-", replace={"_": "-"})
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: Lazy[SecretClient] = Lazy(self._build_client)
        self._credential: TokenCredential | None = None

    # ---------------------------------------------------------------- the client

    @property
    def client(self) -> SecretClient:
        return self._client.get()

    def _build_client(self) -> SecretClient:
        options = self.options
        if not options.vault_url:
            raise ConfigError(
                f"stores.{self.name}.vault_url: required (https://<vault>.vault.azure.net)",
                store=self.name,
            )
        secrets = import_sdk("azure.keyvault.secrets", kind=KIND, extra=EXTRA)
        credential = self._build_credential()
        kwargs: dict[str, Any] = {
            "retry_policy": _retry_policy(options),
            "connection_timeout": options.connect_timeout,
            "read_timeout": options.timeout,
            "verify_challenge_resource": options.verify_challenge_resource,
        }
        if options.ca_file:
            kwargs["connection_verify"] = options.ca_file
        client: SecretClient = secrets.SecretClient(options.vault_url, credential, **kwargs)
        self._credential = credential
        return client

    def _build_credential(self) -> TokenCredential:
        options = self.options
        identity = import_sdk("azure.identity", kind=KIND, extra=EXTRA)
        where = f"stores.{self.name}"
        credential: TokenCredential
        if options.credential == "managed_identity":
            credential = identity.ManagedIdentityCredential(client_id=options.client_id)
        elif options.credential == "client_secret":
            assert options.tenant_id and options.client_id and options.client_secret
            extra: dict[str, Any] = {
                # azure-identity builds its own pipeline for the token requests: the
                # same timeouts and the same jittered retry policy as the vault's.
                "connection_timeout": options.connect_timeout,
                "read_timeout": options.timeout,
                "retry_policy_class": lambda **_: _retry_policy(options),
            }
            if options.authority:
                extra["authority"] = options.authority
            if options.disable_instance_discovery:
                extra["disable_instance_discovery"] = True
            if options.ca_file:
                extra["connection_verify"] = options.ca_file
            credential = identity.ClientSecretCredential(
                resolve_indirection(options.tenant_id, where=f"{where}.tenant_id"),
                resolve_indirection(options.client_id, where=f"{where}.client_id"),
                resolve_indirection(options.client_secret, where=f"{where}.client_secret"),
                **extra,
            )
        else:
            extra = {}
            if options.client_id:
                extra["managed_identity_client_id"] = options.client_id
            credential = identity.DefaultAzureCredential(**extra)
        return credential

    def close(self) -> None:
        client = self._client.take()
        credential, self._credential = self._credential, None
        if client is not None:
            client.close()
        close = getattr(credential, "close", None)
        if close is not None:
            close()

    # ---------------------------------------------------------------- reads

    def get(self, path: str, version: str | None = None) -> StoredValue:
        self._check_name(path)
        if version is not None and not _VERSION.fullmatch(version):
            raise InvalidReference(
                f"{version!r} is not a Key Vault version id (32 hexadecimal digits)",
                ref=path,
                store=self.name,
            )
        try:
            secret = self.client.get_secret(path, version)
        except SecretBridgeError:
            raise
        except Exception as error:
            self._raise(error, path, version)
        value: str | bytes = secret.value or ""
        if secret.properties.content_type == BINARY_CONTENT_TYPE:
            try:
                value = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidSecretValue(
                    f"the secret is marked {BINARY_CONTENT_TYPE!r} but its value is not base64",
                    ref=path,
                    store=self.name,
                ) from None
        return StoredValue(value, secret.properties.version)

    def list_names(self, prefix: str = "") -> list[str]:
        try:
            return sorted(
                properties.name
                for properties in self.client.list_properties_of_secrets()
                if properties.name
                and properties.name.startswith(prefix)
                and properties.enabled is not False
            )
        except SecretBridgeError:
            raise
        except Exception as error:
            self._raise(error, prefix or None, None)

    def versions(self, path: str) -> list[str]:
        """Version ids of ``path``, oldest first (disabled ones included)."""
        self._check_name(path)
        try:
            found = sorted(  # stable: versions created in the same second keep their order
                (
                    (properties.created_on, properties.version)
                    for properties in self.client.list_properties_of_secret_versions(path)
                    if properties.version and properties.created_on
                ),
                key=lambda pair: pair[0],
            )
        except SecretBridgeError:
            raise
        except Exception as error:
            self._raise(error, path, None)
        if not found:
            raise self.not_found(path)
        return [version for _, version in found]

    def health(self) -> None:
        """One GET of a name that need not exist: a 404 proves the vault answers and our
        token is accepted, with no more than the secrets/get permission."""
        try:
            self.get(_HEALTH_PROBE)
        except (StoreUnavailable, AccessDenied, ConfigError) as error:
            raise StoreUnavailable(
                f"Key Vault {self.options.vault_url} cannot serve reads: {error.message}",
                store=self.name,
            ) from None
        except SecretBridgeError:
            pass  # not found: the vault answered

    # ---------------------------------------------------------------- writes

    def put(self, path: str, value: str | bytes) -> str | None:
        self._check_name(path)
        content_type = None
        if isinstance(value, bytes):
            value = base64.b64encode(value).decode("ascii")
            content_type = BINARY_CONTENT_TYPE
        try:
            secret = self.client.set_secret(path, value, content_type=content_type)
        except SecretBridgeError:
            raise
        except Exception as error:
            self._raise(error, path, None, writing=True)
        return secret.properties.version

    def delete(self, path: str) -> None:
        self._check_name(path)
        try:
            poller = self.client.begin_delete_secret(path)
            poller.wait(timeout=self.options.delete_timeout)
            if not poller.done():
                raise StoreUnavailable(
                    f"Key Vault did not finish deleting the secret within "
                    f"{self.options.delete_timeout:g} s (delete_timeout); it is still "
                    "being deleted",
                    ref=path,
                    store=self.name,
                )
            if self.options.purge_on_delete:
                self.client.purge_deleted_secret(path)
        except SecretBridgeError:
            raise
        except Exception as error:
            self._raise(error, path, None)

    # ---------------------------------------------------------------- errors

    def _check_name(self, path: str) -> None:
        if not _NAME.fullmatch(path):
            raise InvalidReference(
                "Key Vault secret names are 1 to 127 letters, digits and dashes",
                ref=path,
                store=self.name,
            )

    def _raise(
        self, error: Exception, path: str | None, version: str | None, *, writing: bool = False
    ) -> NoReturn:
        """Translate an azure-core/azure-identity exception. The new error is raised
        ``from None``: the SDK's exception holds the request, whose body may be a value."""
        exceptions = import_sdk("azure.core.exceptions", kind=KIND, extra=EXTRA)
        cause = _describe(error)
        if isinstance(error, exceptions.ResourceNotFoundError) and path is not None:
            raise self.not_found(path, version) from None
        if isinstance(error, exceptions.ClientAuthenticationError):
            transient = _transient_login_failure(error, exceptions)
            if transient:
                raise StoreUnavailable(
                    f"could not get a token ({self.options.credential} credential): "
                    f"{transient}: {cause}",
                    ref=path,
                    store=self.name,
                ) from None
            raise AccessDenied(
                f"Key Vault authentication failed ({self.options.credential} credential): {cause}",
                ref=path,
                store=self.name,
            ) from None
        status = getattr(error, "status_code", None)
        code = _error_code(error)
        if status == 403:
            raise AccessDenied(
                f"Key Vault refused access: {cause}", ref=path, store=self.name
            ) from None
        if status == 409 and "ObjectIsDeletedButRecoverable" in f"{code} {cause}":
            raise StoreUnavailable(
                "the secret was deleted and is still recoverable, so its name cannot be "
                "written: recover or purge it first (or set purge_on_delete = true)",
                ref=path,
                store=self.name,
            ) from None
        if status == 400 and writing:
            raise InvalidSecretValue(
                f"Key Vault refused the value: {cause}", ref=path, store=self.name
            ) from None
        if isinstance(error, exceptions.ServiceRequestError):
            what = "could not reach Key Vault"
        elif isinstance(error, exceptions.ServiceResponseError):
            what = "Key Vault did not answer in time"
        elif status == 429:
            what = f"Key Vault kept throttling after {self.options.max_attempts} attempts"
        elif status is not None and status >= 500:
            what = f"Key Vault failed after {self.options.max_attempts} attempts"
        else:
            what = "the Key Vault call failed"
        raise StoreUnavailable(f"{what}: {cause}", ref=path, store=self.name) from None


_LOGIN_HTTP_ERROR = re.compile(r"HTTP Error: (?:429|408|5\d\d)\b")


def _transient_login_failure(error: Exception, exceptions: Any) -> str | None:
    """Why a credential's failure is the token service being unreachable or failing
    (StoreUnavailable) rather than a refusal (AccessDenied), or None. azure-identity
    wraps both in ClientAuthenticationError; the cause is in the exception chain
    (azure-core's ServiceRequestError/ServiceResponseError) or, for MSAL, only in the
    message ("HTTP Error: 503")."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, exceptions.ServiceRequestError):
            return "the token service could not be reached"
        if isinstance(link, exceptions.ServiceResponseError):
            return "the token service did not answer in time"
        if _LOGIN_HTTP_ERROR.search(str(getattr(link, "message", None) or link)):
            return "the token service failed"
        link = link.__cause__ or link.__context__
    return None


def _error_code(error: Exception) -> str:
    odata = getattr(error, "error", None)
    code = getattr(odata, "code", None)
    inner = getattr(odata, "innererror", None) or {}
    inner_code = inner.get("code") if isinstance(inner, dict) else None
    return " ".join(str(part) for part in (code, inner_code) if part)


def _describe(error: Exception) -> str:
    """``Type (status code): message`` from the SDK's parsed error, never the request."""
    status = getattr(error, "status_code", None)
    odata = getattr(error, "error", None)
    message = getattr(odata, "message", None) or getattr(error, "message", None) or str(error)
    message = str(message).splitlines()[0] if message else ""
    code = _error_code(error)
    head = type(error).__name__
    if status is not None:
        head += f" ({status}{' ' + code if code else ''})"
    return f"{head}: {message}" if message else head


def _retry_policy(options: KeyVaultOptions) -> Any:
    """azure-core's RetryPolicy with jitter added and Retry-After capped at backoff_max."""
    policies = import_sdk("azure.core.pipeline.policies", kind=KIND, extra=EXTRA)

    class JitteredRetryPolicy(policies.RetryPolicy):  # type: ignore[misc,name-defined]
        def get_backoff_time(self, settings: dict[str, Any]) -> float:
            # azure-core waits 0 before the first retry and backoff*2**n after; we wait
            # between half and all of max(that, backoff), capped at backoff_max.
            computed = float(super().get_backoff_time(settings))
            wait = min(max(computed, options.backoff), float(self.backoff_max))
            return wait / 2 + random.uniform(0, wait / 2)  # noqa: S311 - jitter, not crypto

        def get_retry_after(self, response: Any) -> float | None:
            after = super().get_retry_after(response)
            return None if after is None else min(float(after), float(self.backoff_max))

    return JitteredRetryPolicy(
        retry_total=options.max_attempts - 1,
        retry_connect=options.max_attempts - 1,
        retry_read=options.max_attempts - 1,
        retry_status=options.max_attempts - 1,
        retry_backoff_factor=options.backoff,
        retry_backoff_max=options.backoff_max,
    )
