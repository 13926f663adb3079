"""Resolved values: Secret never shows its value; Connection speaks Airflow's URI and JSON
encodings, and its errors and repr never show the password."""

from __future__ import annotations

import copy
import json
import logging
import pickle
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from leaks import assert_no_leak

from secretbridge import Connection, InvalidSecretValue, Secret, SecretNotFound
from secretbridge.values import REDACTED

#: '!', '(' and ')' are legal in a URI's password as they are, and quoting changes them, so
#: the plain and the URI-quoted canary are two different things to look for.
CANARY = "c4n4ry!Pa55(w0rd)-7f3e"
REF = "secret:connections/warehouse#password"


def assert_hides_canary(error: BaseException) -> None:
    """The value, plain or URI-quoted, is nowhere in the error or its chain."""
    quoted = quote(CANARY, safe="")
    assert quoted != CANARY, "a canary that quoting leaves alone makes the second check moot"
    assert_no_leak([CANARY, quoted], error)


def make_secret(value: str | bytes = CANARY) -> Secret:
    return Secret(value, ref=REF, store="vault-prod", name="airflow/connections/wh", version="3")


# ------------------------------------------------------------------ Secret: never shown


def test_reveal_gives_the_value() -> None:
    secret = make_secret()
    assert secret.reveal() == CANARY
    assert secret.reveal_bytes() == CANARY.encode()
    assert not secret.is_binary
    binary = make_secret(CANARY.encode())
    assert binary.is_binary
    assert binary.reveal() == CANARY
    assert binary.reveal_bytes() == CANARY.encode()
    assert make_secret("clé").reveal_bytes() == "clé".encode()


def test_repr_names_where_it_came_from_but_not_the_value() -> None:
    secret = make_secret()
    text = repr(secret)
    assert CANARY not in text
    assert text == (
        f"Secret(ref={REF!r}, store='vault-prod', name='airflow/connections/wh', "
        f"version='3', value={REDACTED})"
    )
    assert repr(Secret(CANARY)) == f"Secret(value={REDACTED})"


def test_str_format_and_interpolation_are_redacted() -> None:
    secret = make_secret()
    shown = [
        str(secret),
        f"{secret}",
        f"{secret!s}",
        f"{secret:>40}",
        f"{secret!r}",
        format(secret),
        format(secret, "s"),
        "{}".format(secret),  # noqa: UP032 - the str.format path is what is tested
        "%s" % secret,  # noqa: UP031 - the %-format path is what is tested
        "%r" % (secret,),  # noqa: UP031
        str([secret]),
        str({"password": secret}),
        str((secret,)),
    ]
    for text in shown:
        assert CANARY not in text
        assert REDACTED in text
    assert str(secret) == REDACTED
    assert f"{secret}" == REDACTED
    assert f"{secret:>40}" == REDACTED


def test_binary_secret_is_redacted_too() -> None:
    secret = make_secret(CANARY.encode())
    for text in (str(secret), repr(secret), f"{secret}", "%s" % secret):  # noqa: UP031
        assert CANARY not in text


def test_logging_never_shows_the_value(caplog: pytest.LogCaptureFixture) -> None:
    secret = make_secret()
    logger = logging.getLogger("secretbridge.tests.values")
    with caplog.at_level(logging.DEBUG, logger="secretbridge.tests.values"):
        logger.info("password is %s", secret)
        logger.info("password is %r", secret)
        logger.info(secret)
        logger.info("secrets %s", [secret])
        logger.warning("%(pw)s", {"pw": secret})
        logger.error(f"f-string {secret}")
        logger.debug("as dict %s", {"pw": secret})
    assert len(caplog.records) == 7
    assert CANARY not in caplog.text
    for record in caplog.records:
        assert CANARY not in record.getMessage()
    assert caplog.text.count(REDACTED) >= 7


def test_binary_that_is_not_utf8() -> None:
    raw = b"\xff\xfe" + CANARY.encode()
    secret = make_secret(raw)
    assert secret.reveal_bytes() == raw
    with pytest.raises(InvalidSecretValue) as info:
        secret.reveal()
    assert "binary, not UTF-8" in info.value.message
    assert "reveal_bytes()" in info.value.message
    assert info.value.ref == REF
    assert info.value.store == "vault-prod"
    assert_hides_canary(info.value)


def test_json_of_a_non_json_value() -> None:
    with pytest.raises(InvalidSecretValue) as info:
        make_secret(CANARY).json()
    assert "not valid JSON" in info.value.message
    assert_hides_canary(info.value)
    with pytest.raises(InvalidSecretValue) as info:
        make_secret(b"\xff" + CANARY.encode()).json()
    assert_hides_canary(info.value)


def test_field_of_a_json_object() -> None:
    secret = make_secret(
        json.dumps({"user": "etl", "password": CANARY, "port": 5432, "o": {"a": 1}})
    )
    field = secret.field("password")
    assert isinstance(field, Secret)
    assert field.reveal() == CANARY
    assert CANARY not in repr(field)
    assert (field.ref, field.store, field.name, field.version) == (
        REF,
        "vault-prod",
        "airflow/connections/wh",
        "3",
    )
    assert secret.field("port").reveal() == "5432"
    assert json.loads(secret.field("o").reveal()) == {"a": 1}
    assert secret.json()["user"] == "etl"


def test_field_of_a_value_that_is_not_json() -> None:
    with pytest.raises(InvalidSecretValue) as info:
        make_secret(CANARY).field("password")
    assert "not valid JSON" in info.value.message
    assert_hides_canary(info.value)


@pytest.mark.parametrize("value", [json.dumps([CANARY]), json.dumps(CANARY), "42"])
def test_field_of_a_json_value_that_is_not_an_object(value: str) -> None:
    with pytest.raises(InvalidSecretValue) as info:
        make_secret(value).field("password")
    assert "field 'password' was asked for, but the secret is not a JSON object" in (
        info.value.message
    )
    assert_hides_canary(info.value)


def test_missing_field_names_the_field_asked_for_and_never_the_others() -> None:
    secret = make_secret(json.dumps({"user": "etl", CANARY: "x", "password": CANARY}))
    with pytest.raises(SecretNotFound) as info:
        secret.field("passwd")
    assert info.value.message == "the secret has no field 'passwd'"
    assert info.value.ref == REF
    assert "user" not in str(info.value)
    assert_hides_canary(info.value)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_secret_refuses_to_be_pickled(protocol: int) -> None:
    secret = make_secret()
    with pytest.raises(TypeError) as info:
        pickle.dumps(secret, protocol=protocol)
    assert "cannot be pickled" in str(info.value)
    assert REF in str(info.value)
    assert CANARY not in str(info.value)


def test_secret_cannot_be_copied_into_a_cache_by_accident() -> None:
    with pytest.raises(TypeError):
        copy.deepcopy({"pw": make_secret()})


def test_with_ref_keeps_the_value_and_origin() -> None:
    secret = make_secret().with_ref("secret:other")
    assert secret.ref == "secret:other"
    assert secret.reveal() == CANARY
    assert (secret.store, secret.name, secret.version) == (
        "vault-prod",
        "airflow/connections/wh",
        "3",
    )


def test_secret_has_no_instance_dict() -> None:
    secret = make_secret()
    assert not hasattr(secret, "__dict__")
    with pytest.raises(TypeError):
        vars(secret)


# ------------------------------------------------------------------ Connection: URI


def test_uri_with_every_part() -> None:
    conn = Connection.from_uri(
        "postgres://etl:s3cret@db.example.com:5432/analytics?sslmode=require&connect_timeout=10"
    )
    assert conn == Connection(
        conn_type="postgres",
        host="db.example.com",
        login="etl",
        password="s3cret",
        schema="analytics",
        port=5432,
        extra=json.dumps({"sslmode": "require", "connect_timeout": "10"}),
    )
    assert conn.extra_dejson == {"sslmode": "require", "connect_timeout": "10"}
    assert conn.to_uri() == (
        "postgres://etl:s3cret@db.example.com:5432/analytics?sslmode=require&connect_timeout=10"
    )


@pytest.mark.parametrize(
    ("uri", "conn_type", "written"),
    [
        ("postgresql://h", "postgres", "postgres://h"),
        ("postgres://h", "postgres", "postgres://h"),
        ("google-cloud-platform://h", "google_cloud_platform", "google-cloud-platform://h"),
        ("aws://h", "aws", "aws://h"),
        ("my-custom-type://h", "my_custom_type", "my-custom-type://h"),
    ],
)
def test_uri_conn_type_normalization(uri: str, conn_type: str, written: str) -> None:
    conn = Connection.from_uri(uri)
    assert conn.conn_type == conn_type
    assert conn.to_uri() == written


def test_uri_percent_encoded_login_password_schema() -> None:
    conn = Connection.from_uri("mysql://us%40er:p%40ss%2Fw%3Ard%23%3F@host/my%2Fdb%20x")
    assert conn.login == "us@er"
    assert conn.password == "p@ss/w:rd#?"
    assert conn.schema == "my/db x"
    assert conn.host == "host"
    assert conn.to_uri() == "mysql://us%40er:p%40ss%2Fw%3Ard%23%3F@host/my%2Fdb%20x"


def test_to_uri_quotes_like_airflow() -> None:
    conn = Connection(
        conn_type="google_cloud_platform",
        host="h",
        login="a b",
        password="p@:/?#&=%",
        schema="s/1",
        port=443,
    )
    assert conn.to_uri() == "google-cloud-platform://a%20b:p%40%3A%2F%3F%23%26%3D%25@h:443/s%2F1"


def test_uri_without_a_schema_puts_extras_after_a_slash() -> None:
    conn = Connection(conn_type="http", host="h", extra=json.dumps({"a": "1"}))
    assert conn.to_uri() == "http://h/?a=1"
    assert Connection.from_uri("http://h/?a=1") == Connection(
        conn_type="http", host="h", schema="", extra='{"a": "1"}'
    )


def test_uri_blank_query_values_are_kept() -> None:
    assert Connection.from_uri("x://h/?a=&b=2").extra_dejson == {"a": "", "b": "2"}


def test_extra_that_is_not_flat_goes_in_the_extra_param() -> None:
    extra = json.dumps({"nested": {"a": 1}, "n": 5})
    conn = Connection(conn_type="aws", host="h", extra=extra)
    uri = conn.to_uri()
    assert "__extra__=" in uri
    assert Connection.from_uri(uri).extra == extra


def test_extra_param_is_taken_verbatim() -> None:
    conn = Connection.from_uri("aws://?__extra__=%7B%22region%22%3A+%22eu-west-1%22%7D")
    assert conn.extra == '{"region": "eu-west-1"}'
    assert conn.extra_dejson == {"region": "eu-west-1"}
    assert conn.host == ""


def test_extra_that_is_not_json_survives_a_uri() -> None:
    conn = Connection(conn_type="x", host="h", extra="not json")
    assert conn.extra_dejson == {}
    assert Connection.from_uri(conn.to_uri()).extra == "not json"


@pytest.mark.parametrize(
    ("uri", "host", "port"),
    [
        ("spark://spark://spark-master:7077", "spark://spark-master", 7077),
        ("http://https://user:pw@example.com:443/path", "https://example.com", 443),
        ("http://https://example.com", "https://example.com", None),
    ],
)
def test_host_with_its_own_protocol(uri: str, host: str, port: int | None) -> None:
    conn = Connection.from_uri(uri)
    assert conn.host == host
    assert conn.port == port
    assert conn.to_uri() == uri
    assert Connection.from_uri(conn.to_uri()) == conn


def test_host_with_protocol_keeps_login_and_schema() -> None:
    conn = Connection.from_uri("http://https://user:pw@example.com:443/path")
    assert (conn.conn_type, conn.login, conn.password, conn.schema) == (
        "http",
        "user",
        "pw",
        "path",
    )


def test_port_without_host_or_login_uses_the_at_colon_form() -> None:
    conn = Connection(conn_type="x", port=5432)
    assert conn.to_uri() == "x://@:5432"
    parsed = Connection.from_uri("x://@:5432")
    assert parsed.port == 5432
    assert parsed.host == ""
    assert not parsed.login
    assert parsed.password is None
    assert parsed.to_uri() == "x://@:5432"


def test_port_with_login_only() -> None:
    conn = Connection(conn_type="x", login="u", port=5432)
    assert conn.to_uri() == "x://u@:5432"
    parsed = Connection.from_uri(conn.to_uri())
    assert (parsed.login, parsed.port) == ("u", 5432)


def test_escaped_slash_in_the_host() -> None:
    conn = Connection(conn_type="x", host="/tmp/socket", login="u", port=1)
    uri = conn.to_uri()
    assert uri == "x://u@%2Ftmp%2Fsocket:1"
    assert Connection.from_uri(uri).host == "/tmp/socket"


@pytest.mark.parametrize(
    "uri",
    [
        "postgres://etl:s3cret@db.example.com:5432/analytics?sslmode=require&connect_timeout=10",
        "postgresql://u:p@H.example.COM/db",
        "mysql://us%40er:p%40ss%2Fw@host:3306/my%2Fdb",
        "spark://spark://spark-master:7077",
        "x://@:5432",
        "x://:onlypassword@h",
        "x://u:@h",
        "aws://?__extra__=%7B%22a%22%3A+%7B%22b%22%3A+1%7D%7D",
        "http://h/?a=1&b=",
        "google-cloud-platform://?extra__google_cloud_platform__project=p",
        "sqlite://%2Ftmp%2Fdb.sqlite",
    ],
)
def test_uri_round_trip(uri: str) -> None:
    first = Connection.from_uri(uri)
    again = Connection.from_uri(first.to_uri())
    assert again == first
    assert again.to_uri() == first.to_uri()
    assert Connection.parse(uri) == first


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("no scheme here", "expected a URI like 'conn-type://login:password@host:port/schema'"),
        ("a://b://c://d", "expected a URI like 'conn-type://"),
        ("x://user@proto://host", "the host's protocol holds '@' or ':'"),
        ("x://pro:to://host", "the host's protocol holds '@' or ':'"),
        ("x://h:notaport/db", "the port is not a number between 0 and 65535"),
        ("x://h:70000/db", "the port is not a number between 0 and 65535"),
    ],
)
def test_bad_uris(uri: str, problem: str) -> None:
    with pytest.raises(InvalidSecretValue) as info:
        Connection.from_uri(uri, ref=REF)
    assert info.value.message.startswith("the secret is not a valid connection: ")
    assert problem in info.value.message
    assert info.value.ref == REF


@pytest.mark.parametrize(
    "uri",
    [
        f"postgres://user:{CANARY}@host:notaport/db",
        f"postgres://user:{CANARY}@host:99999/db",
        f"postgres://user:{CANARY}@[host/db",
        f"a://b://user:{CANARY}@h://x",
        f"x://{CANARY}@h://y",
    ],
)
def test_bad_uri_messages_never_contain_the_password(uri: str) -> None:
    with pytest.raises(InvalidSecretValue) as info:
        Connection.parse(uri, ref=REF)
    assert CANARY not in str(info.value)
    assert CANARY not in repr(info.value)
    assert CANARY not in info.value.message


@pytest.mark.parametrize(
    "uri",
    [
        # An unescaped '/' in the password: urllib takes the password as the port.
        f"postgres://user:{CANARY}/x@host:5432/db",
        # A full-width '@' in the password: urllib quotes the whole netloc in its error.
        f"postgres://user:{CANARY}\uff20x@host/db",
    ],
)
def test_bad_uri_tracebacks_never_contain_the_password(uri: str) -> None:
    with pytest.raises(InvalidSecretValue) as info:
        Connection.from_uri(uri, ref=REF)
    assert CANARY not in info.value.message
    # What logger.exception() would write: the chained urllib error must not show.
    assert_hides_canary(info.value)


# ------------------------------------------------------------------ Connection: JSON


def test_json_with_extra_as_object() -> None:
    text = json.dumps(
        {
            "conn_type": "snowflake",
            "host": "acct.snowflakecomputing.com",
            "login": "etl",
            "password": CANARY,
            "schema": "PUBLIC",
            "port": 443,
            "extra": {"warehouse": "WH", "role": "R", "n": 2},
        }
    )
    conn = Connection.from_json(text)
    assert conn.password == CANARY
    assert conn.port == 443
    assert conn.extra_dejson == {"warehouse": "WH", "role": "R", "n": 2}
    assert json.loads(conn.to_json()) == json.loads(text)
    assert Connection.parse(text) == conn
    assert Connection.parse("  \n" + text) == conn


def test_json_with_extra_as_string() -> None:
    conn = Connection.from_json(json.dumps({"conn_type": "x", "extra": '{"a": "b"}'}))
    assert conn.extra == '{"a": "b"}'
    assert conn.to_dict() == {"conn_type": "x", "extra": {"a": "b"}}
    raw = Connection.from_json(json.dumps({"conn_type": "x", "extra": "not json"}))
    assert raw.extra == "not json"
    assert raw.to_dict() == {"conn_type": "x", "extra": "not json"}


def test_json_port_as_string_and_missing_fields() -> None:
    conn = Connection.from_json('{"conn_type": "x", "port": "5432"}')
    assert conn.port == 5432
    assert conn == Connection(conn_type="x", port=5432)
    assert Connection.from_json("{}") == Connection()


@pytest.mark.parametrize(
    ("conn_type", "normalized"),
    [
        ("postgresql", "postgres"),
        ("google-cloud-platform", "google_cloud_platform"),
        ("postgres", "postgres"),
    ],
)
def test_json_conn_type_is_normalized_like_a_uri(conn_type: str, normalized: str) -> None:
    # Airflow's Connection.from_json normalizes conn_type the same way its URI parser does,
    # so one connection stored as JSON or as a URI is the same connection.
    conn = Connection.from_json(json.dumps({"conn_type": conn_type, "host": "h"}))
    assert conn == Connection(conn_type=normalized, host="h")
    assert conn.conn_type == Connection.from_uri(f"{conn_type}://h").conn_type


def canary_connection(extra: dict[str, Any]) -> Connection:
    """A postgres connection whose password is the canary, with ``extra`` as JSON."""
    return Connection(
        conn_type="postgres",
        host="h",
        login="u",
        password=CANARY,
        schema="db",
        port=5432,
        extra=json.dumps(extra),
    )


def test_json_round_trip() -> None:
    conn = canary_connection({"sslmode": "require", "nested": {"a": [1, 2]}})
    assert Connection.from_json(conn.to_json()) == conn
    assert Connection.parse(conn.to_json()) == conn
    assert Connection.from_uri(conn.to_uri()) == conn


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"password": "' + CANARY + '",', "it starts with '{' but is not valid JSON"),
        ('{"password": "' + CANARY + '"} trailing', "it starts with '{' but is not valid JSON"),
        (
            '{"password": "' + CANARY + '", "passwd": "' + CANARY + '"}',
            "unknown key 'passwd'; expected conn_type, description, extra, host, login, "
            "password, port, schema",
        ),
        ('{"password": "' + CANARY + '", "port": "x"}', "'port' must be a whole number"),
        ('{"password": "' + CANARY + '", "port": [1]}', "'port' must be a whole number"),
        ('{"password": "' + CANARY + '", "port": null, "a": 1}', "unknown key 'a'"),
    ],
)
def test_bad_json_connections(text: str, problem: str) -> None:
    with pytest.raises(InvalidSecretValue) as info:
        Connection.parse(text, ref=REF)
    assert problem in info.value.message
    assert info.value.message.startswith("the secret is not a valid connection: ")
    assert info.value.ref == REF
    assert_hides_canary(info.value)


@pytest.mark.parametrize("key", ["conn_type", "host", "login", "password", "schema", "description"])
@pytest.mark.parametrize("value", [1, 1.5, True, [CANARY], {"v": CANARY}])
def test_json_text_fields_must_be_strings(key: str, value: object) -> None:
    text = json.dumps({"password": CANARY, key: value})
    with pytest.raises(InvalidSecretValue) as info:
        Connection.parse(text, ref=REF)
    assert info.value.message == f"the secret is not a valid connection: {key!r} must be a string"
    assert_hides_canary(info.value)


@pytest.mark.parametrize(
    "port", [-1, 65536, 10**30, True, 5432.0, 5432.5, "-1", "65536", "54 32", "", "x", [1]]
)
def test_json_port_must_be_a_whole_number_in_range(port: object) -> None:
    text = json.dumps({"password": CANARY, "port": port})
    with pytest.raises(InvalidSecretValue) as info:
        Connection.parse(text, ref=REF)
    assert "'port' must be a whole number from 0 to 65535" in info.value.message
    assert_hides_canary(info.value)


@pytest.mark.parametrize(
    ("port", "expected"), [(0, 0), (65535, 65535), ("5432", 5432), (None, None)]
)
def test_json_port_accepts_integers_and_digit_strings(port: object, expected: int | None) -> None:
    assert Connection.from_json(json.dumps({"port": port})).port == expected


@pytest.mark.parametrize("extra", [1, True, [CANARY]])
def test_json_extra_must_be_an_object_or_a_string(extra: object) -> None:
    with pytest.raises(InvalidSecretValue) as info:
        Connection.parse(json.dumps({"extra": extra}), ref=REF)
    assert "'extra' must be a JSON object or a string" in info.value.message
    assert_hides_canary(info.value)


def test_json_connection_with_checked_fields_writes_a_uri() -> None:
    conn = Connection.from_json(json.dumps({"conn_type": "pg", "host": "h", "port": "5432"}))
    assert conn.to_uri() == "pg://h:5432"


@pytest.mark.parametrize("text", ['["a"]', "[]"])
def test_json_that_is_not_an_object(text: str) -> None:
    # A value starting with '[' is not JSON to Connection.parse: it is read as a URI.
    with pytest.raises(InvalidSecretValue, match="a JSON connection must be an object"):
        Connection.from_json(text)


@pytest.mark.parametrize("port", ["1e400", "-1e400", "Infinity"])
def test_json_port_that_overflows_is_a_bad_port(port: str) -> None:
    text = '{"password": "' + CANARY + '", "port": ' + port + "}"
    with pytest.raises(InvalidSecretValue) as info:
        Connection.parse(text, ref=REF)
    assert "'port' must be a whole number" in info.value.message
    assert_hides_canary(info.value)


# ------------------------------------------------------------------ Connection: repr, map


def test_repr_hides_password_and_extra() -> None:
    conn = canary_connection({"token": CANARY})
    for text in (repr(conn), str(conn), f"{conn}", "%s" % (conn,)):  # noqa: UP031
        assert CANARY not in text
        assert "password" not in text
        assert "extra" not in text
        assert "host='h'" in text
        assert "login='u'" in text
        assert "port=5432" in text


def test_map_fields_resolves_string_fields_and_string_extra_values() -> None:
    conn = Connection(
        conn_type="postgres",
        host="secret:hosts/db",
        login="etl",
        password="secret:connections/db#password",
        schema=None,
        port=5432,
        extra=json.dumps({"token": "secret:tokens/api", "n": 5, "nested": {"k": "secret:x"}}),
    )
    seen: list[tuple[str, str]] = []

    def resolve(field: str, value: str) -> str:
        seen.append((field, value))
        return value.replace("secret:", "resolved:")

    mapped = conn.map_fields(resolve)
    assert mapped is not conn
    assert mapped.conn_type == "postgres"
    assert mapped.host == "resolved:hosts/db"
    assert mapped.login == "etl"
    assert mapped.password == "resolved:connections/db#password"
    assert mapped.schema is None
    assert mapped.port == 5432
    assert mapped.extra_dejson == {
        "token": "resolved:tokens/api",
        "n": 5,
        "nested": {"k": "secret:x"},
    }
    assert sorted(seen) == sorted(
        [
            ("conn_type", "postgres"),
            ("host", "secret:hosts/db"),
            ("login", "etl"),
            ("password", "secret:connections/db#password"),
            ("extra.token", "secret:tokens/api"),
        ]
    )
    # The original is untouched.
    assert conn.password == "secret:connections/db#password"
    assert conn.extra_dejson["token"] == "secret:tokens/api"


def test_map_fields_leaves_an_extra_that_is_not_a_json_object() -> None:
    for extra in ("plain text", "[1, 2]", None, ""):
        conn = Connection(conn_type="x", extra=extra)
        assert conn.map_fields(lambda _field, text: text.upper()).extra == extra


# ------------------------------------------------------------------ properties

_text = st.text(
    st.characters(blacklist_categories=("Cs",)) | st.sampled_from(":/@?#&=%+[] "),
    min_size=1,
    max_size=12,
)
_host = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789.-_"), min_size=1, max_size=20)
_extra_dict = st.dictionaries(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=6),
    max_size=3,
)
_extra = st.one_of(
    st.none(),
    _extra_dict.filter(bool).map(json.dumps),
    st.builds(lambda d, n: json.dumps({**d, "n": n}), _extra_dict, st.integers()),
)
_conn_type = st.from_regex(r"[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,6}){0,2}", fullmatch=True).filter(
    lambda t: t != "postgresql"
)

connections = st.builds(
    Connection,
    conn_type=_conn_type,
    host=st.none() | _host,
    login=st.none() | _text,
    password=st.none() | _text,
    schema=st.none() | _text,
    port=st.none() | st.integers(1, 65535),
    extra=_extra,
)


@settings(max_examples=200, deadline=None)
@given(connections)
def test_uri_round_trip_property(conn: Connection) -> None:
    first = Connection.from_uri(conn.to_uri())
    again = Connection.from_uri(first.to_uri())
    assert again == first
    # Fields that were written come back as they were.
    assert first.conn_type == conn.conn_type
    assert first.password == conn.password
    assert first.schema == (conn.schema or "")
    assert first.port == conn.port
    assert first.host == (conn.host or "")
    if conn.login is not None:
        assert first.login == conn.login
    if conn.extra is not None:
        assert json.loads(first.extra or "") == json.loads(conn.extra)


@settings(max_examples=200, deadline=None)
@given(connections)
def test_json_round_trip_property(conn: Connection) -> None:
    assert Connection.from_json(conn.to_json()) == conn


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_parse_arbitrary_text_only_raises_invalid_secret_value(text: str) -> None:
    try:
        conn = Connection.parse(text)
    except InvalidSecretValue:
        return
    assert isinstance(conn, Connection)


def test_a_connection_copies_any_object_with_its_attributes() -> None:
    class Record:  # an orchestrator's own connection record
        conn_type = "postgres"
        host = "db"
        login = "etl"
        password = "pw"
        port = 5432
        extra = '{"sslmode": "require"}'
        conn_id = "not a field of ours"

    conn = Connection.from_attributes(Record())
    assert (conn.conn_type, conn.host, conn.login, conn.password, conn.port) == (
        "postgres",
        "db",
        "etl",
        "pw",
        5432,
    )
    assert conn.extra_dejson == {"sslmode": "require"}
    assert (conn.schema, conn.description) == (None, None)
