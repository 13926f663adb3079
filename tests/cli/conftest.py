"""The ``cli`` fixture: the installed command on the test's own home."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_kit import CLI


@pytest.fixture
def cli(isolated_home: Path) -> CLI:
    return CLI(isolated_home)
