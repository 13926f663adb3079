"""warm_lookup: ``Resolver.get`` when the value is already cached (a cache hit).

Set-up: a temporary ``SECRETBRIDGE_HOME`` with the default local store, holding 70 plain
secrets and 30 JSON secrets. The 100 references mix ``secret:NAME`` (60),
``local://PATH`` (10) and ``secret:NAME#password`` (30, a field of a JSON secret).

Measured:

* warm ``get``: every reference is resolved once, then ``get`` is timed call by call
  with ``time.perf_counter_ns`` (the cost of the timer pair, measured by the same loop
  without the call, is subtracted), and again in batches of 1000 calls divided by 1000
  (an empty loop of the same length is subtracted). Target: p50 <= 5 µs.
* for context, the cold path: the first ``get`` on a fresh resolver (open the SQLite
  file, read the key file, build the cipher, query, decrypt), a cache miss with the store
  already open, and ``get_many`` of the 100 references cold and warm.

The garbage collector is off while timing, as ``timeit`` does.
"""

from __future__ import annotations

import gc
import json
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from secretbridge import Resolver

from ._common import fmt_ns, isolated_home, median, percentile, table, verdict

TARGET_P50_NS = 5_000  # warm get(), per call

N_PLAIN = 70
N_JSON = 30
INDIVIDUAL_CALLS = 300_000  # individually timed warm get() calls
BATCH = 1_000  # calls per timed batch
BATCHES = 300
COLD_FRESH_RUNS = 30  # first get() on a new resolver
COLD_MISS_ROUNDS = 5  # rounds over all refs with the cache cleared before each get()
MANY_COLD_FRESH_RUNS = 10
MANY_COLD_RUNS = 30
MANY_WARM_RUNS = 300

KIND_PLAIN = "secret:NAME"
KIND_STORE = "local://PATH"
KIND_FIELD = "secret:NAME#field"


@contextmanager
def _gc_off() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def populate(resolver: Resolver) -> dict[str, str]:
    """Write the 100 secrets; returns the 100 references, each with its kind."""
    for i in range(N_PLAIN):
        resolver.put(f"secret:bench/plain/{i:03d}", f"value-{i:03d}-" + "x" * 24)
    for i in range(N_JSON):
        document = {
            "conn_type": "postgres",
            "host": f"db{i}.internal.example",
            "login": f"user{i:03d}",
            "password": f"pw-{i:03d}-" + "y" * 24,
            "port": 5432,
        }
        resolver.put(f"secret:bench/conn/{i:03d}", json.dumps(document))
    refs: dict[str, str] = {}
    for i in range(N_PLAIN):
        if i < 60:
            refs[f"secret:bench/plain/{i:03d}"] = KIND_PLAIN
        else:
            refs[f"local://bench/plain/{i:03d}"] = KIND_STORE
    for i in range(N_JSON):
        refs[f"secret:bench/conn/{i:03d}#password"] = KIND_FIELD
    return refs


# ---------------------------------------------------------------------- timing loops


def _per_call(get: Callable[[str], Any], seq: Sequence[str]) -> list[int]:
    pc = time.perf_counter_ns
    out: list[int] = []
    append = out.append
    for ref in seq:
        t0 = pc()
        get(ref)
        append(pc() - t0)
    return out


def _per_call_overhead(seq: Sequence[str]) -> list[int]:
    """The same loop as ``_per_call`` without the call: what the timer pair costs."""
    pc = time.perf_counter_ns
    out: list[int] = []
    append = out.append
    for _ref in seq:
        t0 = pc()
        append(pc() - t0)
    return out


def _batches(get: Callable[[str], Any], chunk: Sequence[str], count: int) -> list[int]:
    pc = time.perf_counter_ns
    out: list[int] = []
    for _ in range(count):
        t0 = pc()
        for ref in chunk:
            get(ref)
        out.append(pc() - t0)
    return out


def _empty_batches(chunk: Sequence[str], count: int) -> list[int]:
    pc = time.perf_counter_ns
    out: list[int] = []
    for _ in range(count):
        t0 = pc()
        for _ref in chunk:
            pass
        out.append(pc() - t0)
    return out


def _stats(samples: Sequence[float], minus: float = 0.0) -> tuple[float, float, float, float]:
    """p50, p90, p99 and mean of ``samples`` less ``minus`` (clamped at zero)."""
    ordered = sorted(samples)
    p50, p90, p99 = (max(percentile(ordered, q) - minus, 0.0) for q in (50, 90, 99))
    mean = max(sum(ordered) / len(ordered) - minus, 0.0)
    return p50, p90, p99, mean


# ---------------------------------------------------------------------- the benchmark


def _warm(resolver: Resolver, refs: dict[str, str]) -> tuple[str, float]:
    names = list(refs)
    resolver.get_many(names)  # warm the cache
    for ref in names:
        resolver.get(ref)
    rng = random.Random(20240601)
    seq = names * (INDIVIDUAL_CALLS // len(names))
    rng.shuffle(seq)
    chunk = (names * (BATCH // len(names) + 1))[:BATCH]
    rng.shuffle(chunk)
    get = resolver.get

    with _gc_off():
        _per_call(get, seq[:20_000])  # let caches and branch predictors settle
        overhead = _per_call_overhead(seq)
        samples = _per_call(get, seq)
        empty = _empty_batches(chunk, BATCHES)
        batches = _batches(get, chunk, BATCHES)

    timer = median(overhead)
    p50, p90, p99, mean = _stats(samples, timer)
    by_kind: dict[str, list[int]] = {}
    for ref, ns in zip(seq, samples, strict=True):
        by_kind.setdefault(refs[ref], []).append(ns)

    loop = median(empty)
    per_call_batches = [(b - loop) / BATCH for b in batches]
    b50, b90, b99, bmean = _stats(per_call_batches)

    target = f"p50 <= {fmt_ns(TARGET_P50_NS)}"
    rows: list[list[object]] = [
        [
            f"get(), timed per call, all refs (n={len(samples):,})",
            fmt_ns(p50),
            fmt_ns(p90),
            fmt_ns(p99),
            fmt_ns(mean),
            target,
            verdict(p50, TARGET_P50_NS),
        ]
    ]
    for kind in (KIND_PLAIN, KIND_STORE, KIND_FIELD):
        k50, k90, k99, kmean = _stats(by_kind[kind], timer)
        rows.append(
            [
                f"  of which {kind} (n={len(by_kind[kind]):,})",
                fmt_ns(k50),
                fmt_ns(k90),
                fmt_ns(k99),
                fmt_ns(kmean),
                "",
                "",
            ]
        )
    rows.append(
        [
            f"get(), {BATCHES} batches of {BATCH:,} calls, per call",
            fmt_ns(b50),
            fmt_ns(b90),
            fmt_ns(b99),
            fmt_ns(bmean),
            target,
            verdict(b50, TARGET_P50_NS),
        ]
    )
    t50, t90, t99, tmean = _stats(overhead)
    rows.append(
        [
            "timer pair alone (subtracted from the per-call rows)",
            fmt_ns(t50),
            fmt_ns(t90),
            fmt_ns(t99),
            fmt_ns(tmean),
            "",
            "",
        ]
    )
    print(
        table(
            "warm_lookup: Resolver.get() on a cache hit",
            ["measurement", "p50", "p90", "p99", "mean", "target", "verdict"],
            rows,
            notes=[
                f"{len(refs)} refs over {N_PLAIN + N_JSON} secrets "
                f"({N_PLAIN} plain, {N_JSON} JSON) in a local store; gc off while timing.",
                "Per-call rows have the median timer-pair cost subtracted; batch rows "
                "have an empty loop of the same length subtracted.",
            ],
        )
    )
    return fmt_ns(p50), p50


def _cold(refs: dict[str, str]) -> None:
    names = list(refs)
    pc = time.perf_counter_ns
    first = names[0]

    # A fresh resolver each time: from_config() alone, then its first get().
    configs: list[int] = []
    firsts: list[int] = []
    for i in range(COLD_FRESH_RUNS):
        ref = names[i % len(names)]
        t0 = pc()
        fresh = Resolver.from_config()
        t1 = pc()
        fresh.get(ref)
        t2 = pc()
        fresh.close()
        configs.append(t1 - t0)
        firsts.append(t2 - t1)

    # Cache misses with the store already open.
    resolver = Resolver.from_config()
    resolver.get(first)
    misses: dict[str, list[int]] = {}
    for _ in range(COLD_MISS_ROUNDS):
        for ref in names:
            resolver.clear_cache()
            t0 = pc()
            resolver.get(ref)
            misses.setdefault(refs[ref], []).append(pc() - t0)
    all_misses = [ns for values in misses.values() for ns in values]

    # get_many of all 100 refs: fresh resolver, store open but cache empty, all cached.
    many_fresh: list[int] = []
    for _ in range(MANY_COLD_FRESH_RUNS):
        fresh = Resolver.from_config()
        t0 = pc()
        fresh.get_many(names)
        many_fresh.append(pc() - t0)
        fresh.close()
    many_cold: list[int] = []
    for _ in range(MANY_COLD_RUNS):
        resolver.clear_cache()
        t0 = pc()
        resolver.get_many(names)
        many_cold.append(pc() - t0)
    resolver.get_many(names)
    many_warm: list[int] = []
    with _gc_off():
        for _ in range(MANY_WARM_RUNS):
            t0 = pc()
            resolver.get_many(names)
            many_warm.append(pc() - t0)
    resolver.close()

    def row(label: str, samples: Sequence[float], per: int = 1) -> list[object]:
        p50, p90, _p99, mean = _stats(samples)
        return [
            label,
            len(samples),
            fmt_ns(p50),
            fmt_ns(p90),
            fmt_ns(mean),
            fmt_ns(p50 / per) if per > 1 else "",
        ]

    count = len(names)
    rows = [
        row("Resolver.from_config() (no store I/O yet)", configs),
        row("first get() on a fresh resolver: open store + read + decrypt", firsts),
        row("get() cache miss, store open: read + decrypt (+ JSON #field)", all_misses),
        row(f"  of which {KIND_PLAIN}", misses[KIND_PLAIN]),
        row(f"  of which {KIND_STORE}", misses[KIND_STORE]),
        row(f"  of which {KIND_FIELD}", misses[KIND_FIELD]),
        row(f"get_many({count} refs), fresh resolver", many_fresh, count),
        row(f"get_many({count} refs), cold cache, store open", many_cold, count),
        row(f"get_many({count} refs), warm (all cache hits)", many_warm, count),
    ]
    print(
        table(
            "warm_lookup (context): the cold path and get_many",
            ["measurement", "runs", "p50", "p90", "mean", "p50 per ref"],
            rows,
            notes=[
                "No target: shown to put the cache hit in proportion. Module imports "
                "(sqlite3, cryptography) are already done here; import_time covers them.",
            ],
        )
    )


def run() -> list[list[object]]:
    """Print the tables; returns summary rows (benchmark, measured, target, verdict)."""
    with isolated_home(prefix="sb-bench-warm-"):
        writer = Resolver.from_config()
        refs = populate(writer)
        writer.close()
        resolver = Resolver.from_config()
        try:
            shown, p50 = _warm(resolver, refs)
        finally:
            resolver.close()
        _cold(refs)
    return [
        [
            "warm_lookup: get() cache hit, p50",
            shown,
            f"<= {fmt_ns(TARGET_P50_NS)}",
            verdict(p50, TARGET_P50_NS),
        ]
    ]


if __name__ == "__main__":
    run()
    sys.exit(0)
