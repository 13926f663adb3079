"""``aws-ssm``: AWS Systems Manager Parameter Store, through boto3.

Paths are parameter names, leading ``/`` kept (``/prod/snowflake/password``). Values
are read with ``WithDecryption`` so SecureString parameters come back in clear;
String and StringList parameters are returned as they are. Parameters hold text only.

Versions: ``?version=3`` selects ``name:3``; a version that is not a number is taken
as a parameter label (``name:prod``). The version returned is always the number.

Batches: the latest values of many parameters come from GetParameters, 10 names per
call (the service's limit); names it reports as InvalidParameters are not found.

Listing: a prefix that ends in ``/`` (a path) is listed with GetParametersByPath,
recursively; any other prefix (``/prod/db`` also matches ``/prod/db_admin``) with
DescribeParameters and a ``Name BeginsWith`` filter; both paginated.

Writes: ``put`` writes a SecureString with Overwrite (a new version; the KMS key is
``kms_key_id``, default the account's ``alias/aws/ssm``; the tier is ``tier``, default
the account's setting). Note that Standard parameters hold at most 4 KB and Advanced
ones 8 KB. ``delete`` removes the parameter and every version at once.

Options (all optional): see :class:`ParameterStoreOptions` and :class:`AwsOptions`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from ..errors import InvalidReference, InvalidSecretValue, SecretBridgeError
from ..naming import NamingRule, airflow_preset
from ._aws import AwsOptions, AwsStore
from .base import Capabilities, StoredValue

BATCH_LIMIT = 10  # GetParameters' Names limit
_NUMBER = re.compile(r"[1-9][0-9]{0,18}")
_LABEL = re.compile(r"[A-Za-z_.-][A-Za-z0-9_.-]{0,99}")

Tier = Literal["Standard", "Advanced", "Intelligent-Tiering"]


@dataclass(frozen=True)
class ParameterStoreOptions(AwsOptions):
    kms_key_id: str | None = None  # the KMS key for SecureString writes
    tier: Tier | None = None  # default: the account's default tier


class ParameterStore(AwsStore):
    kind = "aws-ssm"
    service = "ssm"
    # Standard-tier parameters hold 4 KB; Advanced (and Intelligent-Tiering) 8 KB.
    capabilities = Capabilities(
        writable=True, versions=True, binary=False, batch_size=BATCH_LIMIT, max_value_size=4096
    )
    Options = ParameterStoreOptions
    options: ParameterStoreOptions
    default_naming = NamingRule(
        prefix="/",
        allowed=r"A-Za-z0-9_.-",
        allowed_description="letters, digits and _.-",
        max_length=2048,
    )
    # Airflow's SystemsManagerParameterStoreBackend: /airflow/connections/<id>
    naming_presets: ClassVar[Mapping[str, NamingRule]] = {
        "airflow": airflow_preset(default_naming, "/airflow/", "/")
    }
    not_found_codes = frozenset(
        {"ParameterNotFound", "ParameterVersionNotFound", "ParameterVersionLabelNotFound"}
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.options.tier in ("Advanced", "Intelligent-Tiering"):
            self.capabilities = replace(self.capabilities, max_value_size=8192)

    # -------------------------------------------------------------- reads

    def selector(self, path: str, version: str | None) -> str:
        """``name``, or ``name:version`` / ``name:label`` for a pinned read."""
        if version is None:
            return path
        if not (_NUMBER.fullmatch(version) or _LABEL.fullmatch(version)):
            raise InvalidReference(
                "an SSM version is a version number or a parameter label "
                "(letters, digits, '_', '.', '-'; not starting with a digit)",
                ref=path,
                store=self.name,
            )
        return f"{path}:{version}"

    def get(self, path: str, version: str | None = None) -> StoredValue:
        name = self.selector(path, version)
        try:
            response = self.client.get_parameter(Name=name, WithDecryption=True)
        except Exception as error:
            raise self.translate(error, path, version) from error
        return _stored(response["Parameter"])

    def get_many(self, paths: Sequence[str]) -> dict[str, StoredValue | SecretBridgeError]:
        unique = list(dict.fromkeys(paths))
        out: dict[str, StoredValue | SecretBridgeError] = {}
        for start in range(0, len(unique), BATCH_LIMIT):
            chunk = unique[start : start + BATCH_LIMIT]
            try:
                response = self.client.get_parameters(Names=chunk, WithDecryption=True)
            except Exception as error:
                failure = self.translate(error)
                for path in chunk:
                    out[path] = type(failure)(failure.message, ref=path, store=self.name)
                continue
            by_name: dict[str, list[str]] = {}
            for path in chunk:
                by_name.setdefault(_canonical(path), []).append(path)
            for parameter in response.get("Parameters", []):
                for path in by_name.get(_canonical(str(parameter["Name"])), []):
                    out[path] = _stored(parameter)
            invalid = {_canonical(str(name)) for name in response.get("InvalidParameters", [])}
            for path in chunk:
                if path in out:
                    continue
                if _canonical(path) in invalid:
                    out[path] = self.not_found(path)
                    continue
                # Answered neither way: ask on its own rather than guess "not found",
                # which would let the chain fall through to another store's secret.
                try:
                    out[path] = self.get(path)
                except SecretBridgeError as error:
                    out[path] = error
        return {path: out[path] for path in paths}

    def list_names(self, prefix: str = "") -> list[str]:
        names: set[str] = set()
        client = self.client
        try:
            if prefix.endswith("/"):
                path = prefix.rstrip("/") or "/"
                pages = client.get_paginator("get_parameters_by_path").paginate(
                    Path=path, Recursive=True, WithDecryption=False
                )
            else:
                args: dict[str, Any] = {"MaxResults": 50}
                if prefix:
                    args["ParameterFilters"] = [
                        {"Key": "Name", "Option": "BeginsWith", "Values": [prefix]}
                    ]
                pages = client.get_paginator("describe_parameters").paginate(**args)
            for page in pages:
                for parameter in page.get("Parameters", []):
                    names.add(str(parameter["Name"]))
        except Exception as error:
            raise self.translate(error) from error
        return sorted(name for name in names if name.startswith(prefix))

    def versions(self, path: str) -> list[str]:
        """Version numbers of ``path``, oldest first."""
        numbers: set[int] = set()
        try:
            paginator = self.client.get_paginator("get_parameter_history")
            for page in paginator.paginate(Name=path, WithDecryption=False):
                numbers.update(int(item["Version"]) for item in page.get("Parameters", []))
        except Exception as error:
            raise self.translate(error, path) from error
        return [str(number) for number in sorted(numbers)]

    def health(self) -> None:
        try:
            self.client.describe_parameters(MaxResults=1)
        except Exception as error:
            raise self.translate(error) from error

    # -------------------------------------------------------------- writes

    def put(self, path: str, value: str | bytes) -> str:
        if not isinstance(value, str):
            raise InvalidSecretValue(
                "SSM parameters hold text only; store binary values in aws-sm, or "
                "base64-encode them",
                ref=path,
                store=self.name,
            )
        args: dict[str, Any] = {
            "Name": path,
            "Value": value,
            "Type": "SecureString",
            "Overwrite": True,
        }
        if self.options.kms_key_id is not None:
            args["KeyId"] = self.options.kms_key_id
        if self.options.tier is not None:
            args["Tier"] = self.options.tier
        try:
            response = self.client.put_parameter(**args)
        except Exception as error:
            raise self.translate(error, path, writing=True) from None
        return str(response["Version"])

    def delete(self, path: str) -> None:
        try:
            self.client.delete_parameter(Name=path)
        except Exception as error:
            raise self.translate(error, path, writing=True) from None


def _stored(parameter: dict[str, Any]) -> StoredValue:
    return StoredValue(str(parameter["Value"]), str(parameter["Version"]))


def _canonical(name: str) -> str:
    """SSM treats ``name`` and ``/name`` as one top-level parameter."""
    return name if name.startswith("/") else "/" + name
