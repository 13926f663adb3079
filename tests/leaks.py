"""The one leak check every test uses (it lives in ``secretbridge.testing``, which plugin
stores' tests use too): a planted secret must not show anywhere a value could escape by
accident."""

from __future__ import annotations

from secretbridge.testing import assert_no_leak

__all__ = ["CANARY", "assert_clean", "assert_no_leak"]

#: The value tests plant: it must never show in an error, a log line or a repr.
CANARY = "canary-sb-7e41-NEVER-SHOW-THIS"


def assert_clean(*things: object) -> None:
    """``assert_no_leak`` for the shared :data:`CANARY`."""
    assert_no_leak(CANARY, *things)
