"""``secretbridge.testing`` is the only module that needs pytest: the package and the
command never import it."""

from __future__ import annotations

import subprocess
import sys
import textwrap


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
