"""The vault store on a real OpenBao dev server (tests/servers/vault.py), seeded with
hvac as root in the store's value convention: ``{"value": text}`` or
``{"value_b64": base64}``.

``vault_kv2`` reads KV v2 with the mount as the first path segment (the naming prefix
``secret/`` puts every logical name in the ``secret`` mount); ``vault_kv1`` reads a KV
v1 mount named by the ``mount`` option, over TLS.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from dev_env.vault import KV1_MOUNT, KV2_MOUNT, ROOT_TOKEN
from secretbridge.testing import StoreHarness

from .factory import HarnessEnv, nowhere

TOKEN_VARIABLE = "SECRETBRIDGE_TEST_VAULT_TOKEN"


def _data(value: str | bytes) -> dict[str, str]:
    if isinstance(value, bytes):
        return {"value_b64": base64.b64encode(value).decode("ascii")}
    return {"value": value}


def _server(env: HarnessEnv) -> Any:
    server = env.request.getfixturevalue("vault_server")
    env.monkeypatch.setenv(TOKEN_VARIABLE, ROOT_TOKEN)
    return server


def vault_kv2(env: HarnessEnv) -> Iterator[StoreHarness]:
    server = _server(env)
    kv = server.client().secrets.kv.v2
    prefix = f"{KV2_MOUNT}/"

    def seed(physical: str, value: str | bytes) -> str:
        assert physical.startswith(prefix), physical
        response = kv.create_or_update_secret(
            physical[len(prefix) :], secret=_data(value), mount_point=KV2_MOUNT
        )
        return str(response["data"]["version"])

    settings = {
        "kind": "vault",
        "url": server.url,
        "token": f"env:{TOKEN_VARIABLE}",
        "naming": {"prefix": prefix},
    }
    down = {**settings, "url": f"http://{nowhere()}"}
    yield env.harness(settings, seed, down=down, absent_version="999999")


def vault_kv1(env: HarnessEnv) -> Iterator[StoreHarness]:
    server = _server(env)
    kv = server.client().secrets.kv.v1

    def seed(physical: str, value: str | bytes) -> None:
        kv.create_or_update_secret(
            physical, secret=_data(value), method="PUT", mount_point=KV1_MOUNT
        )

    settings = {
        "kind": "vault",
        "url": server.tls_url,
        "ca_file": server.ca_file,
        "mount": KV1_MOUNT,
        "kv_version": 1,
        "token": f"env:{TOKEN_VARIABLE}",
    }
    yield env.harness(settings, seed, down={**settings, "url": f"https://{nowhere()}"})
