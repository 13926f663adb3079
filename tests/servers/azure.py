"""Session fixtures for the Azure Key Vault stand-in (dev_env/azure_kv.py): one HTTPS
stand-in with its own CA and a managed-identity endpoint, started on first use and
stopped at the end of the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dev_env.azure_kv import KeyVaultStandIn


@pytest.fixture(scope="session")
def azure_kv_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyVaultStandIn]:
    with KeyVaultStandIn(tmp_path_factory.mktemp("azure-kv")) as server:
        yield server


@pytest.fixture
def azure_kv(
    azure_kv_server: KeyVaultStandIn, monkeypatch: pytest.MonkeyPatch
) -> Iterator[KeyVaultStandIn]:
    """The session stand-in with the managed-identity variables set (as App Service sets
    them) and its fault plan, deny list and limits reset after the test."""
    for variable, value in azure_kv_server.environment().items():
        monkeypatch.setenv(variable, value)
    yield azure_kv_server
    azure_kv_server.faults.clear()
    azure_kv_server.denied.clear()
    azure_kv_server.client_ids.clear()
    azure_kv_server.max_value_bytes = KeyVaultStandIn.max_value_bytes
    azure_kv_server.page_size = KeyVaultStandIn.page_size


@pytest.fixture
def fresh_azure_kv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KeyVaultStandIn]:
    """A stand-in of this test's own: a new port, so no client in this process has met
    its challenge yet (the SDK caches challenges per vault for the whole process)."""
    server = KeyVaultStandIn(tmp_path)
    server.start()
    for variable, value in server.environment().items():
        monkeypatch.setenv(variable, value)
    try:
        yield server
    finally:
        server.stop()
