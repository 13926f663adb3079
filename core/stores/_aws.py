"""What the two AWS stores (``aws-sm``, ``aws-ssm``) share: their options, one boto3
client per store built on first use, and the mapping of botocore errors to ours.

Credentials come from boto3's default chain (environment, shared config and
credentials files, SSO, container and instance roles) unless the store's options
name a ``profile`` or static keys (read through ``env:``/``file:`` indirection). With
``role_arn`` the store assumes that role through STS with refreshable credentials:
botocore re-assumes it shortly before the temporary credentials expire.

Every call runs under botocore's own retry machinery (``standard`` or ``adaptive``
mode: exponential backoff with jitter, throttling and transient errors retried, a
retry quota), with a connect and a read timeout per attempt.

botocore logs request parameters and response bodies at DEBUG level, which for these
services are secret values; :func:`withhold_botocore_values` filters exactly those
records, so a DEBUG log never carries a value.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from ..config import resolve_indirection
from ..errors import (
    AccessDenied,
    ConfigError,
    InvalidReference,
    InvalidSecretValue,
    SecretBridgeError,
    StoreUnavailable,
)
from .base import Lazy, Store, TransportOptions, import_sdk

RetryMode = Literal["standard", "adaptive"]

#: Error codes AWS services use for throttling (botocore retries them too).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "SlowDown",
        "EC2ThrottledException",
        "PriorRequestNotComplete",
    }
)
#: Error codes that mean the caller's identity or its permissions were refused.
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "AuthFailure",
        "MissingAuthenticationToken",
        "DecryptionFailure",  # Secrets Manager: the KMS key refused
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSInvalidStateException",
        "KMSNotFoundException",
        "IncompleteSignature",
    }
)
#: Error codes for a request AWS found malformed (a name too long, a bad character).
INVALID_CODES = frozenset(
    {
        "ValidationException",
        "InvalidParameterException",
        "InvalidParameterValue",
        "InvalidParameterValueException",
        "InvalidKeyId",
        "HierarchyLevelLimitExceededException",
        "HierarchyTypeMismatchException",
        "ParameterPatternMismatchException",
        "UnsupportedParameterType",
    }
)


@dataclass(frozen=True)
class AwsOptions(TransportOptions):
    """Settings shared by ``aws-sm`` and ``aws-ssm``. Retry waits are botocore's own
    (``retry_mode``): it has no backoff setting."""

    region: str | None = None  # default: AWS_REGION / AWS_DEFAULT_REGION / the profile's
    endpoint_url: str | None = None  # a VPC endpoint, LocalStack, moto
    profile: str | None = None  # a named profile of the shared config files
    # static keys, read through env:VAR / file:/path; default: boto3's credential chain
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    role_arn: str | None = None  # assume this role (refreshable credentials)
    external_id: str | None = field(default=None, repr=False)
    session_name: str = "secretbridge"
    role_duration_seconds: int | None = None  # default: the role's (usually 3600)
    sts_endpoint_url: str | None = None  # default: the regional STS endpoint
    connect_timeout: float = 5.0  # connect timeout of one attempt, seconds
    retry_mode: RetryMode = "standard"
    max_pool_connections: int = 16

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError(
                "access_key_id: access_key_id and secret_access_key are given together"
            )
        if self.session_token is not None and self.access_key_id is None:
            raise ValueError("session_token: needs access_key_id and secret_access_key")
        if self.profile is not None and self.access_key_id is not None:
            raise ValueError("profile: give either a profile or access keys, not both")
        if self.role_arn is None:
            for key in ("external_id", "role_duration_seconds", "sts_endpoint_url"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key}: only used with role_arn")
        elif not self.role_arn.startswith("arn:"):
            raise ValueError("role_arn: expected an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
        if not self.session_name:
            raise ValueError("session_name: must not be empty")
        if self.role_duration_seconds is not None and not (
            900 <= self.role_duration_seconds <= 43200
        ):
            raise ValueError("role_duration_seconds: AWS allows 900 to 43200 seconds")
        if self.max_pool_connections < 1:
            raise ValueError("max_pool_connections: must be at least 1")


class _WithholdValues(logging.Filter):
    """Drops botocore's DEBUG records that print request parameters or response bodies."""

    PREFIXES = ("Making request for", "Response body")

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(self.PREFIXES))


_FILTER = _WithholdValues()


def withhold_botocore_values() -> None:
    """Install (once) the filter that keeps secret values out of botocore's DEBUG logs."""
    for name in ("botocore.endpoint", "botocore.parsers"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class _FixedProvider:
    """A credential provider for botocore's resolver that hands out one credentials
    object (the refreshable assume-role credentials)."""

    METHOD = "assume-role"
    CANONICAL_NAME = "custom-assume-role"

    def __init__(self, credentials: Any) -> None:
        self._credentials = credentials

    def load(self) -> Any:
        return self._credentials


class AwsStore(Store):
    """Base of the AWS stores: one boto3 client per store, created on first use."""

    #: the boto3 service name
    service: ClassVar[str]
    #: error codes that mean "no such secret / version"
    not_found_codes: ClassVar[frozenset[str]]
    options: AwsOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: Lazy[Any] = Lazy(self._build_client)

    # -------------------------------------------------------------- the client

    @property
    def client(self) -> Any:
        """The store's boto3 client (built on first use, then shared by every thread)."""
        return self._client.get()

    def close(self) -> None:
        client = self._client.take()
        if client is not None:
            client.close()

    def _build_client(self) -> Any:
        boto3 = import_sdk("boto3", kind=self.kind, extra="aws")
        botocore_config = import_sdk("botocore.config", kind=self.kind, extra="aws")
        exceptions = import_sdk("botocore.exceptions", kind=self.kind, extra="aws")
        withhold_botocore_values()
        o = self.options
        config = botocore_config.Config(
            connect_timeout=o.connect_timeout,
            read_timeout=o.timeout,
            retries={"total_max_attempts": o.max_attempts, "mode": o.retry_mode},
            max_pool_connections=o.max_pool_connections,
            user_agent_appid="secretbridge",
        )
        session_args: dict[str, Any] = {}
        if o.region is not None:
            session_args["region_name"] = o.region
        if o.profile is not None:
            session_args["profile_name"] = o.profile
        if o.access_key_id is not None and o.secret_access_key is not None:
            where = f"stores.{self.name}"
            session_args["aws_access_key_id"] = resolve_indirection(
                o.access_key_id, where=f"{where}.access_key_id"
            )
            session_args["aws_secret_access_key"] = resolve_indirection(
                o.secret_access_key, where=f"{where}.secret_access_key"
            )
            if o.session_token is not None:
                session_args["aws_session_token"] = resolve_indirection(
                    o.session_token, where=f"{where}.session_token"
                )
        try:
            session = boto3.Session(**session_args)
            if o.role_arn is not None:
                session = self._assume_role(boto3, session, config)
            return session.client(self.service, endpoint_url=o.endpoint_url, config=config)
        except exceptions.ProfileNotFound:
            raise ConfigError(
                f"stores.{self.name}.profile: AWS profile {o.profile!r} is not in the "
                "shared config or credentials files"
            ) from None
        except exceptions.NoRegionError:
            raise ConfigError(
                f"stores.{self.name}.region: no AWS region; set region in the store's "
                "config, or AWS_REGION"
            ) from None
        except exceptions.BotoCoreError as error:
            raise ConfigError(
                f"stores.{self.name}: cannot build the AWS client: {type(error).__name__}: {error}"
            ) from None

    def _assume_role(self, boto3: Any, source: Any, config: Any) -> Any:
        """A session whose credentials come from STS AssumeRole, refreshed before they
        expire, with ``source``'s credentials (the default chain, a profile or keys)."""
        credentials = import_sdk("botocore.credentials", kind=self.kind, extra="aws")
        botocore_session = import_sdk("botocore.session", kind=self.kind, extra="aws")
        o = self.options
        assert o.role_arn is not None
        source_credentials = source.get_credentials()
        if source_credentials is None:
            raise ConfigError(
                f"stores.{self.name}.role_arn: no AWS credentials to assume the role with "
                "(none in the environment, the shared files or the instance role)"
            )
        extra: dict[str, Any] = {"RoleSessionName": o.session_name}
        if o.external_id is not None:
            extra["ExternalId"] = resolve_indirection(
                o.external_id, where=f"stores.{self.name}.external_id"
            )
        if o.role_duration_seconds is not None:
            extra["DurationSeconds"] = o.role_duration_seconds
        create_sts = functools.partial(
            source._session.create_client,
            region_name=source.region_name,
            endpoint_url=o.sts_endpoint_url,
            config=config,
        )
        fetcher = credentials.AssumeRoleCredentialFetcher(
            client_creator=create_sts,
            source_credentials=source_credentials,
            role_arn=o.role_arn,
            extra_args=extra,
        )
        refreshable = credentials.DeferredRefreshableCredentials(
            refresh_using=fetcher.fetch_credentials, method="assume-role"
        )
        target = botocore_session.Session()
        target.register_component(
            "credential_provider", credentials.CredentialResolver([_FixedProvider(refreshable)])
        )
        return boto3.Session(botocore_session=target, region_name=source.region_name)

    # -------------------------------------------------------------- errors

    def error_code(self, error: BaseException) -> str | None:
        """The AWS error code of a botocore ClientError, else None."""
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            code = response.get("Error", {}).get("Code")
            return str(code) if code else None
        return None

    def translate(
        self,
        error: Exception,
        path: str | None = None,
        version: str | None = None,
        *,
        writing: bool = False,
    ) -> SecretBridgeError:
        """Our error for a botocore (or any other) exception. On writes, AWS's message
        is withheld for request-validation errors, which may quote the value."""
        if isinstance(error, SecretBridgeError):
            return error
        exceptions = import_sdk("botocore.exceptions", kind=self.kind, extra="aws")
        o = self.options
        if isinstance(error, exceptions.ClientError):
            code = self.error_code(error) or "UnknownError"
            meta = error.response.get("ResponseMetadata", {})
            status = int(meta.get("HTTPStatusCode") or 0)
            attempts = int(meta.get("RetryAttempts") or 0) + 1
            operation = getattr(error, "operation_name", "the operation")
            message = str(error.response.get("Error", {}).get("Message") or "")
            cause = f"{code}: {message}" if message else code
            if code in self.not_found_codes:
                return self.not_found(path, version) if path else self._unavailable(cause, path)
            if code in DENIED_CODES or status in (401, 403):
                return AccessDenied(f"AWS refused {operation}: {cause}", ref=path, store=self.name)
            if code in THROTTLING_CODES or status == 429:
                return self._unavailable(
                    f"AWS kept throttling {operation} (throttling: {cause}); gave up after "
                    f"{attempts} attempt(s) (max_attempts = {o.max_attempts})",
                    path,
                )
            if status >= 500:
                return self._unavailable(
                    f"AWS failed {operation} with HTTP {status} after {attempts} attempt(s): "
                    f"{cause}",
                    path,
                )
            if writing and (code in INVALID_CODES or code == "InvalidRequestException"):
                return InvalidSecretValue(
                    f"AWS refused {operation}: {code} (its message is withheld: it may quote "
                    "the value)",
                    ref=path,
                    store=self.name,
                )
            if code in INVALID_CODES:
                return InvalidReference(
                    f"AWS refused {operation}: {cause}", ref=path, store=self.name
                )
            return self._unavailable(f"AWS refused {operation} (HTTP {status}): {cause}", path)
        if isinstance(error, exceptions.NoCredentialsError | exceptions.PartialCredentialsError):
            return ConfigError(
                f"no usable AWS credentials: {type(error).__name__}: {error}; set them in "
                "the environment, a profile, or the store's access_key_id/secret_access_key",
                ref=path,
                store=self.name,
            )
        if isinstance(error, exceptions.ReadTimeoutError | exceptions.ConnectTimeoutError):
            return self._unavailable(
                f"timed out talking to AWS (connect_timeout = {o.connect_timeout} s, "
                f"timeout = {o.timeout} s per attempt, max_attempts = {o.max_attempts}): "
                f"{type(error).__name__}: {error}",
                path,
            )
        if isinstance(error, exceptions.BotoCoreError):
            return self._unavailable(f"cannot reach AWS: {type(error).__name__}: {error}", path)
        detail = "" if writing else f": {error}"
        return self._unavailable(f"unexpected error: {type(error).__name__}{detail}", path)

    def _unavailable(self, message: str, path: str | None) -> StoreUnavailable:
        return StoreUnavailable(message, ref=path, store=self.name)
