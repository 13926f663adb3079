"""Resolver.is_cached: what the Airflow Secrets page shows as "cached", asked without
calling a store or writing an audit record."""

from __future__ import annotations

import pytest
from resolver_kit import Clock, MemoryStore, Recorder, over

from secretbridge import SecretNotFound


def test_is_cached_follows_values_misses_and_expiry() -> None:
    store = MemoryStore("main", {"connections/pg": "postgres://u:p@h/db"})
    clock = Clock()
    audit = Recorder()
    resolver = over(store, clock=clock, audit=audit)
    ref = "secret:connections/pg"
    assert not resolver.is_cached(ref)
    resolver.get(ref)
    assert resolver.is_cached(ref)
    assert not resolver.is_cached("secret:connections/other")
    with pytest.raises(SecretNotFound):
        resolver.get("secret:connections/other")
    assert resolver.is_cached("secret:connections/other"), "a remembered miss is cached too"
    calls, events = len(store.calls), len(audit.events)
    assert resolver.is_cached(resolver.parse(ref))  # a Reference works as its string
    assert (len(store.calls), len(audit.events)) == (calls, events), "no call, no record"
    clock.now += resolver.config.resolver.cache_ttl + 1
    assert not resolver.is_cached(ref)
