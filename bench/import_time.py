"""import_time: what a fresh process pays before its first secret.

Each run is a new ``python`` process (this interpreter) with a temporary
``SECRETBRIDGE_HOME`` holding a local store with one JSON secret. Inside it,
``time.perf_counter_ns`` brackets:

* ``import secretbridge``
* ``Resolver.from_config()``
* the first ``resolver.get("secret:bench/import/db#password")``

and, after the import and again after the ``get``, ``sys.modules`` is checked for the
heavy optional dependencies (boto3, botocore, azure, google, hvac, kubernetes,
airflow, dagster, pydantic: the top-level name or any ``name.`` submodule). Target:
<= 50 ms for ``import secretbridge`` and for import + ``from_config()`` + first
``get``, with none of those imported.

Two bytecode situations are measured, because they differ by tens of milliseconds:

* ``.pyc cached``: ``PYTHONPYCACHEPREFIX`` points at a temporary directory, which two
  warm-up runs fill; this is a process on a machine where the package was installed
  with byte-compilation (pip's default) or has run before.
* ``inherited env``: the environment ``python -m bench`` was started with, unchanged.
  With ``PYTHONDONTWRITEBYTECODE=1`` and an install that did not byte-compile (uv's
  default), every module outside the standard library is compiled on every start.

A separate probe run installs a ``sys.meta_path`` hook that records every *attempt* to
import one of those packages, so a guarded ``try: import boto3`` is caught even where
the package is not installed. Finally ``python -X importtime`` shows where the time goes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._common import fmt_ms, isolated_home, median, table, verdict

TARGET_NS = 50_000_000
RUNS = 15
WARMUP_RUNS = 2
IMPORTTIME_RUNS = 5
TOP = 10
REF = "secret:bench/import/db#password"
HEAVY = (
    "boto3",
    "botocore",
    "azure",
    "google",
    "hvac",
    "kubernetes",
    "airflow",
    "dagster",
    "pydantic",
)

# Runs in the child. Only ``sys`` (always loaded) and ``time`` (a built-in module) are
# imported before the clock starts.
_CHILD = """
import sys, time
_pc = time.perf_counter_ns
t0 = _pc()
import secretbridge
t1 = _pc()
after_import = list(sys.modules)
resolver = secretbridge.Resolver.from_config()
t2 = _pc()
resolver.get(sys.argv[1]).reveal()
t3 = _pc()
after_get = list(sys.modules)
import json
print(json.dumps({
    "import": t1 - t0, "from_config": t2 - t1, "first_get": t3 - t2, "total": t3 - t0,
    "after_import": after_import, "after_get": after_get,
}))
"""

# The probe: the same work, with a meta-path hook that records import attempts.
_PROBE = """
import sys
WATCH = set(sys.argv[2].split(","))
tried = []
class _Probe:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in WATCH:
            tried.append(name.partition(".")[0])
        return None
sys.meta_path.insert(0, _Probe)
import secretbridge
secretbridge.Resolver.from_config().get(sys.argv[1]).reveal()
import json
print(json.dumps(sorted(set(tried))))
"""

_IMPORTTIME = """
import sys
import secretbridge
secretbridge.Resolver.from_config().get(sys.argv[1]).reveal()
"""


@dataclass(frozen=True)
class Mode:
    label: str
    env: dict[str, str]


def heavy_in(modules: Sequence[str]) -> list[str]:
    """The watched packages present in ``modules`` (top-level name or a submodule)."""
    return [name for name in HEAVY if any(m == name or m.startswith(name + ".") for m in modules)]


def describe(found: Sequence[str]) -> str:
    return ", ".join(found) if found else "none imported"


def _python(args: Sequence[str], env: Mapping[str, str], cwd: Path) -> tuple[str, str, int]:
    """Run this interpreter; returns stdout, stderr and the wall time in ns."""
    t0 = time.perf_counter_ns()
    done = subprocess.run(
        [sys.executable, *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    wall = time.perf_counter_ns() - t0
    if done.returncode != 0:
        raise RuntimeError(f"child python failed ({done.returncode}):\n{done.stderr}")
    return done.stdout, done.stderr, wall


# ---------------------------------------------------------------------- timed runs


def _measure(mode: Mode, cwd: Path) -> dict[str, Any]:
    for _ in range(WARMUP_RUNS):
        _python(["-c", _CHILD, REF], mode.env, cwd)
    series: dict[str, list[int]] = {
        k: [] for k in ("startup", "import", "from_config", "first_get", "total", "wall")
    }
    heavy_import: set[str] = set()
    heavy_get: set[str] = set()
    for _ in range(RUNS):
        _, _, startup = _python(["-c", "pass"], mode.env, cwd)
        out, _, wall = _python(["-c", _CHILD, REF], mode.env, cwd)
        result = json.loads(out)
        for key in ("import", "from_config", "first_get", "total"):
            series[key].append(result[key])
        series["startup"].append(startup)
        series["wall"].append(wall)
        heavy_import.update(heavy_in(result["after_import"]))
        heavy_get.update(heavy_in(result["after_get"]))
    return {
        "series": series,
        "heavy_import": sorted(heavy_import),
        "heavy_get": sorted(heavy_get),
    }


def _timing_table(mode: Mode, measured: Mapping[str, Any]) -> str:
    series = measured["series"]
    target = f"<= {fmt_ms(TARGET_NS)}"

    def row(label: str, key: str, tgt: str = "", heavy: str = "") -> list[object]:
        values = series[key]
        med = median(values)
        return [
            label,
            fmt_ms(min(values)),
            fmt_ms(med),
            fmt_ms(max(values)),
            tgt,
            verdict(med, TARGET_NS) if tgt else "",
            heavy,
        ]

    rows = [
        row(
            "import secretbridge",
            "import",
            target,
            describe(measured["heavy_import"]),
        ),
        row("  Resolver.from_config()", "from_config"),
        row("  first get() (incl. lazy imports, store open, decrypt)", "first_get"),
        row(
            "import + from_config() + first get()",
            "total",
            target,
            describe(measured["heavy_get"]),
        ),
        row("for scale: python -c pass (process wall)", "startup"),
        row("for scale: whole child process (process wall)", "wall"),
    ]
    return table(
        f"import_time [{mode.label}]: fresh process, {RUNS} runs",
        ["measurement", "min", "median", "max", "target", "verdict", "heavy deps"],
        rows,
        notes=[
            "Verdicts use the median. 'heavy deps': " + ", ".join(HEAVY) + " in sys.modules.",
        ],
    )


# ---------------------------------------------------------------------- -X importtime


@dataclass
class _Entry:
    name: str
    depth: int
    self_us: int
    cumulative_us: int
    parent: int | None = None


def parse_importtime(stderr: str) -> list[_Entry]:
    """``-X importtime`` lines, in the order printed (children before their parent),
    each with the index of the entry that imported it."""
    entries: list[_Entry] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        head, cumulative, raw = line.split("|", 2)
        self_us = int(head.rsplit(":", 1)[1])
        depth = (len(raw) - len(raw.lstrip(" ")) - 1) // 2
        entries.append(_Entry(raw.strip(), depth, self_us, int(cumulative)))
    waiting: dict[int, list[int]] = {}
    for index, entry in enumerate(entries):
        for child in waiting.pop(entry.depth + 1, []):
            entries[child].parent = index
        waiting.setdefault(entry.depth, []).append(index)
    return entries


def _split(entries: list[_Entry]) -> tuple[list[_Entry], list[_Entry], _Entry | None]:
    """Entries under the top-level ``secretbridge`` import, the top-level imports made
    after it (lazily, by from_config() and get()), and the root entry."""
    root = next(
        (i for i, e in enumerate(entries) if e.name == "secretbridge" and e.depth == 0), None
    )
    if root is None:
        return [], [], None

    def under_root(index: int) -> bool:
        parent = entries[index].parent
        while parent is not None:
            if parent == root:
                return True
            parent = entries[parent].parent
        return False

    eager = [e for i, e in enumerate(entries) if under_root(i)]
    lazy = [e for e in entries[root + 1 :] if e.depth == 0]
    return eager, lazy, entries[root]


def _importtime(mode: Mode, cwd: Path) -> str:
    runs = []
    for _ in range(IMPORTTIME_RUNS):
        _, stderr, _ = _python(["-X", "importtime", "-c", _IMPORTTIME, REF], mode.env, cwd)
        runs.append(parse_importtime(stderr))

    cumulative: dict[str, list[int]] = {}
    self_time: dict[str, list[int]] = {}
    parent_of: dict[str, str] = {}
    lazy_names: list[str] = []
    roots: list[int] = []
    for entries in runs:
        eager, lazy, root = _split(entries)
        if root is not None:
            roots.append(root.cumulative_us)
        for entry in [*eager, *lazy]:
            cumulative.setdefault(entry.name, []).append(entry.cumulative_us)
            self_time.setdefault(entry.name, []).append(entry.self_us)
            if entry.parent is not None:
                parent_of[entry.name] = entries[entry.parent].name
        if not lazy_names:
            lazy_names = [e.name for e in lazy]
    eager_names = {name for name in cumulative if name not in lazy_names}

    def rows(names: Sequence[str], limit: int) -> list[list[object]]:
        ranked = sorted(names, key=lambda n: -median(cumulative[n]))[:limit]
        return [
            [
                f"{rank}. {name}",
                f"{median(cumulative[name]) / 1000:.1f} ms",
                f"{median(self_time[name]) / 1000:.1f} ms",
                parent_of.get(name, "(runtime import)"),
            ]
            for rank, name in enumerate(ranked, 1)
        ]

    total = f"{median(roots) / 1000:.1f} ms" if roots else "-"
    header = ["module", "cumulative", "self", "imported by"]
    first = table(
        f"import_time [{mode.label}]: -X importtime, top {TOP} under 'import secretbridge'",
        header,
        rows(sorted(eager_names), TOP),
        notes=[
            f"Median of {IMPORTTIME_RUNS} runs; 'import secretbridge' itself: {total} "
            "cumulative (importtime adds its own overhead).",
        ],
    )
    second = table(
        f"import_time [{mode.label}]: imported later, by from_config() and the first get()",
        header,
        rows(lazy_names, 5),
        notes=[
            "-X importtime does not log modules loaded through importlib.import_module "
            "(secretbridge.stores.local is),",
            "so what they import shows up here as a runtime import of its own.",
        ],
    )
    return first + "\n" + second


# ---------------------------------------------------------------------- the benchmark


def _modes(home: Path, pycache: Path) -> list[Mode]:
    inherited = dict(os.environ)
    cached = dict(os.environ)
    cached.pop("PYTHONDONTWRITEBYTECODE", None)
    cached["PYTHONPYCACHEPREFIX"] = str(pycache)
    for env in (inherited, cached):
        env["SECRETBRIDGE_HOME"] = str(home)
    flag = os.environ.get("PYTHONDONTWRITEBYTECODE")
    return [
        Mode(".pyc cached", cached),
        Mode(f"inherited env, PYTHONDONTWRITEBYTECODE={flag or '(unset)'}", inherited),
    ]


def _probe(mode: Mode, cwd: Path) -> list[str]:
    out, _, _ = _python(["-c", _PROBE, REF, ",".join(HEAVY)], mode.env, cwd)
    tried: list[str] = json.loads(out)
    return tried


def _summary(mode: Mode, measured: Mapping[str, Any]) -> list[list[object]]:
    rows: list[list[object]] = []
    for key, heavy_key, label in (
        ("import", "heavy_import", "import secretbridge"),
        ("total", "heavy_get", "import + from_config + get"),
    ):
        med = median(measured["series"][key])
        heavy = measured[heavy_key]
        met = verdict(med, TARGET_NS) == "met" and not heavy
        rows.append(
            [
                f"import_time [{mode.label}]: {label}",
                f"{fmt_ms(med)}, {describe(heavy)}",
                f"<= {fmt_ms(TARGET_NS)}, none imported",
                "met" if met else "MISSED",
            ]
        )
    return rows


def _heavy_table(
    results: Sequence[Mapping[str, Any]], installed: Sequence[str], tried: Sequence[str]
) -> str:
    after_import = sorted({name for r in results for name in r["heavy_import"]})
    after_get = sorted({name for r in results for name in r["heavy_get"]})
    return table(
        "import_time: heavy optional dependencies (" + ", ".join(HEAVY) + ")",
        ["check", "result"],
        [
            ["installed in this environment", ", ".join(installed) or "none installed"],
            ["in sys.modules after import (every run, every mode)", describe(after_import)],
            ["in sys.modules after first get (every run, every mode)", describe(after_get)],
            [
                "import attempted (meta-path probe, even if it failed)",
                ", ".join(tried) or "none attempted",
            ],
        ],
        notes=[
            "A package that is not installed can never show up in sys.modules; the probe "
            "also catches guarded or failed attempts to import one.",
        ],
    )


def run() -> list[list[object]]:
    """Print the tables; returns summary rows (benchmark, measured, target, verdict)."""
    from secretbridge import Resolver

    summary: list[list[object]] = []
    with isolated_home(prefix="sb-bench-import-") as home:
        writer = Resolver.from_config()
        writer.put("secret:bench/import/db", json.dumps({"login": "u", "password": "p" * 24}))
        writer.close()
        work = home.parent
        with tempfile.TemporaryDirectory(prefix="sb-bench-pyc-") as pycache:
            modes = _modes(home, Path(pycache))
            results = []
            for mode in modes:
                measured = _measure(mode, work)
                results.append(measured)
                print(_timing_table(mode, measured))
                summary.extend(_summary(mode, measured))
            installed = [name for name in HEAVY if importlib.util.find_spec(name) is not None]
            print(_heavy_table(results, installed, _probe(modes[0], work)))
            for mode in modes:
                print(_importtime(mode, work))
    return summary


if __name__ == "__main__":
    run()
    sys.exit(0)
