"""Session fixtures for AWS: one moto server (Secrets Manager, SSM, STS) on 127.0.0.1,
started on first use and stopped at the end of the session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from resolvers import Resolvers

from dev_env.aws import MotoServer
from dev_env.faultproxy import FaultProxy
from secretbridge import Resolver


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with MotoServer(tmp_path_factory.mktemp("aws")) as server:
        yield server


@pytest.fixture
def aws_proxy(moto_server: MotoServer, tmp_path: Path) -> Iterator[FaultProxy]:
    """A fault-injecting reverse proxy in front of moto, for one test."""
    with FaultProxy(tmp_path, moto_server.url) as proxy:
        yield proxy


@pytest.fixture
def aws_resolver(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, resolvers: Resolvers
) -> Callable[..., Resolver]:
    """``aws_resolver(kind, **options)``: a Resolver whose only store, named ``aws``, is
    of ``kind`` and points at moto (options override the defaults; ``None`` drops one);
    cache off."""
    for variable, value in moto_server.environment().items():
        monkeypatch.setenv(variable, value)

    def make(kind: str, **options: Any) -> Resolver:
        return resolvers.resolver(
            {"aws": {**moto_server.store_settings(kind), **options}},
            chain=["aws"],
            cache_ttl=0,
            miss_ttl=0,
            stale_if_error=0,
        )

    return make
