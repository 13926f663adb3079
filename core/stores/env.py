"""``env``: environment variables, read at lookup time (so a rotated value is seen by
the next process that starts with it). Names are upper case with ``_`` by default;
the ``airflow`` preset reads Airflow's own ``AIRFLOW_CONN_<ID>``/``AIRFLOW_VAR_<KEY>``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from ..errors import InvalidReference, SecretBridgeError
from ..naming import NamingRule
from .base import Capabilities, Store, StoredValue, StoreOptions


@dataclass(frozen=True)
class EnvOptions(StoreOptions):
    pass


class EnvStore(Store):
    kind = "env"
    capabilities = Capabilities(batch_size=10_000)
    Options = EnvOptions
    default_naming = NamingRule(
        separator="_",
        case="upper",
        replace={"-": "_", ".": "_"},
        allowed=r"A-Z0-9_",
        allowed_description="upper case letters, digits and '_'",
        pattern=r"[A-Z_][A-Z0-9_]*",
    )
    naming_presets: ClassVar[Mapping[str, NamingRule]] = {
        # Airflow's own EnvironmentVariablesBackend: AIRFLOW_CONN_<ID>, AIRFLOW_VAR_<KEY>
        "airflow": replace(
            default_naming,
            namespaces={"connections": "AIRFLOW_CONN_", "variables": "AIRFLOW_VAR_"},
            replace={},
            allowed=r"^=\x00",
            allowed_description="anything but '=' and NUL",
            pattern=None,
        )
    }

    def get(self, path: str, version: str | None = None) -> StoredValue:
        if version is not None:
            raise InvalidReference(
                "environment variables have no versions; drop '?version='",
                ref=path,
                store=self.name,
            )
        value = os.environ.get(path)
        if value is None:
            raise self.not_found(path)
        return StoredValue(value)

    def get_many(self, paths: Sequence[str]) -> dict[str, StoredValue | SecretBridgeError]:
        environ = os.environ
        return {
            path: StoredValue(environ[path]) if path in environ else self.not_found(path)
            for path in paths
        }

    def list_names(self, prefix: str = "") -> list[str]:
        return sorted(name for name in os.environ if name.startswith(prefix))
