"""Shared helpers: an isolated secretbridge home, percentiles, and aligned tables."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

#: Environment variables that would make a benchmark read someone's real config or keys.
AMBIENT_VARS = ("SECRETBRIDGE_HOME", "SECRETBRIDGE_CONFIG", "SECRETBRIDGE_KEY")


@contextlib.contextmanager
def isolated_home(prefix: str = "sb-bench-") -> Iterator[Path]:
    """A temporary ``SECRETBRIDGE_HOME`` with no config file and no key in the
    environment, so ``Resolver.from_config()`` gives the default local store there.
    The previous environment is restored and the directory removed afterwards."""
    saved = {name: os.environ.get(name) for name in AMBIENT_VARS}
    root = Path(tempfile.mkdtemp(prefix=prefix))
    home = root / "home"
    try:
        for name in AMBIENT_VARS:
            os.environ.pop(name, None)
        os.environ["SECRETBRIDGE_HOME"] = str(home)
        yield home
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(root, ignore_errors=True)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of already sorted values, linearly interpolated."""
    if not sorted_values:
        return float("nan")
    position = (len(sorted_values) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return percentile(sorted(values), 50)


def fmt_ns(ns: float) -> str:
    """A duration in nanoseconds, in the unit that keeps it readable."""
    if ns != ns:  # NaN
        return "-"
    if abs(ns) < 1_000:
        return f"{ns:.0f} ns"
    if abs(ns) < 1_000_000:
        return f"{ns / 1_000:.2f} µs"
    if abs(ns) < 1_000_000_000:
        return f"{ns / 1_000_000:.2f} ms"
    return f"{ns / 1_000_000_000:.2f} s"


def fmt_ms(ns: float) -> str:
    """A duration in nanoseconds, always shown in milliseconds (for side-by-side rows)."""
    return f"{ns / 1_000_000:.1f} ms"


def table(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    notes: Sequence[str] = (),
) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        parts = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [title, "=" * len(title), line(cells[0]), rule]
    out.extend(line(row) for row in cells[1:])
    out.extend(f"  {note}" for note in notes)
    return "\n".join(out) + "\n"


def verdict(measured: float, target: float) -> str:
    """``met`` or ``MISSED`` for a lower-is-better measurement."""
    return "met" if measured <= target else "MISSED"
