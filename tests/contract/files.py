"""The stores that need no server: ``local``, ``env`` and ``custom``."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

from secretbridge.stores.local import LocalStore
from secretbridge.testing import CannotBeDown, StoreHarness

from .factory import HarnessEnv


def local_store(env: HarnessEnv) -> Iterator[StoreHarness]:
    folder = env.tmp_path / "local"
    settings = {
        "kind": "local",
        "path": str(folder / "store.db"),
        "key_file": str(folder / "store.key"),
    }
    resolver = env.resolver(settings)
    store = resolver.store("under-test")
    assert isinstance(store, LocalStore)
    store.init()  # what `secretbridge init` does
    corrupt = folder / "corrupt.db"
    corrupt.write_bytes(b"this is not an SQLite database\n" * 200)
    yield StoreHarness(
        resolver=resolver,
        seed=store.put,
        settings=settings,
        down={**settings, "path": str(corrupt)},
        absent_version="999999",
    )


def env_store(env: HarnessEnv) -> Iterator[StoreHarness]:
    def seed(physical: str, value: str | bytes) -> None:
        if not isinstance(value, str):
            raise TypeError("environment variables hold text only")
        env.monkeypatch.setenv(physical, value)

    settings = {"kind": "env"}
    always = CannotBeDown("the environment of the process is always there to read")
    yield env.harness(settings, seed, down=always)


CUSTOM_SCRIPT = '''\
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


def custom_store(env: HarnessEnv) -> Iterator[StoreHarness]:
    folder = env.tmp_path / "custom"
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

    # Down: the same script beside no secrets.json, so get_secrets() raises.
    for where in (folder, env.tmp_path / "custom-down"):
        where.mkdir()
        (where / "my_secrets.py").write_text(CUSTOM_SCRIPT, encoding="utf-8")
    write()
    settings = {"kind": "custom", "script": str(folder / "my_secrets.py")}
    down = {**settings, "script": str(env.tmp_path / "custom-down" / "my_secrets.py")}
    yield env.harness(settings, seed, down=down)
