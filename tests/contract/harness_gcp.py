"""The contract suite against GCP Secret Manager: the real client (REST transport) and
the dev_env stand-in. Each test gets a project of its own on the shared server."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from harness import HarnessEnv, StoreHarness, contract_store

from dev_env.gcp_sm import crc32c


@contract_store("gcp-sm")
def gcp_store(env: HarnessEnv) -> Iterator[StoreHarness]:
    from google.api_core import exceptions

    server = env.request.getfixturevalue("gcp_server")
    project = f"ct-{uuid.uuid4().hex[:12]}"
    client = server.client()

    def seed(physical: str, value: str | bytes) -> str:
        data = value.encode() if isinstance(value, str) else value
        name = f"projects/{project}/secrets/{physical}"
        with contextlib.suppress(exceptions.Conflict):  # 409: it exists already
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

    settings = {
        "kind": "gcp-sm",
        "project": project,
        "api_endpoint": server.url,
        "transport": "rest",
        "anonymous": True,
        "timeout": 5.0,
    }
    try:
        yield StoreHarness(
            env.resolver(settings), seed=seed, settings=settings, absent_version="999999"
        )
    finally:
        client.transport.close()
