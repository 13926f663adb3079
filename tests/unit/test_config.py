"""Config loading: discovery, defaults, and errors that name the key at fault."""

from __future__ import annotations

from pathlib import Path

import pytest
from leaks import assert_no_leak

from secretbridge import ConfigError, Resolver
from secretbridge.config import load_config, parse_config, resolve_indirection


def write(tmp_path: Path, text: str, name: str = "sb.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_embedded_default_is_one_local_store_under_home(isolated_home: Path) -> None:
    config = load_config()
    assert config.source is None
    assert list(config.stores) == ["local"]
    assert config.stores["local"].kind == "local"
    assert config.chain == ["local"]
    assert config.home == isolated_home


def test_config_found_through_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[stores.vault-ish]\nkind = "env"\n')
    monkeypatch.setenv("SECRETBRIDGE_CONFIG", str(path))
    config = load_config()
    assert config.source == path
    assert list(config.stores) == ["vault-ish"]


def test_explicit_path_wins_over_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRETBRIDGE_CONFIG", str(tmp_path / "missing.toml"))
    path = write(tmp_path, '[stores.e]\nkind = "env"\n')
    assert list(load_config(path).stores) == ["e"]


def test_missing_config_file_names_the_path_and_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRETBRIDGE_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml.*SECRETBRIDGE_CONFIG"):
        load_config()


def test_chain_defaults_to_declaration_order_and_can_be_set(tmp_path: Path) -> None:
    text = '[stores.b]\nkind = "env"\n[stores.a]\nkind = "local"\n'
    assert load_config(write(tmp_path, text)).chain == ["b", "a"]
    text = '[resolver]\nchain = ["a"]\n' + text
    assert load_config(write(tmp_path, text)).chain == ["a"]


def test_yaml_config(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "resolver:\n  cache_ttl: 10\nstores:\n  e:\n    kind: env\n",
        name="sb.yaml",
    )
    config = load_config(path)
    assert config.resolver.cache_ttl == 10
    assert config.stores["e"].kind == "env"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('colour = "blue"\n', r": colour: unknown setting; expected one of: audit, namespaces"),
        ("[resolver]\nttl = 1\n", r"resolver\.ttl: unknown setting; expected one of: cache_ttl"),
        (
            '[stores.a]\nkind = "env"\n[[routes]]\nprefix = "x/"\nstore = "a"\nto = 1\n',
            r"routes\[0\]\.to: unknown setting",
        ),
        ('[resolver]\ncache_ttl = "soon"\n', r"resolver\.cache_ttl: expected `float`, got `str`"),
        (
            "[resolver]\nmiss_ttl = -1\n",
            r"resolver\.miss_ttl: must be a finite number of seconds, zero or more",
        ),
        ("[resolver]\nmax_workers = 0\n", r"resolver\.max_workers: must be at least 1"),
        (
            '[stores.a]\nkind = "local"\nkeep_versions = 0\n',
            r"stores\.a\.keep_versions: must be at least 1",
        ),
        ('[resolver]\nchain = ["ghost"]\n', r"resolver\.chain\[0\]: no store named 'ghost'"),
        ("[stores.a]\npath = 'x'\n", r"stores\.a\.kind: missing"),
        ('[stores.a]\nkind = "nosuch"\n', r"stores\.a\.kind: unknown store kind 'nosuch'"),
        ('[stores.Bad_Name]\nkind = "env"\n', r"stores\.Bad_Name: a store name must be lower case"),
        ('[stores.a]\nkind = "local"\nkeep_versions = "many"\n', r"stores\.a\.keep_versions: "),
        (
            '[stores.a]\nkind = "local"\ncolour = 1\n',
            r"stores\.a\.colour: unknown setting; expected one of: keep_versions",
        ),
        ('[stores.a]\nkind = "env"\nnaming = "airflow"\n', r"stores\.a\.naming: expected a table"),
        ('[stores.a]\nkind = "env"\nnaming = {preset = "x"}\n', r"stores\.a\.naming\.preset"),
        ('[stores.a]\nkind = "local"\nnaming = {preset = "airflow"}\n', r"has no rule for kind"),
        (
            '[stores.a]\nkind = "env"\n[[routes]]\nprefix = "x/"\nstore = "b"\n',
            r"routes\[0\]\.store: no store named 'b'",
        ),
        (
            '[stores.a]\nkind = "env"\n[[routes]]\nprefix = ""\nstore = "a"\n',
            r"routes\[0\]\.prefix: must not be empty",
        ),
        ("[stores.a\n", r"not valid TOML"),
        # Every float setting is finite: nan compares false with everything, inf never expires.
        ("[resolver]\ncache_ttl = nan\n", r"resolver\.cache_ttl: must be a finite number"),
        ("[resolver]\nmiss_ttl = inf\n", r"resolver\.miss_ttl: must be a finite number"),
        ("[resolver]\nstale_if_error = -inf\n", r"resolver\.stale_if_error: must be a finite"),
        # A value of the wrong type anywhere is a one-line error naming the key.
        ('[resolver]\nchain = "a"\n', r"resolver\.chain: expected `array \| null`, got `str`"),
        ("[resolver]\nchain = [1]\n", r"resolver\.chain\[0\]: expected `str`, got `int`"),
        ("[resolver]\nmax_workers = true\n", r"resolver\.max_workers: expected `int`, got `bool`"),
        ("[resolver]\nmax_entries = 1.5\n", r"resolver\.max_entries: expected `int`, got `float`"),
        ("[resolver]\ncache_ttl = true\n", r"resolver\.cache_ttl: expected `float`, got `bool`"),
        ('[resolver]\nliterals = "no"\n', r"resolver\.literals: expected `bool`, got `str`"),
        ("resolver = 3\n", r": resolver: expected `object`, got `int`"),
        ("routes = 5\n", r": routes: expected `array`, got `int`"),
        ("routes = [5]\n", r"routes\[0\]: expected `object`, got `int`"),
        ('[[routes]]\nprefix = 5\nstore = "a"\n', r"routes\[0\]\.prefix: expected `str`"),
        ("namespaces = [1]\n", r": namespaces: expected `object`, got `array`"),
        ("[namespaces]\nconnections = 5\n", r"namespaces\.connections: expected `str`"),
        ("stores = 5\n", r": stores: expected `object`, got `int`"),
        ("[stores]\na = 5\n", r"stores\.a: expected a table of settings"),
        ("[stores.a]\nkind = 5\n", r"stores\.a\.kind: expected a string such as 'local'"),
    ],
)
def test_errors_name_the_key_and_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_config(path)
    assert str(path) in str(caught.value), "the error names the file"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("resolver:\n  cache_ttl: .nan\n", r"resolver\.cache_ttl: must be a finite number"),
        ("resolver:\n  cache_ttl: .inf\n", r"resolver\.cache_ttl: must be a finite number"),
        ("stores:\n  a:\n", r"stores\.a: expected a table of settings"),
        ("resolver:\n  max_workers: yes\n", r"resolver\.max_workers: expected `int`, got `bool`"),
    ],
)
def test_yaml_errors_name_the_key_and_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, text, name="sb.yaml"))


def test_invalid_yaml_names_the_line_and_never_quotes_it(tmp_path: Path) -> None:
    token = "hvs-canary-token-in-config"
    path = write(tmp_path, f"stores:\n  v:\n\tkind: vault\n    token: {token}\n", name="sb.yaml")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: not valid YAML at line 3, column 1: "
        "found character '\\t' that cannot start any token"
    )
    assert_no_leak(token, caught.value)


def test_invalid_toml_keeps_no_document_in_the_error_chain(tmp_path: Path) -> None:
    token = "hvs-canary-token-in-config"
    path = write(tmp_path, f'[stores.v]\nkind = "vault"\ntoken = "{token}"\n[stores.v\n')
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_config(path)
    assert_no_leak(token, caught.value)
    assert caught.value.__context__ is None


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="top level"):
        parse_config(["not", "a", "table"])


def test_indirection_reads_env_and_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SB_TOKEN", "tok-value")
    token_file = tmp_path / "token"
    token_file.write_text("file-value\n")
    assert resolve_indirection("env:SB_TOKEN", where="stores.v.token") == "tok-value"
    assert resolve_indirection(f"file:{token_file}", where="stores.v.token") == "file-value"
    assert resolve_indirection("plain", where="stores.v.token") == "plain"


def test_indirection_errors_name_key_and_source_never_a_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"stores\.v\.token: environment variable SB_NOPE"):
        resolve_indirection("env:SB_NOPE", where="stores.v.token")
    with pytest.raises(ConfigError, match=r"stores\.v\.token: cannot read .*missing"):
        resolve_indirection(f"file:{tmp_path / 'missing'}", where="stores.v.token")
    with pytest.raises(ConfigError, match="needs a variable name"):
        resolve_indirection("env:", where="stores.v.token")


def test_local_key_from_env_indirection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    monkeypatch.setenv("MY_SB_KEY", Fernet.generate_key().decode())
    path = write(tmp_path, '[stores.box]\nkind = "local"\nkey = "env:MY_SB_KEY"\npath = "box.db"\n')
    with Resolver.from_config(path) as resolver:
        resolver.put("a", "value-1")
        assert resolver.get("secret:a").reveal() == "value-1"
    assert (tmp_path / "box.db").exists(), "relative paths are read against the config's folder"
    monkeypatch.delenv("MY_SB_KEY")
    with Resolver.from_config(path) as resolver, pytest.raises(ConfigError, match="MY_SB_KEY"):
        resolver.get("secret:a")
