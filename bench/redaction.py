"""redaction: what Dagster log redaction costs per log record and per ``print``.

Every value a secretbridge resource resolves in a Dagster run is registered with
``secretbridge.dagster.redaction``; while a resource is set up, each log record's message
and each ``sys.stdout``/``sys.stderr`` write goes through one compiled alternation of all
registered values. The cost grows with the number of values a process has resolved.

Measured, with 10, 100 and 1000 registered values (40-character random values, the
counts reached in that order, as a long-lived process would):

* ``redact(line)`` on a 120-character log line that holds no value, and on one that holds
  one (p50 of 20,000 timed calls);
* a ``logger.info("... %s", arg)`` call that reaches a handler, with the record factory
  installed, minus the same call without it.

Target: ≤ 20 µs added per log record with 100 values (a step that logs 10,000 lines pays
at most 0.2 s). Needs the ``dagster`` extra (the package imports Dagster).
"""

from __future__ import annotations

import logging
import secrets
import sys
import time

from ._common import fmt_ns, median, table, verdict

TARGET_NS = 20_000  # added per log record, 100 values
COUNTS = (10, 100, 1000)
CALLS = 20_000
LINE = "2026-11-29 12:00:00 - dagster - INFO - step 'orders' wrote 12,345 rows to {} in 3.2 s"


def _p50(fn: object, arg: str) -> float:
    call = fn  # local: no attribute lookups in the loop
    samples = []
    for _ in range(CALLS):
        started = time.perf_counter_ns()
        call(arg)  # type: ignore[operator]
        samples.append(time.perf_counter_ns() - started)
    return median(samples)


def _log_cost(logger: logging.Logger) -> float:
    samples = []
    for i in range(CALLS):
        started = time.perf_counter_ns()
        logger.info("step wrote %s rows to the warehouse table orders_daily", i)
        samples.append(time.perf_counter_ns() - started)
    return median(samples)


def run() -> list[list[object]]:
    try:
        from secretbridge.dagster import redaction
    except ImportError:
        print("redaction: skipped (install the dagster extra)\n")
        return []
    logger = logging.getLogger("bench.redaction")
    logger.propagate = False
    logger.addHandler(logging.NullHandler())
    logger.setLevel(logging.INFO)
    rows: list[list[object]] = []
    summary: list[list[object]] = []
    registered: list[str] = []
    for count in COUNTS:
        while len(registered) < count:
            registered.append(secrets.token_urlsafe(30))
        redaction.register(*registered)
        clean = _p50(redaction.redact, LINE.format("schema.table"))
        holding = _p50(redaction.redact, LINE.format(registered[count // 2]))
        without = _log_cost(logger)
        redaction.install()
        try:
            with_hooks = _log_cost(logger)
        finally:
            redaction.uninstall()
        added = max(with_hooks - without, 0.0)
        rows.append([count, fmt_ns(clean), fmt_ns(holding), fmt_ns(without), fmt_ns(added)])
        if count == 100:
            summary.append(
                ["redaction: per log record, 100 values", fmt_ns(added), fmt_ns(TARGET_NS),
                 verdict(added, TARGET_NS)]
            )  # fmt: skip
    print(
        table(
            "redaction (p50)",
            ["values", "redact(), no match", "redact(), one match", "log call", "added by hook"],
            rows,
            notes=[f"{CALLS:,} calls each; 120-character lines"],
        )
    )
    return summary


if __name__ == "__main__":
    run()
    sys.exit(0)
