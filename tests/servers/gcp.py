"""Session fixtures for the GCP Secret Manager stand-in (dev_env/gcp_sm.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dev_env.gcp_sm import SecretManagerStandIn


@pytest.fixture(scope="session")
def gcp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretManagerStandIn]:
    with SecretManagerStandIn(tmp_path_factory.mktemp("gcp")) as server:
        yield server
