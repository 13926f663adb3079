"""What a store under test provides to the contract suite, and the leak check."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest

from ..config import parse_config
from ..refs import Reference, format_reference
from ..resolver import Resolver
from ..stores.base import Capabilities, Store
from ..stores.local import LocalStore

#: The store under test is always configured under this name, first in the chain.
UNDER_TEST = "under-test"
#: A local store behind it in the chain: it holds decoys, and catches what the first misses.
BACKSTOP = "backstop"
#: Planted in every store before each test; it must never show in an error, repr or log.
CANARY = "canary-5e1f-NEVER-SHOW-THIS"

E = TypeVar("E", bound=BaseException)

#: ``seed(physical_name, value)``: returns the version id the value got, if any.
Seed = Callable[[str, "str | bytes"], "str | None"]


def assert_no_leak(secrets: str | Iterable[str], *things: object) -> None:
    """Neither ``str`` nor ``repr`` of any of ``things``, nor (for an exception) its
    traceback, args and attributes, nor those of every exception chained to it as
    ``__cause__`` or ``__context__`` (also one hidden by ``raise ... from None``), holds
    any of ``secrets``."""
    wanted = (secrets,) if isinstance(secrets, str) else tuple(secrets)
    for thing in things:
        for text in _texts(thing, seen=set()):
            for secret in wanted:
                assert secret not in text, f"a secret leaked through {type(thing).__name__}"


def _texts(thing: object, seen: set[int]) -> Iterator[str]:
    yield str(thing)
    yield repr(thing)
    if isinstance(thing, BaseException) and id(thing) not in seen:
        seen.add(id(thing))
        yield "".join(traceback.format_exception(thing))
        yield repr(thing.args)
        yield from (repr(value) for value in vars(thing).values())
        for linked in (thing.__cause__, thing.__context__):
            if linked is not None:
                yield from _texts(linked, seen)


def contract_resolver(settings: Mapping[str, Any], folder: Path) -> Resolver:
    """A Resolver whose chain is the store ``settings`` describe (named ``under-test``)
    and then a local store (``backstop``) kept in ``folder``. The cache is off, so every
    call reaches the store itself. Close it when done (it is a context manager)."""
    backstop = folder / BACKSTOP
    document = {
        "resolver": {
            "chain": [UNDER_TEST, BACKSTOP],
            "cache_ttl": 0,
            "miss_ttl": 0,
            "stale_if_error": 0,
        },
        "stores": {
            UNDER_TEST: dict(settings),
            BACKSTOP: {
                "kind": "local",
                "path": str(backstop / "store.db"),
                "key_file": str(backstop / "store.key"),
            },
        },
    }
    resolver = Resolver(parse_config(document))
    backstop_store = resolver.store(BACKSTOP)
    assert isinstance(backstop_store, LocalStore)
    backstop_store.init()  # as `secretbridge init` does: a store never created cannot answer
    return resolver


@dataclass(frozen=True)
class CannotBeDown:
    """Given as ``StoreHarness.down`` by a store that is never unavailable (environment
    variables): the test of ``health()`` on a store that is down skips with ``reason``."""

    reason: str


@dataclass(kw_only=True)
class StoreHarness:
    """What a store under test provides.

    ``resolver``: from :func:`contract_resolver` with the store's ``settings`` (its config
    table, also used to check config validation). ``seed(physical_name, value)`` places
    a value by the store's own means (its vendor SDK, the environment, a file), not
    through the store under test, and returns the version id it got if the store has
    versions. ``absent_version`` is a well-formed version id that no secret ever has
    (versioned stores only). ``down`` is the settings of the same store made unable to
    answer (a server address where nothing listens, a corrupt file), or
    :class:`CannotBeDown`.
    """

    resolver: Resolver
    seed: Seed
    settings: Mapping[str, Any]
    down: Mapping[str, Any] | CannotBeDown
    absent_version: str | None = None

    name: ClassVar[str] = UNDER_TEST
    canary: ClassVar[str] = CANARY

    @property
    def store(self) -> Store:
        return self.resolver.store(self.name)

    @property
    def caps(self) -> Capabilities:
        return self.store.capabilities

    def physical(self, logical: str) -> str:
        """The physical name the store's naming rule gives ``logical``."""
        return self.store.naming.to_physical(logical, store=self.name)

    def ref(self, physical: str, *, version: str | None = None, field: str | None = None) -> str:
        """``under-test://physical[?version=V][#field]``, escaped as the grammar wants."""
        return format_reference(Reference(physical, store=self.name, version=version, field=field))

    def backstop_put(self, logical: str, value: str | bytes) -> None:
        """Write a decoy under the same logical name in the store behind this one (as a
        reference: a bare name would read '#', '?' and '%' as syntax)."""
        self.resolver.put(str(Reference(logical)), value, store=BACKSTOP)

    def need(self, capability: str, present: bool = True) -> None:
        """Skip unless the store has (or, with ``present=False``, lacks) ``capability``."""
        if bool(getattr(self.caps, capability)) != present:
            state = "has no" if present else "has"
            pytest.skip(f"store kind {type(self.store).kind!r} {state} {capability!r} capability")

    @staticmethod
    def assert_clean(*things: object) -> None:
        """No secret value (the canary) in anything here: see :func:`assert_no_leak`."""
        assert_no_leak(CANARY, *things)

    @contextlib.contextmanager
    def raises(
        self, expected: type[E], match: str | None = None
    ) -> Iterator[pytest.ExceptionInfo[E]]:
        """``pytest.raises`` that also checks the error carries no secret value."""
        with pytest.raises(expected, match=match) as info:
            yield info
        self.assert_clean(info.value)
