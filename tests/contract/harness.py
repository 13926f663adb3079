"""The contract harness: what a store under test provides (StoreHarness), what its
factory is given (HarnessEnv), and the registry of factories (``@contract_store``).

A store joins the suite with one module ``harness_<kind>.py`` beside this file holding a
generator function decorated ``@contract_store("kind")`` that yields a StoreHarness;
conftest.py imports every such module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest
from leaks import assert_no_leak

from secretbridge import Reference, Resolver
from secretbridge.config import parse_config
from secretbridge.stores.base import Capabilities, Store

#: The store under test is always configured under this name, first in the chain.
UNDER_TEST = "under-test"
#: A local store behind it in the chain: it holds decoys, and catches what the first misses.
BACKSTOP = "backstop"
#: Planted in every store before each test; it must never show in an error, repr or log.
CANARY = "canary-5e1f-NEVER-SHOW-THIS"

E = TypeVar("E", bound=BaseException)
Seed = Callable[[str, "str | bytes"], "str | None"]


@dataclass
class StoreHarness:
    """What the contract tests need from a store.

    ``seed(physical_name, value)`` places a value by the store's own means (its SDK, the
    environment, a file) and returns the version id it got, if the store has versions.
    ``absent_version`` is a well-formed version id that no secret ever has.
    ``settings`` are the store's config table, so config validation can be checked.
    """

    resolver: Resolver
    seed: Seed
    settings: dict[str, Any]
    absent_version: str | None = None
    name: str = UNDER_TEST

    @property
    def store(self) -> Store:
        return self.resolver.store(self.name)

    @property
    def caps(self) -> Capabilities:
        return self.store.capabilities

    def physical(self, logical: str) -> str:
        """The physical name the store's naming rule gives ``logical``."""
        return self.store.naming.to_physical(logical, store=self.name)

    def backstop_put(self, logical: str, value: str | bytes) -> None:
        """Write a decoy under the same logical name in the store behind this one (as a
        reference: a bare name would read '#', '?' and '%' as syntax)."""
        self.resolver.put(str(Reference(logical)), value, store=BACKSTOP)

    # The leak checks live here so that test modules need import nothing from conftest.

    canary: ClassVar[str] = CANARY

    @staticmethod
    def assert_clean(*things: object) -> None:
        """Neither ``str``, ``repr`` nor (for exceptions) the formatted traceback chain
        and attributes of anything here holds the canary."""
        assert_no_leak(CANARY, *things)

    @contextlib.contextmanager
    def raises(
        self, expected: type[E], match: str | None = None
    ) -> Iterator[pytest.ExceptionInfo[E]]:
        """``pytest.raises`` that also checks the error carries no secret value."""
        with pytest.raises(expected, match=match) as info:
            yield info
        self.assert_clean(info.value)


@dataclass
class HarnessEnv:
    """What a store factory gets: a private folder, monkeypatch, and the pytest request
    (``request.getfixturevalue("moto_server")`` for a session-wide wire server)."""

    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    request: pytest.FixtureRequest
    resolvers: list[Resolver] = field(default_factory=list)

    def resolver(self, settings: dict[str, Any]) -> Resolver:
        """A Resolver for ``{stores: {under-test: settings, backstop: local}}`` with the
        store under test first in the chain, built from a plain config document. The
        cache is off so every test sees the store itself."""
        backstop = self.tmp_path / "backstop"
        document = {
            "resolver": {
                "chain": [UNDER_TEST, BACKSTOP],
                "cache_ttl": 0,
                "miss_ttl": 0,
                "stale_if_error": 0,
            },
            "stores": {
                UNDER_TEST: dict(settings),
                BACKSTOP: {
                    "kind": "local",
                    "path": str(backstop / "store.db"),
                    "key_file": str(backstop / "store.key"),
                },
            },
        }
        resolver = Resolver(parse_config(document))
        self.resolvers.append(resolver)
        return resolver


StoreFactory = Callable[[HarnessEnv], contextlib.AbstractContextManager[StoreHarness]]
STORE_FACTORIES: dict[str, StoreFactory] = {}


def contract_store(kind: str) -> Callable[[Callable[[HarnessEnv], Iterator[StoreHarness]]], Any]:
    """Register a generator ``factory(env) -> yields StoreHarness`` under ``kind``."""

    def register(factory: Callable[[HarnessEnv], Iterator[StoreHarness]]) -> Any:
        STORE_FACTORIES[kind] = contextlib.contextmanager(factory)
        return factory

    return register
