"""Resolved values: :class:`Secret`, which never shows its value by accident, and the
Airflow-compatible connection encodings (URI and JSON) that both adapters share."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any, NoReturn
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from .errors import InvalidSecretValue, SecretNotFound, unchained

REDACTED = "**********"


@unchained()  # UnicodeEncodeError keeps the whole text
def encode_text(value: str, ref: str | None, store: str | None) -> bytes:
    """``value`` as UTF-8; text holding lone surrogates (``os.environ`` may hand such text
    over) is InvalidSecretValue, never an error that carries it."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidSecretValue(
            "the value is not valid Unicode text (it holds unpaired surrogates)",
            ref=ref,
            store=store,
        ) from None


class Secret:
    """A resolved secret value with where it came from.

    ``repr``, ``str`` and f-strings show ``**********``; only :meth:`reveal` and
    :meth:`reveal_bytes` give the value. It refuses to be pickled, so it cannot reach
    a run storage or a cache file by accident.
    """

    __slots__ = ("_value", "name", "ref", "store", "version")

    def __init__(
        self,
        value: str | bytes,
        *,
        ref: str | None = None,
        store: str | None = None,
        name: str | None = None,
        version: str | None = None,
    ) -> None:
        self._value = value
        self.ref = ref
        self.store = store
        self.name = name  # the physical name in ``store``
        self.version = version

    def reveal(self) -> str:
        """The value as text (a binary value must be valid UTF-8)."""
        value = self._value
        return value if isinstance(value, str) else self._decode(value)

    @unchained()  # UnicodeDecodeError keeps the bytes
    def _decode(self, value: bytes) -> str:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidSecretValue(
                "the secret is binary, not UTF-8 text; use reveal_bytes()",
                ref=self.ref,
                store=self.store,
            ) from None

    def reveal_bytes(self) -> bytes:
        value = self._value
        return value if isinstance(value, bytes) else encode_text(value, self.ref, self.store)

    @property
    def is_binary(self) -> bool:
        return isinstance(self._value, bytes)

    @unchained()  # JSONDecodeError keeps the whole document
    def json(self) -> Any:
        """The value parsed as JSON; the error never quotes the value."""
        try:
            return json.loads(self._value)
        except ValueError:
            raise InvalidSecretValue(
                "the secret's value is not valid JSON", ref=self.ref, store=self.store
            ) from None

    def field(self, key: str) -> Secret:
        """One key of a JSON object secret, as a Secret of its own."""
        document = self.json()
        if not isinstance(document, dict):
            raise InvalidSecretValue(
                f"field {key!r} was asked for, but the secret is not a JSON object",
                ref=self.ref,
                store=self.store,
            )
        if key not in document:
            # Not the other keys: a key can be as telling as a value.
            raise SecretNotFound(
                f"the secret has no field {key!r}",
                ref=self.ref,
                store=self.store,
            )
        value = document[key]
        text = value if isinstance(value, str) else json.dumps(value)
        return Secret(text, ref=self.ref, store=self.store, name=self.name, version=self.version)

    def with_ref(self, ref: str) -> Secret:
        return Secret(self._value, ref=ref, store=self.store, name=self.name, version=self.version)

    def __repr__(self) -> str:
        parts = [f"{label}={value!r}" for label, value in self._where() if value is not None]
        return f"Secret({', '.join([*parts, 'value=' + REDACTED])})"

    def _where(self) -> Iterator[tuple[str, str | None]]:
        yield "ref", self.ref
        yield "store", self.store
        yield "name", self.name
        yield "version", self.version

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            f"a Secret cannot be pickled (ref {self.ref!r}): pass the reference instead "
            "and resolve it where the value is needed"
        )


# ------------------------------------------------------------------ connections


@dataclass
class Connection:
    """An Airflow-compatible connection. ``password`` and ``extra`` are kept out of repr.

    Encodings follow Airflow's own: a URI (``postgres://user:pw@host:5432/db?k=v``) or a
    JSON object with the keys conn_type, host, login, password, schema, port, extra.
    """

    conn_type: str | None = None
    host: str | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    port: int | None = None
    extra: str | None = field(default=None, repr=False)
    description: str | None = None

    EXTRA_KEY = "__extra__"

    @classmethod
    def parse(cls, value: str, *, ref: str | None = None) -> Connection:
        """JSON when the value starts with ``{``, a URI otherwise (as Airflow decides)."""
        if value.lstrip().startswith("{"):
            return cls.from_json(value, ref=ref)
        return cls.from_uri(value, ref=ref)

    @classmethod
    @unchained()  # JSONDecodeError keeps the whole document
    def from_json(cls, text: str, *, ref: str | None = None) -> Connection:
        """Airflow's JSON form; the text fields must be strings, ``port`` a whole number
        0-65535 (or a string of digits, as Airflow accepts), ``extra`` an object or a
        string. Errors name the key, never its value."""
        try:
            document = json.loads(text)
        except ValueError:
            _bad_connection("it starts with '{' but is not valid JSON", ref)
        if not isinstance(document, dict):
            _bad_connection("a JSON connection must be an object", ref)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(document) - known)
        if unknown:
            _bad_connection(f"unknown key {unknown[0]!r}; expected {', '.join(sorted(known))}", ref)
        for key in _TEXT_FIELDS:
            if not isinstance(document.get(key), (str, type(None))):
                _bad_connection(f"{key!r} must be a string", ref)
        extra = document.get("extra")
        if isinstance(extra, dict):
            extra = json.dumps(extra)
        elif extra is not None and not isinstance(extra, str):
            _bad_connection("'extra' must be a JSON object or a string", ref)
        port = _json_port(document.get("port"), ref)
        conn_type = document.get("conn_type")
        if isinstance(conn_type, str) and conn_type:
            conn_type = _normalize_conn_type(conn_type)
        return cls(**{**document, "conn_type": conn_type, "extra": extra, "port": port})

    @classmethod
    @unchained()  # urllib's errors quote the URI, password included
    def from_uri(cls, uri: str, *, ref: str | None = None) -> Connection:
        if uri.startswith("//"):  # no conn type, as Airflow writes a connection without one
            uri = ":" + uri
        if uri.count("://") > 2 or "://" not in uri:
            _bad_connection(
                "expected a URI like 'conn-type://login:password@host:port/schema'", ref
            )
        conn_type, rest = uri.split("://", 1)
        protocol = None
        if "://" in rest:  # a host that carries its own protocol: conn://http://host
            protocol, rest = rest.split("://", 1)
            if "@" in protocol or ":" in protocol:
                _bad_connection("the host's protocol holds '@' or ':'", ref)
        try:
            parts = urlsplit("//" + rest)
            port = parts.port
        except ValueError:
            _bad_connection("the port is not a number between 0 and 65535", ref)
        host = _hostname(parts)
        if protocol:
            host = f"{protocol}://{host}"
        extra = None
        if parts.query:
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            extra = query[cls.EXTRA_KEY] if cls.EXTRA_KEY in query else json.dumps(query)
        return cls(
            conn_type=_normalize_conn_type(conn_type),
            host=host,
            login=unquote(parts.username) if parts.username else parts.username,
            password=unquote(parts.password) if parts.password else parts.password,
            schema=unquote(parts.path[1:]) if parts.path[1:] else parts.path[1:],
            port=port,
            extra=extra,
        )

    @classmethod
    def from_attributes(cls, source: Any) -> Connection:
        """A copy of any object with these attributes (an orchestrator's own connection
        record, such as Airflow's ``Connection`` model); absent ones are None."""
        return cls(**{f.name: getattr(source, f.name, None) for f in fields(cls)})

    @property
    def extra_dejson(self) -> dict[str, Any]:
        if not self.extra:
            return {}
        try:
            document = json.loads(self.extra)
        except ValueError:
            return {}
        return document if isinstance(document, dict) else {}

    def to_uri(self) -> str:
        uri = f"{self.conn_type.lower().replace('_', '-')}://" if self.conn_type else "//"
        host = self.host
        if host and "://" in host:
            protocol, host = host.split("://", 1)
            uri += f"{protocol}://"
        authority = ""
        if self.login is not None:
            authority += quote(self.login, safe="")
        if self.password is not None:
            authority += ":" + quote(self.password, safe="")
        if authority:
            uri += authority + "@"
        host_block = quote(host, safe="") if host else ""
        if self.port:
            host_block += f":{self.port}" if host_block or authority else f"@:{self.port}"
        if self.schema:
            host_block += f"/{quote(self.schema, safe='')}"
        uri += host_block
        if self.extra:
            query = self._extra_query()
            uri += ("?" if self.schema else "/?") + query
        return uri

    def _extra_query(self) -> str:
        extra = self.extra_dejson
        flat = all(isinstance(v, str) for v in extra.values())
        if extra and flat:
            query = urlencode(extra)
            if dict(parse_qsl(query, keep_blank_values=True)) == extra:
                return query
        return urlencode({self.EXTRA_KEY: self.extra})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value
        if self.extra is not None and self.extra_dejson:
            out["extra"] = self.extra_dejson
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def map_fields(self, resolve: Callable[[str, str], str]) -> Connection:
        """A copy with every string field, and every string value of a JSON ``extra``,
        passed through ``resolve(field, text)``; ``field`` is the field's name
        (``password``, or ``extra.KEY``) so that an error can name it without its text.
        The resolver uses it to expand references."""
        changes: dict[str, Any] = {
            name: resolve(name, value)
            for name in ("conn_type", "host", "login", "password", "schema")
            if isinstance(value := getattr(self, name), str)
        }
        extra = self.extra_dejson
        if extra:
            changes["extra"] = json.dumps(
                {k: resolve(f"extra.{k}", v) if isinstance(v, str) else v for k, v in extra.items()}
            )
        return replace(self, **changes)


_TEXT_FIELDS = ("conn_type", "host", "login", "password", "schema", "description")
_DIGITS = re.compile(r"[0-9]{1,5}")


def _json_port(port: object, ref: str | None) -> int | None:
    if port is None:
        return None
    if isinstance(port, str) and _DIGITS.fullmatch(port):
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        _bad_connection("'port' must be a whole number from 0 to 65535", ref)
    return port


def _normalize_conn_type(conn_type: str) -> str:
    if conn_type == "postgresql":
        return "postgres"
    return conn_type.replace("-", "_")


def _hostname(parts: Any) -> str:
    hostname: str = unquote(parts.hostname or "")
    if "/" in hostname:  # an escaped '/' in the host: take it from the raw netloc
        hostname = parts.netloc.rsplit("@", 1)[-1].split(":", 1)[0]
        hostname = unquote(hostname)
    return hostname


def _bad_connection(problem: str, ref: str | None) -> NoReturn:
    raise InvalidSecretValue(f"the secret is not a valid connection: {problem}", ref=ref)
