"""The values the Dagster leak tests plant (one distinct canary per way a value reaches an
asset), and the local store that holds them, built the way users build one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from defs_canary import CONN_ID, NAMESPACE
from resolvers import local_store_toml

from secretbridge import Resolver

CANARIES = {
    "connection": "canary-dg-conn-5b1e-NEVER",
    "token": "canary-dg-token-88d0-NEVER",
    "loaded": "canary-dg-loaded-2f7a-NEVER",
    "inner": "canary-dg-inner-c3e9-NEVER",
    "s3": "canary-dg-s3-secret-key-6a4d-NEVER",
}
SECRETS = {
    f"connections/{CONN_ID}": json.dumps(
        {
            "conn_type": "postgres",
            "host": "warehouse.internal",
            "login": "svc_loader",
            "password": CANARIES["connection"],
            "schema": "analytics",
            "port": 5432,
        }
    ),
    "app/token": CANARIES["token"],
    f"{NAMESPACE}db/password": CANARIES["loaded"],
    "db/inner": json.dumps({"password": CANARIES["inner"]}),
    "aws/s3_keys": json.dumps(
        {"access_key_id": "AKIACANARYDAGSTER01", "secret_access_key": CANARIES["s3"]}
    ),
}
#: The stdlib logger whose records Dagster keeps in the event log.
DAGSTER_YAML = "python_logs:\n  managed_python_loggers:\n    - canary.managed\n"


@dataclass(frozen=True)
class CanaryStore:
    config: Path  # the secretbridge config file
    home: Path  # SECRETBRIDGE_HOME: the local store's key file


def plant(folder: Path) -> CanaryStore:
    """A local store in ``folder`` holding :data:`SECRETS`, and its config file."""
    config = folder / "secretbridge.toml"
    config.write_text(local_store_toml(folder / "store.db"))
    with pytest.MonkeyPatch.context() as patch:  # the key file goes beside the store
        patch.setenv("SECRETBRIDGE_HOME", str(folder))
        with Resolver.from_config(config) as resolver:
            resolver.store("local").init()  # type: ignore[attr-defined]  # LocalStore
            for name, value in SECRETS.items():
                resolver.put(name, value)
    return CanaryStore(config, folder)
