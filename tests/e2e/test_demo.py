"""``make demo`` (``python -m dev_env.demo``) as a developer runs it: it succeeds, ends
with connections/warehouse seen alike by the Airflow task and both Dagster runs, shows
none of its secrets' values, and leaves no server behind."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from processes import clean_env, run

REPO = Path(__file__).resolve().parents[2]
#: Values the demo stores (dev_env/demo.py, the dev_env seeds, the S3 key pair); the demo
#: prints lengths and *** only.
VALUES = [
    "sf-pass-1", "sf-pass-2", "tr-pass-3", "tok-demo-1", "pg-pass-0", "pg-demo-pass",
    "vault-demo-pg-1", "demo-s3-key-4711", "AKIADEMOSECRETBRIDGE",
]  # fmt: skip


@pytest.mark.slow
def test_make_demo_ends_with_one_connection_in_both_orchestrators(tmp_path: Path) -> None:
    # TMPDIR: the demo's temporary home goes there, to look for leftovers.
    env = clean_env("DAGSTER_", "AIRFLOW", "_AIRFLOW", TMPDIR=str(tmp_path))
    done = run([sys.executable, "-m", "dev_env.demo"], env, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stdout[-6000:]
    out = done.stdout
    ending = out[out.index("== The same connection") :]
    seen = re.findall(r"^   (Airflow task|Dagster asset) .*?\s(\S+)$", ending, re.M)
    assert [who for who, _ in seen] == ["Airflow task", "Dagster asset", "Dagster asset"]
    assert {conn for _, conn in seen} == {"snowflake://etl@acme.snowflakecomputing.com"}
    assert "S3Resource: s3://secretbridge-demo holds ['hello.txt']" in out
    assert "materialize(): success=True" in out
    assert [value for value in VALUES if value in out] == []
    assert list(tmp_path.iterdir()) == [], "the demo left its temporary home"
    left = [proc.name for proc in Path("/proc").iterdir() if _works_in(proc, tmp_path)]
    assert left == [], "a server the demo started is still running"


def _works_in(proc: Path, folder: Path) -> bool:
    """Whether process ``proc`` (a /proc entry) runs in ``folder`` (the servers do)."""
    try:
        return proc.name.isdigit() and str(folder) in str((proc / "cwd").readlink())
    except OSError:
        return False
