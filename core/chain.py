"""The fetch chain: whole secrets (no fields) from their stores, one batch per store per
step, each outcome typed.

An explicit ``STORE://PATH`` is asked of its store alone. A logical name walks its chain:
a store that holds nothing under the name, or cannot spell it (:class:`Skip`), passes it
on; any other failure stops the walk (fail closed: the next store might hold a different
secret under the same name). A store in backoff answers StoreUnavailable without a call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from .cache import Backoff, Outcome
from .errors import InvalidReference, SecretBridgeError, SecretNotFound, StoreUnavailable
from .refs import Reference
from .stores.base import Lazy, Store, StoredValue
from .values import Secret

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

T = TypeVar("T")
R = TypeVar("R")
Fetched = StoredValue | SecretBridgeError  # one store's answer for one path


@dataclass(frozen=True)
class Skip:
    """A store in the chain that cannot spell the name, so cannot hold it."""

    store: str
    error: InvalidReference

    def describe(self) -> str:
        return f"{self.store} cannot hold it: {self.error.message}"


Step = Outcome | Skip  # one store's answer for one reference


def call_store(
    store: Store,
    fn: Callable[..., R],
    *args: Any,
    ref: str | None = None,
    writes_value: bool = False,
) -> R:
    """Call into a store; anything it raises that is not ours becomes StoreUnavailable
    naming the store and the cause. A read's cause is kept (SDK read errors carry no
    values); a write's is reduced to its type, as its text may quote the request, and a
    store's own error from a write loses its chain (the SDK error it was raised from, even
    ``from None``, keeps the request and its body)."""
    try:
        return fn(*args)
    except SecretBridgeError as error:
        if writes_value:
            error.__cause__ = error.__context__ = None
        raise
    except Exception as error:
        cause = type(error).__name__ if writes_value else f"{type(error).__name__}: {error}"
        failure = StoreUnavailable(f"the store failed: {cause}", ref=ref, store=store.name)
        if not writes_value:
            raise failure from error
    raise failure  # outside the except block: no __context__ that could quote the value


def copy_error(
    error: SecretBridgeError, ref: str | None = None, *, replace_ref: bool = False
) -> SecretBridgeError:
    """A new exception like ``error`` (one instance per raise: re-raising one would grow
    its traceback), naming ``ref`` if it names none (or always, with ``replace_ref``);
    its cause is kept."""
    named = ref if replace_ref else error.ref or ref
    fresh = type(error)(error.message, ref=named, store=error.store)
    fresh.__cause__ = error.__cause__
    return fresh


class Fetcher:
    """Fetches through the chain; ``store`` and ``chain_for`` are the resolver's."""

    def __init__(
        self,
        store: Callable[[str], Store],
        chain_for: Callable[[str], list[str]],
        backoff: Backoff,
        max_workers: int,
    ) -> None:
        self._store = store
        self._chain_for = chain_for
        self.backoff = backoff
        self._pool = Lazy(partial(_new_pool, max_workers))  # only stores without batches

    def close(self) -> None:
        pool = self._pool.take()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def fetch(self, refs: set[Reference]) -> dict[Reference, Outcome]:
        """The whole secret for each reference (its field is ignored)."""
        chains = {r: [r.store] if r.store is not None else self._chain_for(r.path) for r in refs}
        tried: dict[Reference, list[str]] = {ref: [] for ref in refs}
        out: dict[Reference, Outcome] = {}
        step = 0
        pending = set(refs)
        while pending:
            groups: dict[str, list[Reference]] = {}
            for ref in pending:
                groups.setdefault(chains[ref][step], []).append(ref)
            pending = set()
            for store_name, group in groups.items():
                for ref, answer in self._fetch_from(store_name, group).items():
                    if ref.store is not None:
                        out[ref] = answer.error if isinstance(answer, Skip) else answer
                    elif isinstance(answer, Skip | SecretNotFound):
                        tried[ref].append(
                            answer.describe()
                            if isinstance(answer, Skip)
                            else f"{store_name} as {answer.ref!r}"
                        )
                        if step + 1 < len(chains[ref]):
                            pending.add(ref)
                        else:
                            out[ref] = SecretNotFound(
                                f"not found in any store it may live in ({'; '.join(tried[ref])})",
                                ref=str(ref),
                            )
                    else:
                        out[ref] = answer
            step += 1
        return out

    def _fetch_from(self, store_name: str, refs: list[Reference]) -> dict[Reference, Step]:
        """One store's share of a lookup: map names, batch or fan out, wrap the values."""
        try:
            store = self._store(store_name)
        except SecretBridgeError as error:
            return {ref: copy_error(error, str(ref)) for ref in refs}
        blocked = self.backoff.blocked(store.name)
        if blocked is not None:
            return {ref: copy_error(blocked, str(ref)) for ref in refs}
        out: dict[Reference, Step] = {}
        physical: dict[Reference, str] = {}
        for ref in refs:
            if ref.store is not None:
                physical[ref] = ref.path
                continue
            try:
                physical[ref] = store.naming.to_physical(ref.path, store=store.name)
            except InvalidReference as error:
                out[ref] = Skip(store.name, error)
        latest = [r for r in physical if r.version is None]
        pinned = [r for r in physical if r.version is not None]
        answers = self._get_latest(store, sorted({physical[r] for r in latest}))
        pinned_answers = self._map(
            store, lambda item: store.get(*item), [(physical[r], r.version) for r in pinned]
        )
        self._note_health(store.name, [*answers.values(), *pinned_answers])
        for ref in latest:
            out[ref] = _wrap(store, ref, physical[ref], answers[physical[ref]])
        for ref, answer in zip(pinned, pinned_answers, strict=True):
            out[ref] = _wrap(store, ref, physical[ref], answer)
        return out

    def _note_health(self, store: str, answers: Sequence[Fetched]) -> None:
        """Any answer from the store (a value, "not found") resets its backoff; only
        failures extend it."""
        failure = None
        for answer in answers:
            if not isinstance(answer, StoreUnavailable):
                self.backoff.succeeded(store)
                return
            failure = answer
        if failure is not None:
            self.backoff.failed(store, failure)

    def _get_latest(self, store: Store, paths: list[str]) -> dict[str, Fetched]:
        if not paths:
            return {}
        size = store.capabilities.batch_size
        if size is None:
            return dict(zip(paths, self._map(store, store.get, paths), strict=True))
        out: dict[str, Fetched] = {}
        for start in range(0, len(paths), size):
            chunk = paths[start : start + size]
            batch = _call_safely(store, store.get_many, chunk)
            if isinstance(batch, SecretBridgeError):
                out.update(dict.fromkeys(chunk, batch))
            else:
                out.update(batch)
        return out

    def _map(
        self, store: Store, fn: Callable[[T], StoredValue], items: Sequence[T]
    ) -> list[Fetched]:
        """Run ``fn`` over ``items`` with a bounded pool; failures come back as values."""
        if len(items) <= 1:
            return [_call_safely(store, fn, item) for item in items]
        return list(self._pool.get().map(partial(_call_safely, store, fn), items))


def _new_pool(max_workers: int) -> ThreadPoolExecutor:
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers, thread_name_prefix="secretbridge")


def _call_safely(store: Store, fn: Callable[..., R], *args: Any) -> R | SecretBridgeError:
    try:
        return call_store(store, fn, *args)
    except SecretBridgeError as error:
        return error


def _wrap(store: Store, ref: Reference, physical: str, answer: Fetched) -> Outcome:
    if isinstance(answer, StoredValue):
        return Secret(
            answer.value, ref=str(ref), store=store.name, name=physical, version=answer.version
        )
    return copy_error(answer, str(ref) if ref.store is not None else physical)
