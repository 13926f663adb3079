"""The one leak check every test uses (it lives in ``secretbridge.testing``, which plugin
stores' tests use too): a planted secret must not show anywhere a value could escape by
accident."""

from __future__ import annotations

from secretbridge.testing import assert_no_leak

__all__ = ["assert_no_leak"]
