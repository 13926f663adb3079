"""The Azure Key Vault store: the dev_env stand-in over HTTPS with its own CA, a managed
identity from App Service-style variables, and seeding with a real SecretClient."""

from __future__ import annotations

import base64
from collections.abc import Iterator

from secretbridge.stores.azure_kv import BINARY_CONTENT_TYPE
from secretbridge.testing import StoreHarness

from .factory import HarnessEnv, nowhere


def azure_kv_store(env: HarnessEnv) -> Iterator[StoreHarness]:
    server = env.request.getfixturevalue("azure_kv")
    client = server.client()

    def seed(physical: str, value: str | bytes) -> str | None:
        if isinstance(value, bytes):
            text = base64.b64encode(value).decode("ascii")
            secret = client.set_secret(physical, text, content_type=BINARY_CONTENT_TYPE)
        else:
            secret = client.set_secret(physical, value)
        version: str | None = secret.properties.version
        return version

    # the suite writes a name again after deleting it: purge, as a soft delete keeps the
    # name reserved
    settings = server.store_settings(purge_on_delete=True, timeout=5.0)
    try:
        down = {**settings, "vault_url": f"https://{nowhere()}"}
        yield env.harness(settings, seed, down=down, absent_version="0" * 32)
    finally:
        client.close()
