"""Store kinds: built-ins load lazily, plugins register through entry points, and a
missing SDK gives the install hint instead of an ImportError traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from plugins import install_distribution

from secretbridge import ConfigError, MissingDependency, Resolver
from secretbridge.config import parse_config
from secretbridge.stores.base import import_sdk, load_store_class

PLUGIN = """
from dataclasses import dataclass
from secretbridge.naming import NamingRule, airflow_preset
from secretbridge.stores import Store, StoreOptions, StoredValue

@dataclass(frozen=True)
class Options(StoreOptions):
    greeting: str = "hello"

class GreetingStore(Store):
    kind = "greeting"
    Options = Options

    def get(self, path, version=None):
        if path == "missing":
            raise self.not_found(path)
        return StoredValue(f"{self.options.greeting}, {path}", version="1")

    def list_names(self, prefix=""):
        return [n for n in ("world", "team") if n.startswith(prefix)]


class ShoutingStore(GreetingStore):
    \"\"\"Declares its own naming rule and an Airflow preset, as a built-in kind does.\"\"\"

    kind = "shouting"
    default_naming = NamingRule(separator="_", case="upper")
    naming_presets = {"airflow": airflow_preset(default_naming, "AIRFLOW_", "_")}
"""


@pytest.fixture
def plugin_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution, as pip would lay it out, that registers a store kind."""
    site = tmp_path / "site"
    install_distribution(
        site,
        "greeting-store",
        {"greeting_store.py": PLUGIN},
        {
            "secretbridge.stores": {
                "greeting": "greeting_store:GreetingStore",
                "shouting": "greeting_store:ShoutingStore",
            }
        },
    )
    monkeypatch.syspath_prepend(str(site))
    return site


def test_plugin_store_registers_by_entry_point(plugin_on_path: Path) -> None:
    config = parse_config({"stores": {"hi": {"kind": "greeting", "greeting": "hey"}}})
    with Resolver(config) as resolver:
        secret = resolver.get("secret:world")
        assert (secret.reveal(), secret.store, secret.version) == ("hey, world", "hi", "1")
        assert resolver.get("hi://team").reveal() == "hey, team"
        assert [item.name for item in resolver.list_secrets()] == ["team", "world"]


def test_plugin_store_declares_its_own_naming_and_preset(plugin_on_path: Path) -> None:
    config = parse_config(
        {
            "stores": {
                "plain": {"kind": "shouting"},
                "preset": {"kind": "shouting", "naming": {"preset": "airflow"}},
            }
        }
    )
    assert config.stores["plain"].naming.to_physical("connections/pg") == "CONNECTIONS_PG"
    assert config.stores["preset"].naming.to_physical("connections/pg") == "AIRFLOW_connections_PG"
    with Resolver(config) as resolver:
        secret = resolver.get("secret:connections/pg")
        assert (secret.reveal(), secret.store) == ("hello, CONNECTIONS_PG", "plain")
        # KIND:// with no store of that name: the kind's default store, with its naming.
        assert resolver.store("shouting").naming.to_physical("a/b") == "A_B"


def test_plugin_store_without_naming_gets_plain_names_and_no_preset(plugin_on_path: Path) -> None:
    config = parse_config({"stores": {"hi": {"kind": "greeting"}}})
    assert config.stores["hi"].naming.to_physical("connections/pg") == "connections/pg"
    with pytest.raises(ConfigError) as info:
        parse_config({"stores": {"hi": {"kind": "greeting", "naming": {"preset": "airflow"}}}})
    assert str(info.value) == (
        "stores.hi.naming.preset: the 'airflow' preset has no rule for kind 'greeting' "
        "(the kind's presets: none)"
    )


def test_plugin_options_are_validated(plugin_on_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"stores\.hi\.greeting: expected `str`"):
        parse_config({"stores": {"hi": {"kind": "greeting", "greeting": 5}}})
    with pytest.raises(ConfigError, match=r"stores\.hi\.colour: unknown setting"):
        parse_config({"stores": {"hi": {"kind": "greeting", "colour": 5}}})


def test_unknown_kind_names_the_builtins_and_the_entry_point_group() -> None:
    with pytest.raises(ConfigError, match=r"unknown store kind 'nope'; built in: aws-sm, .*"):
        load_store_class("nope")


def test_a_registered_kind_whose_module_is_absent_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from secretbridge import stores

    monkeypatch.setitem(stores.BUILTIN_KINDS, "future", "secretbridge.stores.future:Future")
    with pytest.raises(ConfigError, match=r"stores\.f\.kind: store kind 'future' is not avail"):
        load_store_class("future", where="stores.f.")


def test_missing_sdk_gives_the_install_hint() -> None:
    with pytest.raises(MissingDependency) as caught:
        import_sdk("secretbridge_test_no_such_sdk", kind="aws-sm", extra="aws")
    assert "pip install 'secretbridge[aws]'" in str(caught.value)
    assert isinstance(caught.value, ImportError), "callers catching ImportError still work"


def test_import_pulls_in_no_sdk_and_no_orchestrator() -> None:
    code = textwrap.dedent(
        """
        import sys
        import secretbridge
        from secretbridge import Resolver
        r = Resolver.from_config()
        r.put("k", "v")
        assert r.get("secret:k").reveal() == "v"
        heavy = ("boto3", "botocore", "azure", "google", "hvac", "kubernetes",
                 "airflow", "dagster", "pydantic", "msgspec")
        print(sorted({m.split(".")[0] for m in sys.modules} & set(heavy)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
