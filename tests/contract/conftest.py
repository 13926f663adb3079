"""The store contract fixtures: one suite, every store (see harness.py)."""

from __future__ import annotations

import base64
import importlib
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import (
    CANARY,
    STORE_FACTORIES,
    UNDER_TEST,
    HarnessEnv,
    StoreHarness,
    contract_store,
)

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


# Stores on wire servers register from their own modules (harness_aws.py, ...).
for _module in sorted(Path(__file__).parent.glob("harness_*.py")):
    importlib.import_module(_module.stem)


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
