"""The adapters' resolver factory: one resolver per process and config, a fresh one in
a forked child, and the parent's store left working."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from secretbridge import close_shared_resolvers, shared_resolver


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    close_shared_resolvers()
    yield
    close_shared_resolvers()


def test_one_resolver_per_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "a.toml"
    config.write_text('[stores.main]\nkind = "local"\n')
    first = shared_resolver(config)
    assert shared_resolver(str(config)) is first
    monkeypatch.chdir(tmp_path)
    assert shared_resolver("a.toml") is first, "the same file by another spelling"
    monkeypatch.setenv("SECRETBRIDGE_CONFIG", str(config))
    assert shared_resolver() is first
    monkeypatch.delenv("SECRETBRIDGE_CONFIG")
    default = shared_resolver()
    assert default is not first and default.config.source is None


def test_the_default_depends_on_the_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = shared_resolver()
    monkeypatch.setenv("SECRETBRIDGE_HOME", str(tmp_path / "other"))
    assert shared_resolver() is not first


def test_closing_forgets() -> None:
    first = shared_resolver()
    close_shared_resolvers()
    assert shared_resolver() is not first


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_builds_its_own_and_leaves_the_parents_store_working() -> None:
    parent = shared_resolver()
    parent.store("local").init()  # type: ignore[attr-defined]
    parent.put("a", "from-parent")
    assert parent.get("secret:a").reveal() == "from-parent"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running pytest's teardown
        try:
            child = shared_resolver()
            ok = child is not parent and child.get("secret:a").reveal() == "from-parent"
            child.put("b", "from-child")
            os.write(write, b"ok" if ok else b"no")
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    assert answer == b"ok"
    parent.clear_cache()
    assert parent.get("secret:b").reveal() == "from-child"
    parent.put("c", "after")
    assert parent.get("secret:c").reveal() == "after"
