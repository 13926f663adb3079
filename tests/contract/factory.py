"""What a harness factory of ours is given (HarnessEnv) and what it is (StoreFactory)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dev_env.service import free_port
from secretbridge import Resolver
from secretbridge.testing import CannotBeDown, Seed, StoreHarness, contract_resolver


@dataclass
class HarnessEnv:
    """A private folder, monkeypatch, and the pytest request (for a session-wide wire
    server: ``request.getfixturevalue("moto_server")``)."""

    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    request: pytest.FixtureRequest

    def resolver(self, settings: Mapping[str, Any]) -> Resolver:
        return contract_resolver(settings, self.tmp_path)

    def harness(
        self,
        settings: Mapping[str, Any],
        seed: Seed,
        *,
        down: Mapping[str, Any] | CannotBeDown,
        absent_version: str | None = None,
    ) -> StoreHarness:
        """The harness of the store ``settings`` describe, on a resolver of its own."""
        return StoreHarness(
            resolver=self.resolver(settings),
            seed=seed,
            settings=settings,
            down=down,
            absent_version=absent_version,
        )


def nowhere() -> str:
    """``127.0.0.1:PORT`` where nothing listens: a server address for a store that is down."""
    return f"127.0.0.1:{free_port()}"


#: A generator that yields the harness and then releases what it built (SDK clients).
StoreFactory = Callable[[HarnessEnv], Iterator[StoreHarness]]
