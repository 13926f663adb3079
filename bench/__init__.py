"""Benchmarks for secretbridge: measurements, not tests.

Run them all with ``python -m bench`` (or ``make bench``) from the repository root, or
one with ``python -m bench warm_lookup``. Each prints plain-text tables with the target
next to the measured number; nothing asserts and the exit code does not depend on the
numbers. See ``bench/README.md`` for what each one measures.
"""

from __future__ import annotations

#: Benchmark modules, in the order ``python -m bench`` runs them.
BENCHMARKS: tuple[str, ...] = ("warm_lookup", "import_time", "redaction")
