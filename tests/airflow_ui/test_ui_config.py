"""Which secretbridge config the Secrets page reads, and what it answers when that config
is broken: 503 naming the file and the key, never a value from it. Run in a subprocess
with the session's Airflow home (importing Airflow here would touch ~/airflow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

PROBE = """
import json
from secretbridge.airflow import ui
try:
    path = ui.config_path()
except Exception:
    path = None
try:
    ui.resolver()
except Exception as error:
    print(json.dumps({"path": path, "status": error.status_code, "detail": error.detail}))
else:
    print(json.dumps({"path": path, "status": 200}))
"""


def probe(env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_backend_kwargs_config_is_read_and_the_per_key_env_wins(
    airflow_home: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    _, env = airflow_home
    good = json.loads(env["AIRFLOW__SECRETS__BACKEND_KWARGS"])["config"]
    assert probe(env) == {"path": good, "status": 200}
    broken = tmp_path / "broken.toml"
    broken.write_text('[stores.vault]\nkind = "vault"\ntoken = "tok-cnry-3b9e"\nbogus = 1\n')
    got = probe({**env, "AIRFLOW__SECRETS__BACKEND_KWARG__CONFIG": str(broken)})
    assert (got["path"], got["status"]) == (str(broken), 503)
    detail = str(got["detail"])
    assert str(broken) in detail and "stores.vault.bogus" in detail, detail
    assert "tok-cnry" not in detail


def test_a_missing_config_file_is_named(
    airflow_home: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    _, env = airflow_home
    missing = tmp_path / "nowhere.toml"
    got = probe({**env, "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"config": str(missing)})})
    assert got["status"] == 503 and str(missing) in str(got["detail"])


def test_backend_kwargs_are_read_as_airflow_reads_them(
    airflow_home: tuple[Path, dict[str, str]],
) -> None:
    """Not JSON: Airflow logs it and builds the backend without kwargs, and the page uses
    what the backend uses; nothing quotes the setting."""
    _, env = airflow_home
    got = probe({**env, "AIRFLOW__SECRETS__BACKEND_KWARGS": '{"token": "tok-cnry-77f1"'})
    assert got["path"] is None and "tok-cnry" not in json.dumps(got)
    # Another backend's kwargs are not secretbridge's.
    got = probe({**env, "AIRFLOW__SECRETS__BACKEND": ""})
    assert got["path"] is None


def test_a_backend_kwarg_secretbridge_does_not_know_is_named_not_quoted(
    airflow_home: tuple[Path, dict[str, str]],
) -> None:
    _, env = airflow_home
    got = probe({**env, "AIRFLOW__SECRETS__BACKEND_KWARG__TOKEN": "tok-cnry-5c0d"})
    assert got["status"] == 503, got
    assert "[secrets] backend_kwargs: unknown backend_kwargs key(s): token" in str(got["detail"])
    assert "tok-cnry" not in json.dumps(got)
