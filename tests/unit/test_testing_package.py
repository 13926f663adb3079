"""``secretbridge.testing`` is the only module that needs pytest: the package and the
command never import it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest

from secretbridge import Secret
from secretbridge.testing import CANARY, assert_no_leak


def test_importing_secretbridge_imports_neither_pytest_nor_the_testing_package() -> None:
    code = textwrap.dedent(
        """
        import sys
        import secretbridge, secretbridge.cli, secretbridge.config, secretbridge.stores.base
        import secretbridge.stores.local

        watched = ("pytest", "_pytest", "secretbridge.testing")
        print(sorted(m for m in sys.modules if m.startswith(watched)))
        import secretbridge.testing
        print("pytest" in sys.modules)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines() == ["[]", "True"]


def _raised(make: Callable[[], None]) -> BaseException:
    try:
        make()
    except BaseException as error:
        return error
    raise AssertionError("nothing was raised")


def _hidden_in_context() -> None:
    try:
        raise ValueError(f"bad value {CANARY}")
    except ValueError:
        # `from None` hides the context from tracebacks, but it is still there to read
        raise KeyError("the secret is malformed") from None


def _deep_in_cause() -> None:
    try:
        _hidden_in_context()
    except KeyError as error:
        raise RuntimeError("lookup failed") from error


@pytest.mark.parametrize(
    "thing",
    [
        pytest.param(ValueError(CANARY), id="args"),
        pytest.param(_raised(_hidden_in_context), id="suppressed __context__"),
        pytest.param(_raised(_deep_in_cause), id="context of a cause"),
    ],
)
def test_the_leak_check_finds_a_value_wherever_an_error_keeps_it(thing: BaseException) -> None:
    with pytest.raises(AssertionError, match="a secret leaked"):
        assert_no_leak(CANARY, thing)


def test_the_leak_check_passes_a_clean_chain_and_a_secret() -> None:
    def clean() -> None:
        try:
            raise ValueError("no value here")
        except ValueError as error:
            raise KeyError("nor here") from error

    assert_no_leak(CANARY, _raised(clean), Secret(CANARY))
