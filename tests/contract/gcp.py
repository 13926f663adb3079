"""GCP Secret Manager: the real client and the dev_env stand-in, on either transport
(``rest`` to its ``http://`` endpoint, ``grpc``, the production default, over an
insecure channel to its gRPC face); each seeds with a client on its own transport. Each
test gets a project of its own on the shared server."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

from dev_env.gcp_sm import crc32c
from secretbridge.testing import StoreHarness

from .factory import HarnessEnv, nowhere

TRANSPORTS = ("rest", "grpc")


def gcp_store(env: HarnessEnv, transport: str) -> Iterator[StoreHarness]:
    from google.api_core import exceptions

    server = env.request.getfixturevalue("gcp_server")
    project = f"ct-{uuid.uuid4().hex[:12]}"
    client = server.client(transport)

    def seed(physical: str, value: str | bytes) -> str:
        data = value.encode() if isinstance(value, str) else value
        name = f"projects/{project}/secrets/{physical}"
        # 409: it exists already (Conflict on REST, AlreadyExists, a subclass, on gRPC)
        with contextlib.suppress(exceptions.Conflict):
            client.create_secret(
                request={
                    "parent": f"projects/{project}",
                    "secret_id": physical,
                    "secret": {"replication": {"automatic": {}}},
                }
            )
        added = client.add_secret_version(
            request={"parent": name, "payload": {"data": data, "data_crc32c": crc32c(data)}}
        )
        return str(added.name.rsplit("/", 1)[-1])

    grpc = transport == "grpc"
    settings: dict[str, Any] = server.store_settings(project, transport, timeout=5.0)
    down = {**settings, "api_endpoint": nowhere() if grpc else f"http://{nowhere()}"}
    try:
        yield env.harness(settings, seed, down=down, absent_version="999999")
    finally:
        client.transport.close()
