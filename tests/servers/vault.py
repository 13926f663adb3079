"""Session fixtures for the vault test server: a real OpenBao dev server on 127.0.0.1
(plain HTTP and HTTPS listeners, root token), started on first use and stopped at the
end of the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dev_env.vault import VaultServer


@pytest.fixture(scope="session")
def vault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VaultServer]:
    with VaultServer(tmp_path_factory.mktemp("openbao")) as server:
        yield server
