"""The Secrets page in headless Chromium, inside Airflow's UI, after logging in through
Airflow's login form: the tables of names are on screen and no value is in the page.

Needs Debian's ``chromium`` and ``npm install`` in tests/airflow_ui/browser (``.ci/run``
installs both). A missing browser FAILS this test; developers without one may set
SECRETBRIDGE_SKIP_BROWSER_TEST=1 (never set in CI).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from processes import default_signals, stop_group
from secrets_page_kit import CANARIES, DB_LITERAL, MALFORMED, Airflow

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent / "browser"
SCRIPT = HERE / "secrets_page.js"
OPT_OUT = "SECRETBRIDGE_SKIP_BROWSER_TEST"


@pytest.fixture(scope="session")
def browser() -> tuple[str, str]:
    """node and chromium, or a failure that says how to get them (checked before the
    api-server is started for nothing)."""
    if os.environ.get(OPT_OUT) == "1":
        pytest.skip(f"{OPT_OUT}=1: the browser test was opted out of")
    node = shutil.which("node")
    chromium = shutil.which(os.environ.get("CHROMIUM") or "chromium")
    missing = [
        what
        for what, found in [
            ("node", node),
            ("chromium (apt-get install chromium)", chromium),
            (
                "playwright-core (npm ci --prefix tests/airflow_ui/browser)",
                (HERE / "node_modules" / "playwright-core").is_dir(),
            ),
        ]
        if not found
    ]
    if missing:
        pytest.fail(f"the browser test needs {', '.join(missing)}; opt out with {OPT_OUT}=1")
    assert node is not None and chromium is not None
    return node, chromium


def test_the_secrets_page_in_airflows_ui(
    browser: tuple[str, str], airflow: Airflow, tmp_path: Path
) -> None:
    node, chromium = browser
    screenshot = tmp_path / "secrets-page.png"
    process = subprocess.Popen(
        [
            node,
            str(SCRIPT),
            airflow.url,
            "admin",
            airflow.passwords()["admin"],
            str(screenshot),
            str(tmp_path / "chromium-profile"),
        ],
        env={**os.environ, "CHROMIUM": chromium},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # node and its chromium in a group of their own
        preexec_fn=default_signals,
    )
    try:
        stdout, stderr = process.communicate(timeout=240)
    finally:  # whatever happened, no browser outlives the test
        stop_group(process)
    assert process.returncode == 0, stderr[-3000:]
    page = json.loads(stdout)
    print(f"screenshot: {screenshot}")

    assert page["url"].startswith(f"{airflow.url}/plugin/"), "shown inside Airflow's UI"
    assert page["frameUrl"] == f"{airflow.url}/secretbridge/"
    tables = page["tables"]
    for name in ("warehouse", "api_http", "connections/warehouse"):
        assert name in tables["connections"], tables["connections"]
    for name in ("batch_size", "wh_login"):
        assert name in tables["variables"], tables["variables"]
    assert "pg_ref" in tables["db"] and "secret:connections/warehouse#password" in tables["db"]
    assert "plain_db" not in tables["db"]
    assert "healthy" in tables["stores"] and "vault-down" in tables["stores"]
    lookup = tables["lookup"]
    assert "connections/warehouse" in lookup and "secret:variables/wh_login" in lookup
    assert "airflow-ui:admin" in tables["audit"]
    assert page["banner"] == ""
    for canary in [*CANARIES.values(), DB_LITERAL, MALFORMED]:
        assert canary not in stdout
    assert screenshot.stat().st_size > 20_000, "a screenshot with something on it"
    docs = os.environ.get("SECRETBRIDGE_UPDATE_SCREENSHOT")
    if docs:  # a developer refreshing the README's picture: docs/secrets-page.png
        shutil.copyfile(screenshot, docs)
