"""What the resolver tests share: an in-memory store whose secrets, outage, gate and
calls the test controls; a policy; an audit sink that records; a clock the test moves;
resolvers over such stores built without jitter."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from secretbridge import AccessDenied, AuditEvent, Reference, Resolver, SecretBridgeError
from secretbridge.naming import NamingRule
from secretbridge.stores.base import Capabilities, Store, StoreContext, StoredValue


class MemoryStore(Store):
    kind = "memory"
    capabilities = Capabilities(writable=True, versions=True, batch_size=100)

    def __init__(
        self,
        name: str,
        secrets: Mapping[str, str] | None = None,
        *,
        naming: NamingRule | None = None,
    ) -> None:
        super().__init__(
            name,
            None,
            naming=naming or NamingRule(),
            context=StoreContext(home=Path("/nonexistent"), base_dir=Path("/nonexistent")),
        )
        self.versions: dict[str, list[str]] = {k: [v] for k, v in (secrets or {}).items()}
        self.down = False  # raise ConnectionError, as an SDK does when the far end is gone
        self.gate: threading.Event | None = None  # reads wait for it when set
        self.entered = threading.Event()  # a read has started
        self.calls: list[tuple[str, ...]] = []  # one entry per read call: the paths asked

    def set(self, path: str, value: str) -> None:
        self.versions.setdefault(path, []).append(value)

    def _read(self, paths: Sequence[str]) -> None:
        self.calls.append(tuple(paths))
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(timeout=10), "the test never opened the gate"
        if self.down:
            raise ConnectionError("backend is down")

    def get(self, path: str, version: str | None = None) -> StoredValue:
        self._read([path])
        history = self.versions.get(path)
        if not history:
            raise self.not_found(path)
        if version is None:
            return StoredValue(history[-1], str(len(history)))
        index = int(version) - 1
        if not 0 <= index < len(history):
            raise self.not_found(path, version)
        return StoredValue(history[index], version)

    def get_many(self, paths: Sequence[str]) -> dict[str, StoredValue | SecretBridgeError]:
        self._read(paths)
        return {
            path: StoredValue(self.versions[path][-1], str(len(self.versions[path])))
            if self.versions.get(path)
            else self.not_found(path)
            for path in paths
        }

    def list_names(self, prefix: str = "") -> list[str]:
        return sorted(name for name in self.versions if name.startswith(prefix))

    def put(self, path: str, value: str | bytes) -> str:
        assert isinstance(value, str)
        self.set(path, value)
        return str(len(self.versions[path]))

    def delete(self, path: str) -> None:
        if path not in self.versions:
            raise self.not_found(path)
        del self.versions[path]


class UnbatchedMemoryStore(MemoryStore):
    """As a remote store without a batch API: the resolver fans ``get`` out."""

    capabilities = Capabilities(writable=True, versions=True, batch_size=None)


class DenyTeamB:
    """A policy: team-b may not touch team-a's names; it keeps what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str | None, Reference, str]] = []

    def authorize(self, principal: str | None, ref: Reference, action: str) -> None:
        self.asked.append((principal, ref, action))
        if principal == "team-b" and ref.path.startswith("team-a/"):
            raise AccessDenied("team-b may not read team-a secrets", ref=str(ref))


class Recorder:
    """An audit sink that keeps the events it is given."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> None:
        self.events.append(event)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def no_jitter() -> float:
    return 0.0


def over(*stores: Store, clock: Clock | None = None, **kwargs: Any) -> Resolver:
    """A resolver over ``stores``, chained in the order given."""
    return Resolver.from_stores(
        {store.name: store for store in stores}, clock=clock or Clock(), rng=no_jitter, **kwargs
    )
