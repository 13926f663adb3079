"""The one way the adapters obtain a resolver: one per process and config file.

Airflow builds its secrets backend many times per process (at import, per task, per
``*_secret`` config lookup) and Dagster sets resources up per step; all of them share the
resolver (and so its cache, its store clients and their logins) of the config they name.
A later release may put a per-host agent behind this factory; callers do not change.

A forked child (Airflow's LocalExecutor, Dagster's multiprocess executor on Linux) must
not use its parent's store connections: after a fork the table starts empty, and the
parent's resolvers are kept, unused, rather than closed, because closing a SQLite
connection inherited across a fork can remove the parent's write-ahead log.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .config import config_path, default_home
from .resolver import Resolver

_lock = threading.Lock()
_resolvers: dict[tuple[str, str], Resolver] = {}
_inherited: list[Resolver] = []  # a parent's, after fork: never used, never closed


def shared_resolver(config: str | os.PathLike[str] | None = None) -> Resolver:
    """The resolver for ``config`` (else ``$SECRETBRIDGE_CONFIG``, else the embedded
    default in ``$SECRETBRIDGE_HOME``), built on first use in this process. Building one
    reads the config file and connects to nothing."""
    key = _key(config)
    resolver = _resolvers.get(key)
    if resolver is not None:
        return resolver
    with _lock:
        resolver = _resolvers.get(key)
        if resolver is None:
            resolver = _resolvers[key] = Resolver.from_config(config)
    return resolver


def close_shared_resolvers() -> None:
    """Close and forget every shared resolver (tests; a process that is done)."""
    with _lock:
        resolvers = list(_resolvers.values())
        _resolvers.clear()
    for resolver in resolvers:
        resolver.close()


def _key(config: str | os.PathLike[str] | None) -> tuple[str, str]:
    path = config_path(config)
    if path is not None:
        return ("file", str(Path(path).resolve()))
    return ("default", str(default_home().resolve()))


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # the parent's may have been held by another thread
    _inherited.extend(_resolvers.values())
    _resolvers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
