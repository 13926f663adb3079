"""What a harness factory of ours is given (HarnessEnv) and what it is (StoreFactory)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from secretbridge import Resolver
from secretbridge.testing import StoreHarness, contract_resolver


@dataclass
class HarnessEnv:
    """A private folder, monkeypatch, and the pytest request (for a session-wide wire
    server: ``request.getfixturevalue("moto_server")``)."""

    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    request: pytest.FixtureRequest

    def resolver(self, settings: Mapping[str, Any]) -> Resolver:
        return contract_resolver(settings, self.tmp_path)


#: A generator that yields the harness and then releases what it built (SDK clients).
StoreFactory = Callable[[HarnessEnv], Iterator[StoreHarness]]
