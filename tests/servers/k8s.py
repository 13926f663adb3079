"""Session fixtures for the Kubernetes API stand-in (dev_env/k8s.py): HTTPS with its own
CA, reached through the kubeconfig it writes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dev_env.k8s import KubernetesStandIn


@pytest.fixture(scope="session")
def k8s_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubernetesStandIn]:
    with KubernetesStandIn(tmp_path_factory.mktemp("k8s")) as server:
        yield server
