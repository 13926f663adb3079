"""``aws-sm``: AWS Secrets Manager, through boto3.

Paths are secret names or ARNs (full, or partial without the random suffix). The
whole value is returned: ``SecretString`` as text, ``SecretBinary`` as bytes; a
``#field`` of a JSON secret is picked by the resolver.

Versions: ``?version=`` holding a UUID (``3f2a...-...``) pins a VersionId; anything
else is a staging label (``AWSCURRENT``, ``AWSPREVIOUS``, or a custom stage).

Batches: the latest values of many secrets come from BatchGetSecretValue, 20 ids per
call (the service's limit), following NextToken; a missing or refused secret is
reported for its own id without hiding the others. If the caller may not call
BatchGetSecretValue (the IAM action is separate from GetSecretValue), the store falls
back to one GetSecretValue per secret.

Writes: ``put`` creates the secret if it does not exist, else adds a version with
PutSecretValue (the new version becomes AWSCURRENT; the previous one AWSPREVIOUS).
A secret that is scheduled for deletion is restored first, so a put after a delete
works as it does in every other store (its older versions come back with it).
``delete`` schedules deletion with a recovery window of ``recovery_window_days``
(default 7, AWS's minimum; the secret can be restored from the console or the CLI
until then), or deletes at once, without recovery, with ``recovery_window_days = 0``.
A secret scheduled for deletion reads as not found.

Options (all optional): see :class:`SecretsManagerOptions` and :class:`AwsOptions`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import (
    AccessDenied,
    InvalidReference,
    SecretBridgeError,
    SecretNotFound,
    StoreUnavailable,
)
from ..naming import NamingRule, airflow_preset
from ._aws import DENIED_CODES, THROTTLING_CODES, AwsOptions, AwsStore
from .base import Capabilities, StoredValue

BATCH_LIMIT = 20  # BatchGetSecretValue's SecretIdList limit (moto accepts more; AWS does not)
_VERSION_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_DELETED = re.compile(r"marked (for )?delet|scheduled for delet|currently marked deleted", re.I)


@dataclass(frozen=True)
class SecretsManagerOptions(AwsOptions):
    recovery_window_days: int = 7  # 7..30, or 0: delete at once, without recovery
    kms_key_id: str | None = None  # the KMS key for secrets this store creates

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.recovery_window_days != 0 and not 7 <= self.recovery_window_days <= 30:
            raise ValueError(
                "recovery_window_days: AWS allows 7 to 30 days, or 0 to delete at once"
            )


def version_argument(version: str) -> dict[str, str]:
    """GetSecretValue's argument for ``?version=``: a UUID is a VersionId, else a stage."""
    if _VERSION_ID.fullmatch(version):
        return {"VersionId": version}
    return {"VersionStage": version}


class SecretsManagerStore(AwsStore):
    kind = "aws-sm"
    service = "secretsmanager"
    capabilities = Capabilities(
        writable=True, versions=True, binary=True, batch_size=BATCH_LIMIT, max_value_size=65536
    )
    Options = SecretsManagerOptions
    options: SecretsManagerOptions
    default_naming = NamingRule(
        allowed=r"A-Za-z0-9/_+=.@-",
        allowed_description="letters, digits and /_+=.@-",
        max_length=512,
    )
    # Airflow's SecretsManagerBackend: airflow/connections/<id>, sep "/"
    naming_presets: ClassVar[Mapping[str, NamingRule]] = {
        "airflow": airflow_preset(default_naming, "airflow/", "/")
    }
    not_found_codes = frozenset({"ResourceNotFoundException"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batch_refused = False

    def _is_deleted(self, error: Exception) -> bool:
        """Whether AWS refused because the secret is scheduled for deletion."""
        if self.error_code(error) != "InvalidRequestException":
            return False
        message = getattr(error, "response", {}).get("Error", {}).get("Message", "")
        return bool(_DELETED.search(str(message)))

    def _read_error(self, error: Exception, path: str, version: str | None) -> SecretBridgeError:
        if self._is_deleted(error):
            return self.not_found(path, version)
        return self.translate(error, path, version)

    # -------------------------------------------------------------- reads

    def get(self, path: str, version: str | None = None) -> StoredValue:
        args: dict[str, str] = {"SecretId": path}
        if version is not None:
            if not version:
                raise InvalidReference("an empty version", ref=path, store=self.name)
            args.update(version_argument(version))
        try:
            response = self.client.get_secret_value(**args)
        except Exception as error:
            raise self._read_error(error, path, version) from error
        return _stored(response)

    def get_many(self, paths: Sequence[str]) -> dict[str, StoredValue | SecretBridgeError]:
        unique = list(dict.fromkeys(paths))
        out: dict[str, StoredValue | SecretBridgeError] = {}
        for start in range(0, len(unique), BATCH_LIMIT):
            chunk = unique[start : start + BATCH_LIMIT]
            if self._batch_refused:
                out.update(self._one_by_one(chunk))
            else:
                out.update(self._batch(chunk))
        return {path: out[path] for path in paths}

    def _one_by_one(self, chunk: Sequence[str]) -> dict[str, StoredValue | SecretBridgeError]:
        out: dict[str, StoredValue | SecretBridgeError] = {}
        for path in chunk:
            try:
                out[path] = self.get(path)
            except SecretBridgeError as error:
                out[path] = error
        return out

    def _batch(self, chunk: Sequence[str]) -> dict[str, StoredValue | SecretBridgeError]:
        out: dict[str, StoredValue | SecretBridgeError] = {}
        args: dict[str, Any] = {"SecretIdList": list(chunk)}
        while True:
            try:
                response = self.client.batch_get_secret_value(**args)
            except Exception as error:
                if self.error_code(error) in ("AccessDeniedException", "AccessDenied"):
                    # Allowed GetSecretValue but not BatchGetSecretValue: a common policy.
                    self._batch_refused = True
                    return self._one_by_one(chunk)
                if self.error_code(error) in self.not_found_codes:
                    # One id without a readable value fails the whole call (a secret
                    # with no AWSCURRENT version): give every id its own answer.
                    rest = [path for path in chunk if path not in out]
                    return {**out, **self._one_by_one(rest)}
                failure = self.translate(error)
                for path in chunk:
                    if path not in out:
                        out[path] = _named(failure, path)
                return out
            for item in response.get("SecretValues", []):
                for path in _requested_by(item, chunk):
                    try:
                        out[path] = _stored(item)
                    except SecretBridgeError as error:
                        out[path] = _named(error, path)
            for item in response.get("Errors", []):
                path = str(item.get("SecretId", ""))
                if path in chunk and path not in out:
                    out[path] = self._item_error(item, path)
            token = response.get("NextToken")
            if not token or token == args.get("NextToken"):  # a repeated token ends it too
                break
            args["NextToken"] = token
        # An id the batch answered neither way (an error reported under another spelling
        # of the id, say) is read on its own: guessing "not found" could let the chain
        # fall through to another store's secret.
        rest = [path for path in chunk if path not in out]
        return {**out, **self._one_by_one(rest)} if rest else out

    def _item_error(self, item: dict[str, Any], path: str) -> SecretBridgeError:
        code = str(item.get("ErrorCode") or "UnknownError")
        message = str(item.get("Message") or item.get("ErrorMessage") or "")
        fake = _ItemError({"Error": {"Code": code, "Message": message}})
        if code in self.not_found_codes or self._is_deleted(fake):
            return self.not_found(path)
        return self._from_code(code, message, path)

    def _from_code(self, code: str, message: str, path: str) -> SecretBridgeError:
        cause = f"{code}: {message}" if message else code
        if code in DENIED_CODES:
            return AccessDenied(f"AWS refused the secret: {cause}", ref=path, store=self.name)
        if code in THROTTLING_CODES:
            return StoreUnavailable(
                f"AWS throttled the read (throttling: {cause})", ref=path, store=self.name
            )
        return StoreUnavailable(
            f"AWS could not read the secret: {cause}", ref=path, store=self.name
        )

    def list_names(self, prefix: str = "") -> list[str]:
        args: dict[str, Any] = {"MaxResults": 100}
        if prefix:
            # AWS's name filter is a case-sensitive prefix match; the exact check below
            # also keeps this right where a server matches more loosely.
            args["Filters"] = [{"Key": "name", "Values": [prefix]}]
        names: list[str] = []
        try:
            for page in self.client.get_paginator("list_secrets").paginate(**args):
                names.extend(
                    str(item["Name"])
                    for item in page.get("SecretList", [])
                    if str(item["Name"]).startswith(prefix) and not item.get("DeletedDate")
                )
        except Exception as error:
            raise self.translate(error) from error
        return sorted(set(names))

    def versions(self, path: str) -> list[str]:
        """Version ids of ``path``, oldest first (versions without a stage included)."""
        found: list[tuple[Any, str]] = []
        args: dict[str, Any] = {"SecretId": path, "IncludeDeprecated": True, "MaxResults": 100}
        try:
            while True:  # botocore has no paginator for this operation
                page = self.client.list_secret_version_ids(**args)
                found.extend(
                    (item.get("CreatedDate"), str(item["VersionId"]))
                    for item in page.get("Versions", [])
                )
                if not page.get("NextToken") or page["NextToken"] == args.get("NextToken"):
                    break
                args["NextToken"] = page["NextToken"]
        except Exception as error:
            raise self._read_error(error, path, None) from error
        found.sort(key=lambda pair: (pair[0] is None, pair[0]))
        return [version for _, version in found]

    def health(self) -> None:
        try:
            self.client.list_secrets(MaxResults=1)
        except Exception as error:
            raise self.translate(error) from error

    # -------------------------------------------------------------- writes

    def put(self, path: str, value: str | bytes) -> str:
        body: dict[str, Any] = (
            {"SecretString": value} if isinstance(value, str) else {"SecretBinary": bytes(value)}
        )
        client = self.client
        try:
            try:
                described = client.describe_secret(SecretId=path)
            except Exception as error:
                if self.error_code(error) not in self.not_found_codes:
                    raise
                if path.startswith("arn:"):
                    raise InvalidReference(
                        "a new secret is created by name, not by ARN", ref=path, store=self.name
                    ) from None
                created = self._create(path, body)
                if created is not None:
                    return created
            else:
                if described.get("DeletedDate"):
                    client.restore_secret(SecretId=path)
            response = client.put_secret_value(SecretId=path, **body)
        except SecretBridgeError:
            raise
        except Exception as error:
            raise self.translate(error, path, writing=True) from None
        return str(response["VersionId"])

    def _create(self, path: str, body: dict[str, Any]) -> str | None:
        """Create the secret; None if another writer created it first."""
        args = dict(body, Name=path)
        if self.options.kms_key_id is not None:
            args["KmsKeyId"] = self.options.kms_key_id
        try:
            response = self.client.create_secret(**args)
        except Exception as error:
            if self.error_code(error) == "ResourceExistsException":
                return None
            raise
        return str(response["VersionId"])

    def delete(self, path: str) -> None:
        args: dict[str, Any] = {"SecretId": path}
        if self.options.recovery_window_days == 0:
            args["ForceDeleteWithoutRecovery"] = True
        else:
            args["RecoveryWindowInDays"] = self.options.recovery_window_days
        try:
            self.client.delete_secret(**args)
        except Exception as error:
            if self._is_deleted(error):
                raise self.not_found(path) from None
            raise self.translate(error, path, writing=True) from None


class _ItemError(Exception):
    """A per-id error of BatchGetSecretValue, shaped like a ClientError for the checks."""

    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__(response["Error"]["Code"])
        self.response = response


def _stored(response: dict[str, Any]) -> StoredValue:
    version = response.get("VersionId")
    if response.get("SecretString") is not None:
        value: str | bytes = str(response["SecretString"])
    elif response.get("SecretBinary") is not None:
        value = bytes(response["SecretBinary"])
    else:  # only a broken endpoint or proxy answers so: never serve an empty secret
        raise StoreUnavailable(
            "AWS answered without SecretString or SecretBinary", ref=str(response.get("Name"))
        )
    return StoredValue(value, str(version) if version else None)


def _requested_by(item: dict[str, Any], chunk: Sequence[str]) -> list[str]:
    """The ids in ``chunk`` that ``item`` answers: by name, full ARN or partial ARN."""
    name, arn = str(item.get("Name", "")), str(item.get("ARN", ""))
    exact = [path for path in chunk if path in (name, arn)]
    if exact:
        return exact
    # A partial ARN: the full ARN without the 6-character random suffix.
    return [path for path in chunk if path.startswith("arn:") and arn.startswith(path + "-")]


def _named(error: SecretBridgeError, path: str) -> SecretBridgeError:
    if isinstance(error, SecretNotFound):
        return error
    named = type(error)(error.message, ref=path, store=error.store)
    named.__cause__ = error.__cause__
    return named
