"""Kubernetes Secrets: the real client, through the kubeconfig of the dev_env stand-in
(HTTPS, its own CA, a bearer token). Each test gets a namespace of its own on the shared
server.

A plain value is seeded the way the store documents it: a Secret with the single key
``value``; bytes that must stay bytes are listed in ``secretbridge.io/binary-keys``."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator

from secretbridge.testing import StoreHarness

from .factory import HarnessEnv, nowhere


def k8s_store(env: HarnessEnv) -> Iterator[StoreHarness]:
    from kubernetes import client

    server = env.request.getfixturevalue("k8s_server")
    namespace = f"ct-{uuid.uuid4().hex[:12]}"
    api = server.api()

    def seed(physical: str, value: str | bytes) -> None:
        raw = value.encode() if isinstance(value, str) else value
        annotations = {"secretbridge.io/binary-keys": "value"} if isinstance(value, bytes) else {}
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(name=physical, annotations=annotations),
            type="Opaque",
            data={"value": base64.b64encode(raw).decode()},
        )
        try:
            api.create_namespaced_secret(namespace, body)
        except client.ApiException as error:
            if error.status != 409:
                raise
            api.replace_namespaced_secret(physical, namespace, body)

    # Down: the same kubeconfig with the cluster's address where nothing listens.
    kubeconfig = json.loads(server.kubeconfig.read_text())
    kubeconfig["clusters"][0]["cluster"]["server"] = f"https://{nowhere()}"
    unreachable = env.tmp_path / "kubeconfig-down"
    unreachable.write_text(json.dumps(kubeconfig))

    settings = {
        "kind": "k8s",
        "kubeconfig": str(server.kubeconfig),
        "namespace": namespace,
        "timeout": 5.0,
    }
    try:
        yield env.harness(settings, seed, down={**settings, "kubeconfig": str(unreachable)})
    finally:
        api.api_client.close()
