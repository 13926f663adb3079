"""Unit-test fixtures shared by the local store's test modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from secretbridge import Resolver
from secretbridge.config import parse_config
from secretbridge.stores.local import LocalStore


@pytest.fixture
def make(isolated_home: Path) -> Iterator[Callable[..., LocalStore]]:
    """Build a local store the way users do: a config document, a Resolver, ``store()``.
    Default paths put the database and key file in ``$SECRETBRIDGE_HOME``."""
    resolvers: list[Resolver] = []

    def build(**options: Any) -> LocalStore:
        resolver = Resolver(parse_config({"stores": {"vault-local": {"kind": "local", **options}}}))
        resolvers.append(resolver)
        store = resolver.store("vault-local")
        assert isinstance(store, LocalStore)
        return store

    yield build
    for resolver in resolvers:
        resolver.close()
