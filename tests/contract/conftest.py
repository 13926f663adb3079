"""The store contract harness: one suite, every store.

A store joins the suite with ONE function decorated ``@contract_store("kind")``: it is
given a :class:`HarnessEnv` (tmp dir, monkeypatch, the pytest request for session
fixtures such as a wire server) and yields a :class:`StoreHarness` built the way users
build stores, through ``parse_config`` and ``Resolver``. The ``harness`` fixture is
parametrised over every registered function, so each test in ``test_store_contract.py``
runs once per store; the store's :class:`Capabilities` decide which tests apply.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest

from secretbridge import Resolver
from secretbridge.config import parse_config
from secretbridge.stores.base import Capabilities, Store

#: The store under test is always configured under this name, first in the chain.
UNDER_TEST = "under-test"
#: A local store behind it in the chain: it holds decoys, and catches what the first misses.
BACKSTOP = "backstop"
#: Planted in every store before each test; it must never show in an error, repr or log.
CANARY = "canary-5e1f-NEVER-SHOW-THIS"

E = TypeVar("E", bound=BaseException)
Seed = Callable[[str, "str | bytes"], "str | None"]


@dataclass
class StoreHarness:
    """What the contract tests need from a store.

    ``seed(physical_name, value)`` places a value by the store's own means (its SDK, the
    environment, a file) and returns the version id it got, if the store has versions.
    ``absent_version`` is a well-formed version id that no secret ever has.
    ``settings`` are the store's config table, so config validation can be checked.
    """

    resolver: Resolver
    seed: Seed
    settings: dict[str, Any]
    absent_version: str | None = None
    name: str = UNDER_TEST

    @property
    def store(self) -> Store:
        return self.resolver.store(self.name)

    @property
    def caps(self) -> Capabilities:
        return self.store.capabilities

    def physical(self, logical: str) -> str:
        """The physical name the store's naming rule gives ``logical``."""
        return self.store.naming.to_physical(logical, store=self.name)

    def backstop_put(self, logical: str, value: str | bytes) -> None:
        """Write a decoy under the same logical name in the store behind this one."""
        self.resolver.put(logical, value, store=BACKSTOP)

    # The leak checks live here so that test modules need import nothing from conftest.

    canary: ClassVar[str] = CANARY

    @staticmethod
    def assert_clean(*things: object) -> None:
        """Neither ``str``, ``repr`` nor (for exceptions) the formatted traceback chain
        and attributes of anything here holds the canary."""
        for thing in things:
            texts = [str(thing), repr(thing)]
            if isinstance(thing, BaseException):
                texts.append("".join(traceback.format_exception(thing)))
                texts.append(repr(thing.args))
                texts.extend(repr(value) for value in vars(thing).values())
            for text in texts:
                assert CANARY not in text, f"the canary leaked through {type(thing).__name__}"

    @contextlib.contextmanager
    def raises(
        self, expected: type[E], match: str | None = None
    ) -> Iterator[pytest.ExceptionInfo[E]]:
        """``pytest.raises`` that also checks the error carries no secret value."""
        with pytest.raises(expected, match=match) as info:
            yield info
        self.assert_clean(info.value)


@dataclass
class HarnessEnv:
    """What a store factory gets: a private folder, monkeypatch, and the pytest request
    (``request.getfixturevalue("moto_server")`` for a session-wide wire server)."""

    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    request: pytest.FixtureRequest
    resolvers: list[Resolver] = field(default_factory=list)

    def resolver(self, settings: dict[str, Any]) -> Resolver:
        """A Resolver for ``{stores: {under-test: settings, backstop: local}}`` with the
        store under test first in the chain, built from a plain config document. The
        cache is off so every test sees the store itself."""
        backstop = self.tmp_path / "backstop"
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
        self.resolvers.append(resolver)
        return resolver


StoreFactory = Callable[[HarnessEnv], contextlib.AbstractContextManager[StoreHarness]]
STORE_FACTORIES: dict[str, StoreFactory] = {}


def contract_store(kind: str) -> Callable[[Callable[[HarnessEnv], Iterator[StoreHarness]]], Any]:
    """Register a generator ``factory(env) -> yields StoreHarness`` under ``kind``."""

    def register(factory: Callable[[HarnessEnv], Iterator[StoreHarness]]) -> Any:
        STORE_FACTORIES[kind] = contextlib.contextmanager(factory)
        return factory

    return register


# ------------------------------------------------------------------ the stores


@contract_store("local")
def local_store(env: HarnessEnv) -> Iterator[StoreHarness]:
    folder = env.tmp_path / "local"
    settings = {
        "kind": "local",
        "path": str(folder / "store.db"),
        "key_file": str(folder / "store.key"),
    }
    resolver = env.resolver(settings)
    store = resolver.store(UNDER_TEST)
    store.init()  # type: ignore[attr-defined]  # what `secretbridge init` does
    yield StoreHarness(resolver, seed=store.put, settings=settings, absent_version="999999")


@contract_store("env")
def env_store(env: HarnessEnv) -> Iterator[StoreHarness]:
    def seed(physical: str, value: str | bytes) -> None:
        if not isinstance(value, str):
            raise TypeError("environment variables hold text only")
        env.monkeypatch.setenv(physical, value)

    settings = {"kind": "env"}
    yield StoreHarness(env.resolver(settings), seed=seed, settings=settings)


_CUSTOM_SCRIPT = '''\
"""A user's get_secrets() script: text entries as they are, binary ones base64-coded."""
import base64
import json
import pathlib

DATA = pathlib.Path(__file__).with_name("secrets.json")


def get_secrets():
    document = json.loads(DATA.read_text(encoding="utf-8"))
    secrets = dict(document["text"])
    secrets.update({k: base64.b64decode(v) for k, v in document["binary"].items()})
    return secrets
'''


@contract_store("custom")
def custom_store(env: HarnessEnv) -> Iterator[StoreHarness]:
    folder = env.tmp_path / "custom"
    folder.mkdir()
    data: dict[str, dict[str, str]] = {"text": {}, "binary": {}}
    data_file = folder / "secrets.json"

    def write() -> None:
        tmp = data_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(data_file)

    def seed(physical: str, value: str | bytes) -> None:
        data["text"].pop(physical, None)
        data["binary"].pop(physical, None)
        if isinstance(value, bytes):
            data["binary"][physical] = base64.b64encode(value).decode("ascii")
        else:
            data["text"][physical] = value
        write()

    write()
    script = folder / "my_secrets.py"
    script.write_text(_CUSTOM_SCRIPT, encoding="utf-8")
    settings = {"kind": "custom", "script": str(script)}
    yield StoreHarness(env.resolver(settings), seed=seed, settings=settings)


# ------------------------------------------------------------------ fixtures and checks


@pytest.fixture(params=list(STORE_FACTORIES))
def harness(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> Iterator[StoreHarness]:
    caplog.set_level(logging.DEBUG)
    env = HarnessEnv(tmp_path, monkeypatch, request)
    try:
        with STORE_FACTORIES[request.param](env) as built:
            yield built
    finally:
        for resolver in env.resolvers:
            resolver.close()
    assert CANARY not in caplog.text, "a secret value reached the logs"


@pytest.fixture
def ns(harness: StoreHarness) -> str:
    """A logical namespace of this test's own (stores on shared servers see other tests'
    names), with a canary planted in it: as a plain value and inside a JSON document."""
    namespace = f"ct{uuid.uuid4().hex[:10]}"
    harness.seed(harness.physical(f"{namespace}/canary"), CANARY)
    harness.seed(
        harness.physical(f"{namespace}/canary_json"),
        json.dumps({"user": "etl", "password": CANARY}),
    )
    return namespace
