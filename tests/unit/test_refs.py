"""The reference grammar: ``secret:NAME[#FIELD]``, ``STORE://PATH[?version=V][#FIELD]``,
literals, percent-escapes, and errors that name the position and what was expected."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from secretbridge import InvalidReference, Reference, format_reference, parse_reference
from secretbridge.refs import (
    is_store_name,
    looks_like_reference,
    parse_name,
    validate_logical_name,
)
from secretbridge.stores import BUILTIN_KINDS, RESERVED_SCHEMES

CUSTOM_STORES = frozenset(RESERVED_SCHEMES | {"prod-vault", "team-a2"})


def error_for(text: str, stores: frozenset[str] = RESERVED_SCHEMES) -> InvalidReference:
    with pytest.raises(InvalidReference) as info:
        parse_reference(text, stores)
    return info.value


# ------------------------------------------------------------------ valid references


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("secret:connections/snowflake_default", Reference("connections/snowflake_default")),
        (
            "secret:connections/snowflake_default#password",
            Reference("connections/snowflake_default", field="password"),
        ),
        ("secret:SNOWFLAKE/TRANSFORM/PASSWORD", Reference("SNOWFLAKE/TRANSFORM/PASSWORD")),
        ("secret:variables/batch_size", Reference("variables/batch_size")),
        ("secret:single", Reference("single")),
        ("secret:a#field with spaces", Reference("a", field="field with spaces")),
        ("secret:a#f#g", Reference("a", field="f#g")),
        ("secret:a#f?g", Reference("a", field="f?g")),
        ("secret:a:b@c/d=e&f", Reference("a:b@c/d=e&f")),
        ("secret:connexión/contraseña", Reference("connexión/contraseña")),
    ],
)
def test_logical_references(text: str, expected: Reference) -> None:
    ref = parse_reference(text)
    assert ref == expected
    assert ref is not None
    assert ref.is_logical
    assert ref.store is None
    assert ref.version is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "aws-sm://prod/snowflake?version=AWSPREVIOUS#password",
            Reference("prod/snowflake", "aws-sm", "AWSPREVIOUS", "password"),
        ),
        ("aws-sm://prod/db#password", Reference("prod/db", "aws-sm", field="password")),
        (
            "aws-sm://arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/snowflake-AbCdEf",
            Reference(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/snowflake-AbCdEf",
                "aws-sm",
            ),
        ),
        (
            "aws-sm://arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-x1Y2z3"
            "?version=AWSPREVIOUS#password",
            Reference(
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-x1Y2z3",
                "aws-sm",
                "AWSPREVIOUS",
                "password",
            ),
        ),
        (
            "aws-ssm:///prod/snowflake/password",
            Reference("/prod/snowflake/password", "aws-ssm"),
        ),
        ("aws-ssm:///prod/db/password", Reference("/prod/db/password", "aws-ssm")),
        (
            "azure-kv://snowflake-password?version=3f2a9c0e1b7d4e6f8a5b2c3d4e5f6a7b",
            Reference("snowflake-password", "azure-kv", "3f2a9c0e1b7d4e6f8a5b2c3d4e5f6a7b"),
        ),
        (
            "azure-kv://snowflake-password?version=3f2a\u2026",
            Reference("snowflake-password", "azure-kv", "3f2a\u2026"),
        ),
        (
            "gcp-sm://snowflake?version=4#password",
            Reference("snowflake", "gcp-sm", "4", "password"),
        ),
        (
            "gcp-sm://projects/my-project/secrets/snowflake?version=latest",
            Reference("projects/my-project/secrets/snowflake", "gcp-sm", "latest"),
        ),
        (
            "vault://secret/prod/snowflake?version=2#password",
            Reference("secret/prod/snowflake", "vault", "2", "password"),
        ),
        (
            "k8s://pipelines/snowflake#password",
            Reference("pipelines/snowflake", "k8s", None, "password"),
        ),
        ("env://SNOWFLAKE_PASSWORD", Reference("SNOWFLAKE_PASSWORD", "env")),
        (
            "local://connections/snowflake_default",
            Reference("connections/snowflake_default", "local"),
        ),
        ("vault://a?version=x=y?z", Reference("a", "vault", "x=y?z")),
    ],
)
def test_store_references_from_the_design_table(text: str, expected: Reference) -> None:
    ref = parse_reference(text)
    assert ref == expected
    assert ref is not None
    assert not ref.is_logical
    # Every example is already canonical: formatting gives back the same string.
    assert format_reference(ref) == text
    assert str(ref) == text


def test_aws_ssm_keeps_the_leading_slash_and_double_slashes() -> None:
    assert parse_reference("aws-ssm:///prod/db") == Reference("/prod/db", "aws-ssm")
    # A store path is not a logical name: empty segments are the store's business.
    assert parse_reference("vault://a//b") == Reference("a//b", "vault")


@pytest.mark.parametrize(
    "text",
    [
        "postgres://user:pw@host/db",
        "postgresql://user:pw@host:5432/db?sslmode=require",
        "https://example.com/path#frag",
        "my-store://x",  # not configured, not a kind
        "hunter2",
        "",
        "   ",
        "secretary",
        "SECRET:connections/x",
        "Vault://secret/x",
        "vault:/secret/x",
        "vault:secret/x",
        "aws_sm://x",
        "  postgres://user:pw@host/db  ",
        "a secret:connections/x",
        "x vault://a",
    ],
)
def test_anything_else_is_a_literal(text: str) -> None:
    assert parse_reference(text) is None
    assert not looks_like_reference(text)


def test_configured_store_name_becomes_a_scheme() -> None:
    text = "prod-vault://database/mysql#password"
    assert parse_reference(text) is None  # not a store unless configured
    assert parse_reference(text, CUSTOM_STORES) == Reference(
        "database/mysql", "prod-vault", field="password"
    )
    assert looks_like_reference(text, CUSTOM_STORES)
    assert parse_reference("team-a2://x?version=7", CUSTOM_STORES) == Reference("x", "team-a2", "7")


def test_stores_collection_is_the_whole_set_of_schemes() -> None:
    only = ["prod-vault"]
    assert parse_reference("aws-sm://prod/db", only) is None
    assert parse_reference("prod-vault://x", only) == Reference("x", "prod-vault")
    # The logical form does not depend on the stores at all.
    assert parse_reference("secret:x", only) == Reference("x")
    # A configured store is held to the grammar like a kind is.
    assert "expected a path" in error_for("prod-vault://", frozenset(only)).message


def test_is_store_name() -> None:
    for good in ("vault", "prod-vault", "a", "aws-sm", "x9"):
        assert is_store_name(good), good
    for bad in ("", "Vault", "9lives", "-x", "a_b", "a.b", "prod vault", "a\n"):
        assert not is_store_name(bad), bad


def test_reference_helpers() -> None:
    ref = Reference("prod/db", "aws-sm", "AWSPREVIOUS", "password")
    assert ref.without_field() == Reference("prod/db", "aws-sm", "AWSPREVIOUS")
    assert Reference("a", field="f").without_field() == Reference("a")
    assert Reference("a").is_logical
    with pytest.raises(AttributeError):
        ref.path = "other"  # type: ignore[misc]


# ------------------------------------------------------------------ percent-escapes


@pytest.mark.parametrize(
    ("text", "expected", "canonical"),
    [
        ("secret:a%23b", Reference("a#b"), "secret:a%23b"),
        ("secret:a%3Fb", Reference("a?b"), "secret:a%3Fb"),
        ("secret:a%3fb", Reference("a?b"), "secret:a%3Fb"),
        ("secret:100%25", Reference("100%"), "secret:100%25"),
        ("secret:a%2Fb", Reference("a/b"), "secret:a/b"),
        ("secret:%41bc", Reference("Abc"), "secret:Abc"),
        ("secret:a#f%23g", Reference("a", field="f#g"), "secret:a#f#g"),
        ("secret:a#x%20y", Reference("a", field="x y"), "secret:a#x%20y"),
        ("secret:a#100%25", Reference("a", field="100%"), "secret:a#100%25"),
        (
            "vault://a%3Fb%23c?version=v%25%23%26#f%3F",
            Reference("a?b#c", "vault", "v%#&", "f?"),
            "vault://a%3Fb%23c?version=v%25%23%26#f?",
        ),
        ("env://%25PATH%25", Reference("%PATH%", "env"), "env://%25PATH%25"),
    ],
)
def test_percent_escapes(text: str, expected: Reference, canonical: str) -> None:
    ref = parse_reference(text)
    assert ref == expected
    assert ref is not None
    assert format_reference(ref) == canonical
    assert parse_reference(canonical) == expected


def test_format_escapes_what_the_grammar_needs() -> None:
    assert format_reference(Reference("a?b#c%d")) == "secret:a%3Fb%23c%25d"
    assert format_reference(Reference("p?#", "vault", "v&#%", "f x")) == (
        "vault://p%3F%23?version=v%26%23%25#f%20x"
    )
    assert format_reference(Reference("/prod/db", "aws-ssm")) == "aws-ssm:///prod/db"


# ------------------------------------------------------------------ malformed references


def test_empty_logical_name() -> None:
    error = error_for("secret:")
    assert error.message == "expected a name at character 8"
    assert error.ref == "secret:"
    assert "expected a name at character 8" in error_for("secret:#password").message


def test_empty_segment_between_slashes() -> None:
    error = error_for("secret:a//b")
    assert "empty name segment at character 10" in error.message
    assert "'/'-separated segments" in error.message
    assert error.ref == "secret:a//b"
    assert "empty name segment at character 8" in error_for("secret:/a").message
    assert "empty name segment at character 10" in error_for("secret:a/").message
    assert "empty name segment at character 12" in error_for("secret:abc//d#f").message


def test_empty_field() -> None:
    error = error_for("secret:x#")
    assert error.message.startswith("expected a field name after '#' at character ")
    assert error.ref == "secret:x#"
    assert "expected a field name" in error_for("vault://x?version=1#").message


def test_empty_field_position_is_where_the_field_starts() -> None:
    # Like every other "expected X after Y at character N" message (path, 'version=V',
    # version), N is where X should start: 'secret:' is 1-7, 'x' 8, '#' 9, the field 10.
    assert "after '#' at character 10" in error_for("secret:x#").message
    assert "after '#' at character 11" in error_for("vault://x#").message


def test_empty_store_path() -> None:
    error = error_for("aws-sm://")
    assert error.message == "expected a path after 'aws-sm://' at character 10"
    assert "expected a path after 'aws-sm://' at character 10" in error_for("aws-sm://#x").message
    assert "expected a path after 'env://' at character 7" in error_for("env://?version=1").message


def test_unknown_query_key() -> None:
    error = error_for("aws-sm://a?foo=1")
    assert "expected 'version=V' after '?' at character 12" in error.message
    assert "foo" not in error.message, "the message never echoes what was typed"
    assert "expected 'version=V'" in error_for("aws-sm://a?version").message
    assert "expected 'version=V'" in error_for("aws-sm://a?").message
    assert "expected 'version=V'" in error_for("aws-sm://a?Version=1").message


def test_two_query_parameters() -> None:
    error = error_for("aws-sm://a?version=1&x=2")
    assert "only one query parameter, 'version', is allowed" in error.message
    assert "'&' at character 21" in error.message
    assert "'&' at character 23" in error_for("vault://abc?version=12&b=1#f").message


def test_empty_version() -> None:
    error = error_for("vault://a?version=")
    assert "expected a version after 'version=' at character 19" in error.message
    assert "at character 19" in error_for("vault://a?version=#f").message


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("secret:a%zz", 9),
        ("secret:a%2", 9),
        ("secret:a%", 9),
        ("secret:%%41", 8),
        ("secret:a#b%zz", 11),
        ("vault://p%g0", 10),
        ("vault://a?version=1%g0", 20),
        ("vault://a?version=1#%", 21),
    ],
)
def test_bad_percent_escape(text: str, position: int) -> None:
    error = error_for(text)
    assert f"expected two hex digits after '%' at character {position}" in error.message
    assert "'%25'" in error.message  # says how to write a literal '%'


@pytest.mark.parametrize(
    ("text", "what", "position"),
    [
        ("secret:a b", "whitespace", 9),
        ("secret:a\tb", "whitespace", 9),
        ("secret:a\nb", "whitespace", 9),
        ("secret:a\u00a0b", "whitespace", 9),
        ("secret:a\x01b", "control character U+0001", 9),
        ("secret:ab\x7f", "control character U+007F", 10),
        ("secret:a\u200bb", "control character U+200B", 9),
        ("secret:a%0Ab", "whitespace", 9),
        ("secret:a%01", "control character U+0001", 9),
        ("secret:a#b\tc", "whitespace", 11),
        ("secret:a#b\x00", "control character U+0000", 11),
        ("env://MY VAR", "whitespace", 9),
        ("vault://a\x1bb", "control character U+001B", 10),
        ("vault://a#x\ny", "whitespace", 12),
    ],
)
def test_whitespace_and_control_characters(text: str, what: str, position: int) -> None:
    error = error_for(text)
    assert f"unexpected {what} near character {position}" in error.message


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("vault://a?version=x y", 20),
        ("vault://a?version=1\x01", 20),
        ("aws-sm://prod/db?version=AWS\tPREVIOUS#password", 29),
    ],
)
def test_whitespace_in_version_names_its_position(text: str, position: int) -> None:
    error = error_for(text)
    assert f"near character {position}" in error.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # The empty segment is where the second '/' is: character 15, not 11.
        ("secret:%41%41//b", "empty name segment at character 15"),
        # The escaped newline is the third escape, starting at character 14.
        ("secret:%25%25%0A", "unexpected whitespace near character 14"),
        ("vault://%41%41 b", "unexpected whitespace near character 15"),
    ],
)
def test_positions_count_characters_of_the_reference_as_written(text: str, message: str) -> None:
    assert message in error_for(text).message


def test_field_may_hold_a_space_but_a_path_may_not() -> None:
    assert parse_reference("vault://a#x y") == Reference("a", "vault", field="x y")
    assert "unexpected whitespace near character 10" in error_for("vault://a b#x").message


@pytest.mark.parametrize(
    "text",
    [" secret:a", "secret:a ", "\tsecret:a", "secret:a\n", " vault://a", "env://X  "],
)
def test_surrounding_whitespace(text: str) -> None:
    error = error_for(text)
    at = 1 if text[0].isspace() else len(text.rstrip()) + 1
    assert f"whitespace at character {at}, around the reference" in error.message
    assert "remove it" in error.message
    assert error.ref == text.strip()


def test_question_mark_in_a_logical_name() -> None:
    error = error_for("secret:a?b")
    assert "'?' at character 9 is not allowed in a logical name" in error.message
    assert "STORE://PATH?version=V" in error.message
    assert "'?' at character 22" in error_for("secret:connections/db?version=2").message
    # After the field '?' is part of the field name.
    assert parse_reference("secret:db#a?b") == Reference("db", field="a?b")


def test_every_builtin_kinds_scheme_is_a_reference() -> None:
    """A new kind is one class and one registry line: its scheme needs no grammar change."""
    assert all(looks_like_reference(f"{kind}://x") for kind in BUILTIN_KINDS)


def test_store_scheme_with_bad_path_is_an_error_not_a_literal() -> None:
    # Once a string starts like a reference it never falls back to being a literal.
    for text in ("aws-sm://", "secret:", "vault://a?v=1", "secret:a//b"):
        assert looks_like_reference(text)
        with pytest.raises(InvalidReference):
            parse_reference(text)


def test_invalid_reference_is_a_value_error_with_the_reference() -> None:
    error = error_for("secret:a//b")
    assert isinstance(error, ValueError)
    assert str(error).endswith("(ref 'secret:a//b')")


@pytest.mark.parametrize(
    "name",
    ["connections/pg", "connections/pg#password", "p%23q", "a%3Fb#f%20g", "p#q", "a/b#c?d"],
)
def test_a_bare_name_reads_as_secret_name(name: str) -> None:
    assert parse_name(name) == parse_reference(f"secret:{name}")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a//b", "empty name segment at character 3"),
        ("/a", "empty name segment at character 1"),
        ("", "expected a name at character 1"),
        ("#f", "expected a name at character 1"),
        ("x#", "expected a field name after '#' at character 3"),
        ("a?b", "'?' at character 2 is not allowed"),
        (" a", "unexpected whitespace near character 1"),
        ("%41%41//b", "empty name segment at character 8"),
        ("a%zz", "expected two hex digits after '%' at character 2"),
    ],
)
def test_bare_name_positions_count_the_name_as_written(name: str, message: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_name(name)
    assert message in info.value.message


def test_escapes_that_are_not_utf8_chain_no_error_holding_their_bytes() -> None:
    with pytest.raises(InvalidReference, match="not UTF-8") as info:
        parse_name("pw%C3%28")
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_bare_name_that_looks_like_a_uri_says_what_is_wrong_without_echoing_it() -> None:
    with pytest.raises(InvalidReference) as info:
        parse_name("postgres://u:pw@h/db")
    assert info.value.message == (
        "'://' at character 9: a logical name cannot hold it, "
        "and STORE://PATH needs a configured store or a store kind before it"
    )


def test_validate_logical_name_directly() -> None:
    validate_logical_name("connections/snowflake_default")
    with pytest.raises(InvalidReference, match=r"expected a name at character 1"):
        validate_logical_name("")
    with pytest.raises(InvalidReference, match=r"empty name segment at character 3"):
        validate_logical_name("a//b")
    with pytest.raises(InvalidReference, match=r"unexpected whitespace near character 2"):
        validate_logical_name("a b")


# ------------------------------------------------------------------ properties

_SPECIALS = "%?#&=/:@+.-_~%%##??é中🙂"


def _chars(*, space: bool = False, slash: bool = True) -> st.SearchStrategy[str]:
    broad = st.characters(
        blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"),
    ).filter(lambda c: c.isprintable() and not c.isspace())
    specials = _SPECIALS + (" " if space else "")
    alphabet = st.one_of(st.sampled_from(specials), broad)
    if not slash:
        alphabet = alphabet.filter(lambda c: c != "/")
    return alphabet


_segments = st.lists(st.text(_chars(slash=False), min_size=1, max_size=8), min_size=1, max_size=4)
_logical_path = _segments.map("/".join)
_store_path = st.text(_chars(), min_size=1, max_size=24)
_field = st.none() | st.text(_chars(space=True), min_size=1, max_size=12)
_version = st.none() | st.text(_chars(), min_size=1, max_size=12)
_store = st.sampled_from(sorted(CUSTOM_STORES))

references = st.one_of(
    st.builds(Reference, path=_logical_path, field=_field),
    st.builds(Reference, path=_store_path, store=_store, version=_version, field=_field),
)


@settings(max_examples=200, deadline=None)
@given(references)
@example(Reference("100%", "vault", "%25", "%"))
@example(Reference("a?b#c", field="#?"))
@example(Reference("/", "aws-ssm", "&", " x "))
def test_format_then_parse_round_trips(ref: Reference) -> None:
    text = format_reference(ref)
    assert looks_like_reference(text, CUSTOM_STORES)
    assert parse_reference(text, CUSTOM_STORES) == ref


_prefixes = st.sampled_from(
    ["", "secret:", "secret:a", "vault://", "aws-ssm:///", "env://X", "prod-vault://", " "]
)
_fuzz_text = st.text(st.one_of(st.sampled_from("%?#&=/: \t\n0aF"), st.characters()), max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_text_only_ever_raises_invalid_reference(text: str) -> None:
    try:
        ref = parse_reference(text, CUSTOM_STORES)
    except InvalidReference as error:
        assert error.message
        return
    if ref is None:
        assert not looks_like_reference(text, CUSTOM_STORES)


@settings(max_examples=200, deadline=None)
@given(_prefixes, _fuzz_text)
def test_reference_like_text_only_ever_raises_invalid_reference(prefix: str, tail: str) -> None:
    text = prefix + tail
    try:
        ref = parse_reference(text, CUSTOM_STORES)
    except InvalidReference as error:
        assert error.message
        assert error.ref == text.strip()
        return
    if ref is None:
        assert not looks_like_reference(text, CUSTOM_STORES)
    else:
        # What parses once formats canonically and parses to the same reference again.
        assert parse_reference(format_reference(ref), CUSTOM_STORES) == ref
