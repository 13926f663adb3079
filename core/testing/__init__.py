"""``secretbridge.testing``: the contract suite every store passes, ours or a plugin's.

A plugin store's own tests run it in a few lines (needs pytest)::

    import pytest
    from secretbridge.testing import StoreContract, StoreHarness, contract_resolver

    class TestMyStore(StoreContract):
        @pytest.fixture
        def harness(self, tmp_path):
            settings = {"kind": "my-store", ...}
            return StoreHarness(
                resolver=contract_resolver(settings, tmp_path),
                seed=...,   # (physical_name, value) -> version id or None, not via the store
                settings=settings,
                down={**settings, "url": "http://127.0.0.1:9"},  # or CannotBeDown("why")
            )

``import secretbridge`` never imports this package (nor pytest).
"""

from __future__ import annotations

import pytest

# A failing contract test shows the values it compared, as it would in the plugin's own
# test module: pytest rewrites the asserts of modules registered before their import.
pytest.register_assert_rewrite("secretbridge.testing.contract", "secretbridge.testing.harness")

from .contract import StoreContract, logical_ref  # noqa: E402 - after the registration
from .harness import (  # noqa: E402
    BACKSTOP,
    CANARY,
    UNDER_TEST,
    CannotBeDown,
    Seed,
    StoreHarness,
    assert_no_leak,
    contract_resolver,
)

__all__ = [
    "BACKSTOP",
    "CANARY",
    "UNDER_TEST",
    "CannotBeDown",
    "Seed",
    "StoreContract",
    "StoreHarness",
    "assert_no_leak",
    "contract_resolver",
    "logical_ref",
]
