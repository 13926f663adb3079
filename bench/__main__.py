"""``python -m bench [NAME ...]``: run every benchmark (or the named ones) and print
their tables, then a summary of each headline number against its target.

The exit code is 0 whatever the numbers are: these are measurements, not tests.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time

from . import BENCHMARKS
from ._common import table


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; known: {', '.join(BENCHMARKS)}")
        return 2
    print(
        f"secretbridge benchmarks: Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs\n"
    )
    summary: list[list[object]] = []
    elapsed: list[list[object]] = []
    for name in names:
        module = importlib.import_module(f"{__package__}.{name}")
        started = time.perf_counter()
        summary.extend(module.run())
        elapsed.append([name, f"{time.perf_counter() - started:.1f} s"])
    print(table("summary", ["benchmark", "measured", "target", "verdict"], summary))
    print(table("elapsed", ["benchmark", "wall time"], elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
