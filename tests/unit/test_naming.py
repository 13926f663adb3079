"""Logical names <-> each store's physical names: kinds, the Airflow preset, overrides,
the listing round trip, and the bulk-loading helpers (dotted keys, JSON expansion)."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from secretbridge import ConfigError, InvalidReference, NamingRule, Selection
from secretbridge.config import parse_config
from secretbridge.naming import PLAIN, dotted_key, expand_json, rule_for
from secretbridge.stores import BUILTIN_KINDS, Store, load_store_class

#: The kind -> rule tables, built from the store classes that carry them.
CLASSES: dict[str, type[Store]] = {kind: load_store_class(kind) for kind in BUILTIN_KINDS}
KIND_RULES = {kind: cls.default_naming for kind, cls in CLASSES.items()}
AIRFLOW_PRESET = {
    kind: cls.naming_presets["airflow"]
    for kind, cls in CLASSES.items()
    if "airflow" in cls.naming_presets
}

ALL_RULES: dict[str, NamingRule] = {
    **{f"kind:{kind}": rule for kind, rule in KIND_RULES.items()},
    **{f"airflow:{kind}": rule for kind, rule in AIRFLOW_PRESET.items()},
}
CONN = "connections/snowflake_default"


def invalid(rule: NamingRule, name: str, store: str | None = None) -> InvalidReference:
    with pytest.raises(InvalidReference) as info:
        rule.to_physical(name, store=store)
    return info.value


# ------------------------------------------------------------------ kinds


@pytest.mark.parametrize(
    ("kind", "physical"),
    [
        ("local", "connections/snowflake_default"),
        ("custom", "connections/snowflake_default"),
        ("vault", "connections/snowflake_default"),
        ("aws-sm", "connections/snowflake_default"),
        ("aws-ssm", "/connections/snowflake_default"),
        ("azure-kv", "connections-snowflake-default"),
        ("gcp-sm", "connections-snowflake_default"),
        ("k8s", "connections.snowflake-default"),
        ("env", "CONNECTIONS_SNOWFLAKE_DEFAULT"),
    ],
)
def test_kind_physical_names(kind: str, physical: str) -> None:
    rule = KIND_RULES[kind]
    assert rule.to_physical(CONN) == physical
    logical = rule.to_logical(physical)
    assert logical is not None
    assert rule.to_physical(logical) == physical


def test_every_kind_has_a_rule_and_only_expected_kinds() -> None:
    assert set(KIND_RULES) == {
        "local", "custom", "vault", "aws-sm", "aws-ssm", "azure-kv", "gcp-sm", "k8s", "env"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "logical", "physical", "back"),
    [
        ("aws-sm", "prod/db+ro=1.x@y-z", "prod/db+ro=1.x@y-z", "prod/db+ro=1.x@y-z"),
        ("aws-ssm", "prod/db/pass.word-1", "/prod/db/pass.word-1", "prod/db/pass.word-1"),
        ("azure-kv", "Prod/DB.main", "Prod-DB-main", "Prod/DB/main"),
        ("azure-kv", "snowflake-password", "snowflake-password", "snowflake/password"),
        ("gcp-sm", "prod/db.main_1", "prod-db-main_1", "prod/db/main_1"),
        ("k8s", "Pipelines/Snow_Flake", "pipelines.snow-flake", "pipelines/snow-flake"),
        ("env", "snowflake/transform-x.password", "SNOWFLAKE_TRANSFORM_X_PASSWORD",
         "SNOWFLAKE/TRANSFORM/X/PASSWORD"),
        ("local", "ünïcødé/ключ", "ünïcødé/ключ", "ünïcødé/ключ"),
    ],
)  # fmt: skip
def test_kind_spelling_and_canonical_way_back(
    kind: str, logical: str, physical: str, back: str
) -> None:
    rule = KIND_RULES[kind]
    assert rule.to_physical(logical) == physical
    assert rule.to_logical(physical) == back


@pytest.mark.parametrize(
    ("kind", "name", "char", "description"),
    [
        ("aws-sm", "prod/db!", "!", "letters, digits and /_+=.@-"),
        ("aws-sm", "prod/dé", "é", "letters, digits and /_+=.@-"),
        ("aws-ssm", "prod/db@x", "@", "letters, digits and _.-"),
        ("aws-ssm", "prod/a+b", "+", "letters, digits and _.-"),
        ("azure-kv", "db+x", "+", "letters, digits and dashes"),
        ("azure-kv", "db@x", "@", "letters, digits and dashes"),
        ("gcp-sm", "db@x", "@", "letters, digits, '_' and '-'"),
        ("gcp-sm", "db:x", ":", "letters, digits, '_' and '-'"),
        ("k8s", "db@x", "@", "lower case letters, digits, '-' and '.' (DNS-1123)"),
        ("k8s", "db+x", "+", "lower case letters, digits, '-' and '.' (DNS-1123)"),
        ("env", "db@x", "@", "upper case letters, digits and '_'"),
        ("env", "db:x", ":", "upper case letters, digits and '_'"),
    ],
)
def test_rejected_characters_name_the_character_and_the_rule(
    kind: str, name: str, char: str, description: str
) -> None:
    error = invalid(KIND_RULES[kind], name, store="my-store")
    assert f"character {char!r} cannot be used in this store's names ({description})" in (
        error.message
    )
    assert error.ref == name
    assert error.store == "my-store"
    assert "my-store" in str(error)


def test_plain_rule_accepts_any_printable_character_but_not_whitespace() -> None:
    rule = KIND_RULES["local"]
    assert (
        rule.to_physical("a!b$c%d^&*()[]{}'\"<>,;:|\\`~é中") == "a!b$c%d^&*()[]{}'\"<>,;:|\\`~é中"
    )
    with pytest.raises(InvalidReference, match="unexpected whitespace near character 2"):
        rule.to_physical("a b")
    with pytest.raises(InvalidReference, match="empty name segment"):
        rule.to_physical("a//b")
    with pytest.raises(InvalidReference, match="expected a name"):
        rule.to_physical("")


@pytest.mark.parametrize(
    ("kind", "limit", "extra"),
    [("aws-sm", 512, 0), ("aws-ssm", 2048, 1), ("azure-kv", 127, 0), ("gcp-sm", 255, 0),
     ("k8s", 253, 0)],
)  # fmt: skip
def test_max_length(kind: str, limit: int, extra: int) -> None:
    rule = KIND_RULES[kind]
    fits = "a" * (limit - extra)
    assert len(rule.to_physical(fits)) == limit
    error = invalid(rule, fits + "a")
    assert f"is {limit + 1} characters long; the store allows at most {limit}" in error.message


def test_length_counts_the_prefix() -> None:
    rule = AIRFLOW_PRESET["azure-kv"]
    head = "airflow-connections-"
    assert len(rule.to_physical("connections/" + "a" * (127 - len(head)))) == 127
    assert "at most 127" in invalid(rule, "connections/" + "a" * (128 - len(head))).message


def test_env_and_local_have_no_length_limit() -> None:
    assert len(KIND_RULES["env"].to_physical("A" * 5000)) == 5000
    assert len(KIND_RULES["local"].to_physical("a" * 5000)) == 5000


@pytest.mark.parametrize(
    "name",
    ["-db", "db-", "_db", "db_", "a/-b", "a.", ".a", "a..b", "a/.b", "a-/b"],
)
def test_k8s_names_must_be_dns_1123(name: str) -> None:
    error = invalid(KIND_RULES["k8s"], name)
    assert "does not match the store's naming rule" in error.message
    assert KIND_RULES["k8s"].pattern is not None
    assert repr(KIND_RULES["k8s"].pattern) in error.message


def test_k8s_accepts_dns_1123_subdomains() -> None:
    rule = KIND_RULES["k8s"]
    assert rule.to_physical("a") == "a"
    assert rule.to_physical("9/x-1/y2") == "9.x-1.y2"
    assert rule.to_physical("My_Secret.v2") == "my-secret.v2"


@pytest.mark.parametrize("name", ["1password", "9/x", "0"])
def test_env_names_must_not_start_with_a_digit(name: str) -> None:
    error = invalid(KIND_RULES["env"], name)
    assert "does not match the store's naming rule '[A-Z_][A-Z0-9_]*'" in error.message


def test_env_accepts_leading_underscore_and_upper_cases() -> None:
    rule = KIND_RULES["env"]
    assert rule.to_physical("_private/key") == "_PRIVATE_KEY"
    assert rule.to_physical("snowflake.transform") == "SNOWFLAKE_TRANSFORM"


@pytest.mark.parametrize(
    ("kind", "physical"),
    [
        ("aws-ssm", "prod/db"),  # no leading '/'
        ("aws-ssm", "/"),
        ("aws-ssm", "//prod"),
        ("azure-kv", "has_underscore"),
        ("azure-kv", "dot.ted"),
        ("gcp-sm", "a.b"),
        ("k8s", "UPPER"),
        ("k8s", "a..b"),
        ("k8s", "-a"),
        ("env", "lower_case"),
        ("env", "1ABC"),
        ("env", "A-B"),
        ("local", ""),
        ("local", "a//b"),
        ("local", "/a"),
        ("local", "a/"),
        ("local", "a b"),
        ("aws-sm", "a!b"),
        ("aws-sm", "a" * 513),
    ],
)
def test_to_logical_is_none_for_names_the_rule_never_produces(kind: str, physical: str) -> None:
    assert KIND_RULES[kind].to_logical(physical) is None


# ------------------------------------------------------------------ Airflow preset


@pytest.mark.parametrize(
    ("kind", "physical"),
    [
        ("aws-sm", "airflow/connections/snowflake_default"),
        ("aws-ssm", "/airflow/connections/snowflake_default"),
        ("azure-kv", "airflow-connections-snowflake-default"),
        ("gcp-sm", "airflow-connections-snowflake_default"),
        ("vault", "airflow/connections/snowflake_default"),
        ("env", "AIRFLOW_CONN_SNOWFLAKE_DEFAULT"),
    ],
)
def test_airflow_preset_connections_match_the_official_backends(kind: str, physical: str) -> None:
    rule = AIRFLOW_PRESET[kind]
    assert rule.to_physical(CONN) == physical
    logical = rule.to_logical(physical)
    assert logical is not None
    assert logical.startswith("connections/")
    assert "/" not in logical.removeprefix("connections/")  # the conn id stays one segment
    assert rule.to_physical(logical) == physical


@pytest.mark.parametrize(
    ("kind", "physical"),
    [
        ("aws-sm", "airflow/variables/batch_size"),
        ("aws-ssm", "/airflow/variables/batch_size"),
        ("azure-kv", "airflow-variables-batch-size"),
        ("gcp-sm", "airflow-variables-batch_size"),
        ("vault", "airflow/variables/batch_size"),
        ("env", "AIRFLOW_VAR_BATCH_SIZE"),
    ],
)
def test_airflow_preset_variables(kind: str, physical: str) -> None:
    assert AIRFLOW_PRESET[kind].to_physical("variables/batch_size") == physical


@pytest.mark.parametrize(
    ("kind", "physical"),
    [
        ("aws-sm", "airflow/config/sql_alchemy_conn"),
        ("aws-ssm", "/airflow/config/sql_alchemy_conn"),
        ("azure-kv", "airflow-config-sql-alchemy-conn"),
        ("gcp-sm", "airflow-config-sql_alchemy_conn"),
        ("vault", "airflow/config/sql_alchemy_conn"),
    ],
)
def test_airflow_preset_config(kind: str, physical: str) -> None:
    assert AIRFLOW_PRESET[kind].to_physical("config/sql_alchemy_conn") == physical


@pytest.mark.parametrize(
    ("kind", "physical", "logical"),
    [
        ("aws-sm", "airflow/connections/snowflake_default", CONN),
        ("aws-ssm", "/airflow/connections/snowflake_default", CONN),
        ("azure-kv", "airflow-connections-snowflake-default", "connections/snowflake-default"),
        ("gcp-sm", "airflow-connections-snowflake_default", CONN),
        ("vault", "airflow/connections/snowflake_default", CONN),
        ("env", "AIRFLOW_CONN_SNOWFLAKE_DEFAULT", "connections/SNOWFLAKE_DEFAULT"),
        ("env", "AIRFLOW_VAR_BATCH_SIZE", "variables/BATCH_SIZE"),
        ("aws-sm", "airflow/variables/k", "variables/k"),
        ("aws-sm", "team/x", "team/x"),
        ("gcp-sm", "airflow-variables-a-b", "variables/a-b"),
    ],
)
def test_airflow_preset_to_logical(kind: str, physical: str, logical: str) -> None:
    assert AIRFLOW_PRESET[kind].to_logical(physical) == logical


def test_airflow_preset_namespace_needs_a_second_segment() -> None:
    rule = AIRFLOW_PRESET["aws-sm"]
    assert rule.to_physical("connections") == "connections"
    assert rule.to_physical("other/connections/x") == "other/connections/x"
    assert rule.to_logical("airflow/connections/") is None


def test_airflow_preset_keeps_the_kind_character_rules() -> None:
    with pytest.raises(InvalidReference, match=r"character '\.' cannot be used"):
        AIRFLOW_PRESET["azure-kv"].to_physical("connections/my.db")
    with pytest.raises(InvalidReference, match=r"character '\.' cannot be used"):
        AIRFLOW_PRESET["gcp-sm"].to_physical("connections/my.db")
    with pytest.raises(InvalidReference, match=r"character '@' cannot be used"):
        AIRFLOW_PRESET["aws-ssm"].to_physical("connections/a@b")


def test_airflow_env_preset_allows_anything_but_equals_and_nul() -> None:
    rule = AIRFLOW_PRESET["env"]
    assert rule.to_physical("connections/my-db.x") == "AIRFLOW_CONN_MY-DB.X"
    error = invalid(rule, "connections/a=b")
    assert "character '=' cannot be used" in error.message
    assert "anything but '=' and NUL" in error.message
    # No namespace for config: Airflow's environment backend has no config lookup.
    assert rule.to_physical("config/core/x") == "CONFIG_CORE_X"


def test_presets_registry() -> None:
    assert set(AIRFLOW_PRESET) == {"aws-sm", "aws-ssm", "azure-kv", "gcp-sm", "vault", "env"}
    assert {kind for kind, cls in CLASSES.items() if cls.naming_presets} == set(AIRFLOW_PRESET)


# ------------------------------------------------------------------ rule_for


def test_rule_for_defaults_and_presets() -> None:
    for kind, rule in KIND_RULES.items():
        assert rule_for(CLASSES[kind]) == rule
        assert rule_for(CLASSES[kind], {}) == rule
    for kind, rule in AIRFLOW_PRESET.items():
        assert rule_for(CLASSES[kind], {"preset": "airflow"}) == rule
    assert KIND_RULES["local"] == PLAIN


def test_rule_for_overrides() -> None:
    rule = rule_for(CLASSES["aws-sm"], {"preset": "airflow", "prefix": "team-a/"})
    assert rule.to_physical(CONN) == "airflow/connections/snowflake_default"
    assert rule.to_physical("other/x") == "team-a/other/x"
    assert rule.to_logical("team-a/other/x") == "other/x"
    assert rule.to_logical("team-b/other/x") is None

    assert rule_for(CLASSES["local"], {"case": "lower"}).to_physical("A/Bc") == "a/bc"
    assert rule_for(CLASSES["local"], {"case": "upper"}).to_physical("a/Bc") == "A/BC"
    assert rule_for(CLASSES["local"], {"separator": "."}).to_physical("a/b/c") == "a.b.c"
    assert rule_for(CLASSES["aws-sm"], {"prefix": "prod/"}).to_physical("db") == "prod/db"
    namespaced = rule_for(CLASSES["env"], {"namespaces": {"connections": "CONN_"}})
    assert namespaced.to_physical(CONN) == "CONN_SNOWFLAKE_DEFAULT"
    assert namespaced.to_logical("CONN_SNOWFLAKE_DEFAULT") == "connections/SNOWFLAKE_DEFAULT"


def test_rule_for_does_not_mutate_its_settings() -> None:
    settings_ = {"preset": "airflow", "prefix": "x/"}
    rule_for(CLASSES["aws-sm"], settings_)
    assert settings_ == {"preset": "airflow", "prefix": "x/"}


@pytest.mark.parametrize(
    ("kind", "naming", "message"),
    [
        ("aws-sm", {"preset": "dagster"},
         "stores.s.naming.preset: the 'dagster' preset has no rule for kind 'aws-sm' "
         "(the kind's presets: airflow)"),
        ("k8s", {"preset": "airflow"},
         "stores.s.naming.preset: the 'airflow' preset has no rule for kind 'k8s' "
         "(the kind's presets: none)"),
        ("local", {"preset": "airflow"},
         "stores.s.naming.preset: the 'airflow' preset has no rule for kind 'local'"),
        ("aws-sm", {"suffix": "x"},
         "stores.s.naming.suffix: unknown setting; "
         "expected one of: case, namespaces, prefix, preset, separator"),
        ("aws-sm", {"allowed": "a-z"}, "stores.s.naming.allowed: unknown setting"),
        ("aws-sm", {"case": "title"}, "stores.s.naming.case: invalid enum value 'title'"),
        ("aws-sm", {"separator": ""}, "stores.s.naming.separator: must not be empty"),
    ],
)  # fmt: skip
def test_rule_for_errors(kind: str, naming: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        rule_for(CLASSES[kind], naming, where="stores.s.naming.")
    assert message in info.value.message


def test_rule_for_errors_without_where() -> None:
    with pytest.raises(ConfigError, match=r"^preset: the 'nope' preset has no rule for kind"):
        rule_for(CLASSES["vault"], {"preset": "nope"})


@pytest.mark.parametrize(
    ("naming", "message"),
    [
        ({"prefix": 5}, "stores.s.naming.prefix: expected `str | null`, got `int`"),
        ({"separator": 5}, "stores.s.naming.separator: expected `str | null`, got `int`"),
        ({"namespaces": 5}, "stores.s.naming.namespaces: expected `object | null`, got `int`"),
        ({"namespaces": {"connections": 5}},
         "stores.s.naming.namespaces[...]: expected `str`, got `int`"),
        ({"preset": ["a"]}, "stores.s.naming.preset: expected `str | null`, got `array`"),
        ({"case": 1}, "stores.s.naming.case: expected `str | null`, got `int`"),
    ],
)  # fmt: skip
def test_naming_settings_are_type_checked_and_name_the_file_and_key(
    naming: dict[str, object], message: str
) -> None:
    config = {"stores": {"s": {"kind": "aws-sm", "naming": naming}}}
    with pytest.raises(ConfigError) as info:
        parse_config(config, source=Path("team.toml"))
    assert str(info.value) == f"team.toml: {message}"


# ------------------------------------------------------------------ properties

_NAME_ALPHABET = string.ascii_letters + string.digits + "_-.+=@:!%~/éß\u212a中"


def _broad_names() -> st.SearchStrategy[str]:
    segment = st.text(st.sampled_from(_NAME_ALPHABET.replace("/", "")), min_size=1, max_size=6)
    return st.lists(segment, min_size=1, max_size=4).map("/".join)


@pytest.mark.parametrize("rule_id", sorted(ALL_RULES))
@settings(max_examples=150, deadline=None)
@given(name=_broad_names())
@example(name="_")
@example(name="-")
@example(name=".")
@example(name="connections/snowflake_default")
def test_listing_round_trip(rule_id: str, name: str) -> None:
    rule = ALL_RULES[rule_id]
    try:
        physical = rule.to_physical(name)
    except InvalidReference:
        assume(False)
        return
    logical = rule.to_logical(physical)
    assert logical is not None, (name, physical)
    assert rule.to_physical(logical) == physical


@pytest.mark.parametrize(
    ("rule_id", "name"),
    [
        ("kind:env", "_"),
        ("kind:env", "__"),
        ("kind:azure-kv", "_"),
        ("kind:azure-kv", "-"),
        ("kind:gcp-sm", "-"),
        ("airflow:env", "_"),
    ],
)
def test_listing_round_trip_for_names_made_only_of_separators(rule_id: str, name: str) -> None:
    # An environment variable called '_' exists in most shells; listing must not drop it.
    rule = ALL_RULES[rule_id]
    physical = rule.to_physical(name)
    logical = rule.to_logical(physical)
    assert logical is not None, physical
    assert rule.to_physical(logical) == physical


def _segments(alphabet: str, *, max_size: int = 6) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(alphabet), min_size=1, max_size=max_size)


def _names(segment: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(segment, min_size=1, max_size=4).map("/".join)


_ALNUM = string.ascii_letters + string.digits
_LOWER = string.ascii_lowercase + string.digits
_UPPER = string.ascii_uppercase + string.digits
_PLAIN_SEGMENT = st.text(
    st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs")).filter(
        lambda c: c != "/" and c.isprintable() and not c.isspace()
    ),
    min_size=1,
    max_size=6,
)
_K8S_SEGMENT = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,4}[a-z0-9])?", fullmatch=True)

#: For each kind, names spelled the way the rule's way back spells them.
CANONICAL_KIND_NAMES: dict[str, st.SearchStrategy[str]] = {
    "local": _names(_PLAIN_SEGMENT),
    "custom": _names(_PLAIN_SEGMENT),
    "vault": _names(_PLAIN_SEGMENT),
    "aws-sm": _names(_segments(_ALNUM + "_+=.@-")),
    "aws-ssm": _names(_segments(_ALNUM + "_.-")),
    "azure-kv": _names(_segments(_ALNUM)),
    "gcp-sm": _names(_segments(_ALNUM + "_")),
    "k8s": _names(_K8S_SEGMENT),
    "env": _names(_segments(_UPPER)).filter(lambda n: not n[0].isdigit()),
}

_NAMESPACES = ("connections", "variables", "config")
#: For the Airflow preset: the conn id / variable key alphabet after a namespace, and the
#: segment alphabet for other names.
CANONICAL_PRESET_ALPHABETS: dict[str, tuple[str, st.SearchStrategy[str]]] = {
    "aws-sm": (_ALNUM + "_+=.@-", _segments(_ALNUM + "_+=.@-")),
    "aws-ssm": (_ALNUM + "_.-", _segments(_ALNUM + "_.-")),
    "azure-kv": (_ALNUM + "-", _segments(_ALNUM)),
    "gcp-sm": (_ALNUM + "_-", _segments(_ALNUM + "_")),
    "vault": (_ALNUM + "_.-@:!~", _PLAIN_SEGMENT),
    "env": (_UPPER + "_", _segments(_UPPER)),
}


def _preset_names(kind: str) -> st.SearchStrategy[str]:
    id_alphabet, segment = CANONICAL_PRESET_ALPHABETS[kind]
    namespaces = ("connections", "variables") if kind == "env" else _NAMESPACES
    namespaced = st.builds(
        lambda ns, ident: f"{ns}/{ident}",
        st.sampled_from(namespaces),
        _segments(id_alphabet, max_size=10),
    )
    reserved = {*namespaces, "airflow", "AIRFLOW"}
    other = _names(segment).filter(lambda n: "/" not in n or n.split("/")[0] not in reserved)
    if kind == "env":
        other = other.filter(lambda n: not n[0].isdigit())
    return st.one_of(namespaced, other)


CANONICAL_NAMES: dict[str, st.SearchStrategy[str]] = {
    **{f"kind:{kind}": names for kind, names in CANONICAL_KIND_NAMES.items()},
    **{f"airflow:{kind}": _preset_names(kind) for kind in AIRFLOW_PRESET},
}


def test_canonical_strategies_cover_every_rule() -> None:
    assert set(CANONICAL_NAMES) == set(ALL_RULES)


@pytest.mark.parametrize("rule_id", sorted(ALL_RULES))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_canonical_names_come_back_unchanged(rule_id: str, data: st.DataObject) -> None:
    rule = ALL_RULES[rule_id]
    name = data.draw(CANONICAL_NAMES[rule_id], label="name")
    physical = rule.to_physical(name)
    assert rule.to_logical(physical) == name


# ------------------------------------------------------------------ dotted keys, JSON, selection


@pytest.mark.parametrize(
    ("name", "strip", "key"),
    [
        ("SNOWFLAKE/TRANSFORM/PASSWORD", "", "SNOWFLAKE.TRANSFORM.PASSWORD"),
        ("SNOWFLAKE/TRANSFORM/PASSWORD", "SNOWFLAKE", "TRANSFORM.PASSWORD"),
        ("SNOWFLAKE/TRANSFORM/PASSWORD", "SNOWFLAKE/", "TRANSFORM.PASSWORD"),
        ("SNOWFLAKE/TRANSFORM/PASSWORD", "/SNOWFLAKE/TRANSFORM/", "PASSWORD"),
        ("SNOWFLAKE/TRANSFORM/PASSWORD", "SNOW", "SNOWFLAKE.TRANSFORM.PASSWORD"),
        ("SNOWFLAKEX/A", "SNOWFLAKE", "SNOWFLAKEX.A"),
        ("SNOWFLAKE", "SNOWFLAKE", ""),
        ("other/x", "SNOWFLAKE", "other.x"),
        ("a/b", "/", "a.b"),
    ],
)
def test_dotted_key(name: str, strip: str, key: str) -> None:
    assert dotted_key(name, strip) == key


def test_expand_json_nested_objects() -> None:
    text = json.dumps({"user": "u", "pw": {"a": "x", "b": {"c": "y"}}})
    assert expand_json("DB", text) == {"DB.user": "u", "DB.pw.a": "x", "DB.pw.b.c": "y"}


def test_expand_json_non_string_leaves_are_json_text() -> None:
    text = json.dumps({"port": 5432, "ssl": True, "none": None, "hosts": ["a", "b"], "e": {}})
    assert expand_json("DB", text) == {
        "DB.port": "5432",
        "DB.ssl": "true",
        "DB.none": "null",
        "DB.hosts": '["a", "b"]',
        "DB.e": "{}",
    }


@pytest.mark.parametrize(
    "text",
    ["[1, 2]", "42", '"just a string"', "null", "true", "{}", "not json {", "{'a': 1}", ""],
)
def test_expand_json_anything_but_a_non_empty_object_stays_one_entry(text: str) -> None:
    assert expand_json("DB.password", text) == {"DB.password": text}


def test_expand_json_with_empty_key() -> None:
    assert expand_json("", '{"a": {"b": "c"}, "d": "e"}') == {"a.b": "c", "d": "e"}


def test_selection_of() -> None:
    selection = Selection(prefix="x/", include=("a*",))
    assert Selection.of(selection) is selection
    assert Selection.of("connections/") == Selection(prefix="connections/")


def test_selection_key_for_strips_the_prefix() -> None:
    selection = Selection(prefix="SNOWFLAKE/")
    assert selection.key_for("SNOWFLAKE/TRANSFORM/PASSWORD") == "TRANSFORM.PASSWORD"
    kept = Selection(prefix="SNOWFLAKE/", strip_prefix=False)
    assert kept.key_for("SNOWFLAKE/TRANSFORM/PASSWORD") == "SNOWFLAKE.TRANSFORM.PASSWORD"
    assert Selection().key_for("a/b/c") == "a.b.c"


def test_selection_include_and_exclude_globs() -> None:
    selection = Selection(include=("TRANSFORM.*", "LOAD.USER"), exclude=("*.PASSWORD",))
    assert selection.wants("TRANSFORM.USER")
    assert selection.wants("LOAD.USER")
    assert not selection.wants("TRANSFORM.PASSWORD")
    assert not selection.wants("LOAD.HOST")
    assert not selection.wants("transform.user")  # globs are case-sensitive
    everything_but = Selection(exclude=("*.PASSWORD", "SECRET?"))
    assert everything_but.wants("ANY.KEY")
    assert not everything_but.wants("X.PASSWORD")
    assert not everything_but.wants("SECRET1")
    assert everything_but.wants("SECRET12")
    assert Selection().wants("")
