"""Importing ``secretbridge.airflow`` or its provider metadata loads no Airflow: the
provider entry point is read by every Airflow process and by tools that only list
providers; the backend class (which needs Airflow) loads on first use of its name."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "code",
    [
        "import secretbridge.airflow",
        "from secretbridge.airflow.provider import get_provider_info; get_provider_info()",
    ],
)
def test_no_airflow_is_imported(code: str) -> None:
    check = (
        f"{code}\nimport sys\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'airflow'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_backend_loads_on_first_use_of_its_name() -> None:
    code = "import secretbridge.airflow as p; print(p.SecretsBackend.__module__)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "secretbridge.airflow.backend"
