"""Unit-test fixtures shared by the local store's test modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from resolvers import Resolvers

from secretbridge.stores.local import LocalStore


@pytest.fixture
def make(resolvers: Resolvers) -> Callable[..., LocalStore]:
    """Build a local store the way users do: a config document, a Resolver, ``store()``.
    Default paths put the database and key file in ``$SECRETBRIDGE_HOME`` (the autouse
    ``isolated_home``)."""

    def build(**options: Any) -> LocalStore:
        return resolvers.store(LocalStore, "vault-local", {"kind": "local", **options})

    return build
