"""The reference grammar, the same string in Airflow and Dagster.

    secret:NAME[#FIELD]                     a logical name, looked up through the chain
    STORE://PATH[?version=V][#FIELD]        a path in one store (a configured name or a kind)
    anything else                           a literal value, passed through untouched

``%XX`` escapes are decoded in PATH, V and FIELD, so names holding ``?``, ``#`` or ``%``
can still be written; :func:`format_reference` adds them back. A string that starts like a
reference but breaks the grammar raises :class:`InvalidReference` naming the character
position and what was expected: it never falls back to being a literal.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from .errors import InvalidReference, unchained
from .stores import RESERVED_SCHEMES

LOGICAL_PREFIX = "secret:"
_SCHEME = re.compile(r"([a-z][a-z0-9-]*)://")
_ESCAPE_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_STORE_NAME = re.compile(r"[a-z][a-z0-9-]*\Z")


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed reference. ``store`` is None for a logical name resolved through the chain."""

    path: str
    store: str | None = None
    version: str | None = None
    field: str | None = None

    @property
    def is_logical(self) -> bool:
        return self.store is None

    def without_field(self) -> Reference:
        return Reference(self.path, self.store, self.version)

    def __str__(self) -> str:
        return format_reference(self)


def is_store_name(name: str) -> bool:
    """Store names double as URI schemes: lower case letters, digits and dashes."""
    return bool(_STORE_NAME.match(name))


def looks_like_reference(text: str, stores: Collection[str] = RESERVED_SCHEMES) -> bool:
    """True when ``text`` would be parsed as a reference rather than passed as a literal."""
    stripped = text.strip()
    if stripped.startswith(LOGICAL_PREFIX):
        return True
    match = _SCHEME.match(stripped)
    return bool(match and match.group(1) in stores)


def parse_reference(text: str, stores: Collection[str] = RESERVED_SCHEMES) -> Reference | None:
    """Parse ``text``; None means it is a literal value.

    ``stores`` holds the names recognised as ``STORE://`` schemes: the configured store
    names and the store kinds. Any other ``scheme://`` string (``postgres://user@host``)
    is a literal, which is how a connection URI typed in by hand keeps working.
    """
    if not looks_like_reference(text, stores):
        return None
    if text != text.strip():
        at = 1 if text[0].isspace() else len(text.rstrip()) + 1
        raise InvalidReference(
            f"unexpected whitespace at character {at}, around the reference; remove it",
            ref=text.strip(),
        )
    if text.startswith(LOGICAL_PREFIX):
        return _parse_logical(text, len(LOGICAL_PREFIX))
    return _parse_store_ref(text)


def parse_name(text: str) -> Reference:
    """A bare logical name, read exactly as ``secret:`` + ``text`` would be (``#`` starts
    a field, ``%23`` writes a '#'), with error positions counting ``text`` as written."""
    scheme = _SCHEME.match(text)
    if scheme is not None:
        raise InvalidReference(
            f"'://' at character {scheme.end() - 2}: a logical name cannot hold it, and "
            "STORE://PATH needs a configured store or a store kind before it",
            ref=text,
        )
    return _parse_logical(text, 0)


# Positions in messages are 1-based characters of the reference as written, also when
# ``%XX`` escapes come first; decoding keeps, for each decoded character, where it stood
# (plus one more entry: the position just past the end).
Decoded = tuple[str, list[int]]


def _parse_logical(text: str, start: int) -> Reference:
    body, field = _split_field(text, start)
    if "?" in body:
        at = text.index("?", start) + 1
        raise InvalidReference(
            f"'?' at character {at} is not allowed in a logical name; "
            "to pin a version write STORE://PATH?version=V",
            ref=text,
        )
    name, positions = _unescape(text, body, start)
    validate_logical_name(name, ref=text, positions=positions)
    return Reference(name, field=field)


def _parse_store_ref(text: str) -> Reference:
    match = _SCHEME.match(text)
    assert match is not None  # guaranteed by looks_like_reference
    store, start = match.group(1), match.end()
    rest, field = _split_field(text, start)
    path_part, sep, query = rest.partition("?")
    path, positions = _unescape(text, path_part, start)
    if not path:
        raise InvalidReference(
            f"expected a path after '{store}://' at character {start + 1}", ref=text
        )
    _check_characters(path, positions, text)
    version = _parse_query(text, query, start + len(path_part) + 1) if sep else None
    return Reference(path, store=store, version=version, field=field)


def _split_field(text: str, start: int) -> tuple[str, str | None]:
    body, sep, raw_field = text[start:].partition("#")
    if not sep:
        return body, None
    field_start = start + len(body) + 1  # index of the field's first character
    if not raw_field:
        raise InvalidReference(
            f"expected a field name after '#' at character {field_start + 1}", ref=text
        )
    field, positions = _unescape(text, raw_field, field_start)
    _check_characters(field, positions, text, spaces=True)
    return body, field


def _parse_query(text: str, query: str, start: int) -> str:
    key, eq, value = query.partition("=")
    if key != "version" or not eq:
        raise InvalidReference(
            f"expected 'version=V' after '?' at character {start + 1}",
            ref=text,
        )
    value_start = start + len("version=")
    if "&" in value:
        raise InvalidReference(
            "only one query parameter, 'version', is allowed; "
            f"found '&' at character {value_start + value.index('&') + 1}",
            ref=text,
        )
    version, positions = _unescape(text, value, value_start)
    if not version:
        raise InvalidReference(
            f"expected a version after 'version=' at character {value_start + 1}", ref=text
        )
    _check_characters(version, positions, text)
    return version


@unchained()  # UnicodeDecodeError keeps the bytes, and the text may be a value typed by mistake
def _unescape(text: str, part: str, offset: int) -> Decoded:
    """Decode ``%XX`` escapes (UTF-8) in ``part``, which starts at index ``offset``."""
    chars: list[str] = []
    positions: list[int] = []
    index = 0
    while index < len(part):
        if part[index] != "%":
            chars.append(part[index])
            positions.append(offset + index + 1)
            index += 1
            continue
        run = _ESCAPE_RUN.match(part, index)
        if run is None:
            raise InvalidReference(
                f"expected two hex digits after '%' at character {offset + index + 1} "
                "(write '%25' for a literal '%')",
                ref=text,
            )
        try:
            decoded = bytes.fromhex(run.group().replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidReference(
                f"the escapes at character {offset + index + 1} are not UTF-8", ref=text
            ) from None
        byte = 0
        for char in decoded:
            chars.append(char)
            positions.append(offset + index + 3 * byte + 1)
            byte += len(char.encode("utf-8"))
        index = run.end()
    positions.append(offset + len(part) + 1)
    return "".join(chars), positions


def _check_characters(value: str, positions: list[int], text: str, *, spaces: bool = False) -> None:
    for index, char in enumerate(value):
        if not char.isprintable() or (char.isspace() and not (spaces and char == " ")):
            raise InvalidReference(
                f"unexpected {_describe(char)} near character {positions[index]}", ref=text
            )


def validate_logical_name(
    name: str, *, ref: str | None = None, positions: list[int] | None = None
) -> None:
    """A logical name is ``/``-separated, non-empty segments of printable characters.
    ``positions`` says where each character stood in ``ref`` (default: 1, 2, ...)."""
    shown = ref if ref is not None else name
    where = positions if positions is not None else list(range(1, len(name) + 2))
    if not name:
        raise InvalidReference(f"expected a name at character {where[0]}", ref=shown)
    index = 0
    for segment in name.split("/"):
        if not segment:
            raise InvalidReference(
                f"empty name segment at character {where[index]}: "
                "names are '/'-separated segments like 'connections/my_db'",
                ref=shown,
            )
        index += len(segment) + 1
    _check_characters(name, where, shown)


def _describe(char: str) -> str:
    return "whitespace" if char.isspace() else f"control character U+{ord(char):04X}"


def _escape(value: str, specials: str) -> str:
    out = value.replace("%", "%25")
    for char in specials:
        out = out.replace(char, f"%{ord(char):02X}")
    return out


def format_reference(ref: Reference) -> str:
    """The canonical string for ``ref``; ``parse_reference(format_reference(r)) == r``."""
    field = f"#{_escape(ref.field, ' ')}" if ref.field is not None else ""
    if ref.store is None:
        return f"{LOGICAL_PREFIX}{_escape(ref.path, '?#')}{field}"
    version = f"?version={_escape(ref.version, '#&')}" if ref.version is not None else ""
    return f"{ref.store}://{_escape(ref.path, '?#')}{version}{field}"
