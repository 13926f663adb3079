"""Shared fixtures: every test runs with its own secretbridge home and no ambient config;
``resolvers`` builds resolvers and stores from config documents and closes them after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from resolvers import Resolvers

# Wire-level servers (moto, OpenBao, the dev_env stand-ins), one module each; pytester
# runs the contract suite against broken stores to show that it fails them.
pytest_plugins = [
    "servers.aws",
    "servers.vault",
    "servers.azure",
    "servers.gcp",
    "servers.k8s",
    "pytester",
]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "sbhome"
    monkeypatch.setenv("SECRETBRIDGE_HOME", str(home))
    monkeypatch.delenv("SECRETBRIDGE_CONFIG", raising=False)
    monkeypatch.delenv("SECRETBRIDGE_KEY", raising=False)
    return home


@pytest.fixture
def resolvers() -> Iterator[Resolvers]:
    with ExitStack() as stack:
        yield Resolvers(stack)
