"""Copy the connections and variables of Airflow's metastore into a secretbridge store.

Names are the adapters' shared ones: connection ``X`` is ``<namespaces.connections>/X``,
stored in Airflow's JSON form (:class:`secretbridge.Connection`); variable ``K`` is
``<namespaces.variables>/K``. The metastore is changed (its connection replaced by
references, or the item deleted) only after the store's copy was read back and found
equal; an item already in the store with the same content is not written again.

With references, a connection's password becomes ``secret:<name>#password`` (a key of
the stored JSON), and each string value of its JSON ``extra`` becomes
``secret:<name>/extra#KEY``: the core's ``#FIELD`` picks a top-level key, and the stored
connection's ``extra`` is nested, so those values are also kept as one JSON object of
their own under ``<name>/extra`` (no Airflow connection id contains '/', so that name
never shadows a connection). An extra that is not a JSON object, or holds text inside a
nested value, is refused: no reference could replace that text. Before the metastore is
touched, every reference it is about to hold is resolved through the configured chain and
compared with the value it replaces: a route or chain that would find another store stops
the replacement.

Nothing here prints or raises a value: outcomes carry names, stores and actions only.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from secretbridge import (
    Connection,
    InvalidReference,
    InvalidSecretValue,
    Reference,
    Resolver,
    Secret,
    SecretNotFound,
    format_reference,
)


@dataclass(frozen=True)
class Options:
    store: str
    apply: bool = False  # False: a dry run, nothing is written anywhere
    replace_with_references: bool = False
    delete: bool = False
    overwrite: bool = False


@dataclass(frozen=True)
class Outcome:
    """What happened to one item; ``ok`` is False for a conflict or a failed check."""

    kind: str  # "connection" or "variable"
    id: str
    name: str  # the logical name
    store: str
    physical: str | None
    action: str  # would-copy, copied, unchanged, would-overwrite, overwritten, conflict, ...
    metastore: str  # kept, would-replace, replaced, would-delete, deleted
    ok: bool = True
    detail: str | None = None

    def line(self) -> str:
        where = f"store {self.store!r}" + (f" as {self.physical!r}" if self.physical else "")
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.kind} {self.id}: {self.action}, {where}; metastore: {self.metastore}{detail}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Refused(Exception):
    """An item is left as it is; the message names why, never a value."""

    def __init__(self, action: str, detail: str) -> None:
        super().__init__(detail)
        self.action = action
        self.detail = detail


class Migration:
    """Decides and does, item by item; the metastore is reached through callbacks so that
    this class holds no Airflow import (the CLI passes ORM-backed ones)."""

    def __init__(self, resolver: Resolver, options: Options) -> None:
        self.resolver = resolver
        self.options = options
        self.target = resolver.store(options.store)  # a ConfigError names an unknown store
        self.namespaces = resolver.config.namespaces

    # ---------------------------------------------------------------- connections

    def connection(
        self,
        conn_id: str,
        conn: Connection,
        replace: Callable[[str | None, str | None], None],
        delete: Callable[[], None],
    ) -> Outcome:
        """``replace(password, extra)`` stores the referenced form in the metastore;
        ``delete()`` removes the connection from it."""
        name = f"{self.namespaces.connections}/{conn_id}"
        outcome = _Builder("connection", conn_id, name, self.options.store)
        try:
            outcome.physical = self._physical(name)
            if self.options.replace_with_references:
                _check_extra_can_be_referenced(conn)
            if self._is_replaced_form(name, conn):
                if not self.options.delete:
                    return outcome.done(
                        "already migrated", "kept", "the metastore holds references to the store"
                    )
                if not self.options.apply:
                    return outcome.done("already migrated", "would-delete")
                self._check_resolvable(conn)
                delete()
                return outcome.done("already migrated", "deleted")
            action = self._copy(name, outcome.physical, conn.to_json(), _same_connection)
            if self.options.replace_with_references:
                password, extra, copies = self._referenced_form(name, conn)
                if password == conn.password and extra == conn.extra:
                    return outcome.done(action, "kept", "no literal password or extra value")
                if copies is not None:
                    extra_name = f"{name}/extra"
                    extra_physical = self._physical(extra_name)
                    part = f" as {extra_physical!r}"
                    self._copy(extra_name, extra_physical, copies, _same_json, part)
                if not self.options.apply:
                    return outcome.done(action, "would-replace")
                self._verify_references(conn, password, extra)
                replace(password, extra)
                return outcome.done(action, "replaced", "password and extra are references")
            return self._delete_or_keep(outcome, action, delete)
        except _Refused as refused:
            return outcome.refused(refused)

    def refused_connection(self, conn_id: str, detail: str) -> Outcome:
        """A connection left as it is before it was read (``detail`` names why)."""
        name = f"{self.namespaces.connections}/{conn_id}"
        outcome = _Builder("connection", conn_id, name, self.options.store)
        with contextlib.suppress(_Refused):
            outcome.physical = self._physical(name)
        return outcome.refused(_Refused("refused", detail))

    def _delete_or_keep(self, outcome: Outcome, action: str, delete: Callable[[], None]) -> Outcome:
        """The metastore's item, once its copy is verified: deleted if asked, else kept."""
        if not self.options.delete:
            return outcome.done(action, "kept")
        if not self.options.apply:
            return outcome.done(action, "would-delete")
        delete()
        return outcome.done(action, "deleted")

    def _is_replaced_form(self, name: str, conn: Connection) -> bool:
        """Whether a field holds the very reference this migration writes (a re-run after
        --replace-with-references): the store then holds the values, the metastore not."""
        if conn.password == _ref(name, "password"):
            return True
        extra = conn.extra_dejson
        return any(
            isinstance(value, str) and value == _ref(f"{name}/extra", key)
            for key, value in extra.items()
        )

    def _referenced_form(
        self, name: str, conn: Connection
    ) -> tuple[str | None, str | None, str | None]:
        """(password, extra) as the metastore will hold them, and the JSON object of extra
        values to store under ``<name>/extra`` (None if none). A field that already is a
        reference stays as typed: replacing it would hide the store it points to."""
        password = conn.password
        if password and not self._is_reference("password", password):
            password = _ref(name, "password")
        document = conn.extra_dejson
        literal = {
            key: value
            for key, value in document.items()
            if isinstance(value, str) and value and not self._is_reference(f"extra.{key}", value)
        }
        if not literal:
            return password, conn.extra, None
        replaced = {k: _ref(f"{name}/extra", k) if k in literal else v for k, v in document.items()}
        return password, json.dumps(replaced), json.dumps(literal)

    def _is_reference(self, field: str, text: str) -> bool:
        try:
            return self.resolver.parse(text) is not None
        except InvalidReference as error:
            raise _Refused(
                "refused",
                f"field {field!r} starts like a reference but is malformed "
                f"({type(error).__name__}); fix it in Airflow first",
            ) from None

    def _verify_references(self, conn: Connection, password: str | None, extra: str | None) -> None:
        """Resolve each reference about to be written, as the secrets backend will, and
        compare it with the value it replaces."""
        pairs = [("password", password, conn.password)]
        # ``extra`` is either the metastore's own (a JSON object, or empty: checked first)
        # or ours; extra_dejson never raises, so no error can carry the metastore's text.
        new_extra = Connection(extra=extra).extra_dejson
        pairs += [(f"extra.{k}", new_extra.get(k), v) for k, v in conn.extra_dejson.items()]
        for field, new, old in pairs:
            if new != old and isinstance(new, str):
                resolved = self._resolve(field, new)
                if resolved.reveal() != old:
                    where = f"store {resolved.store!r}" if resolved.store else "elsewhere"
                    raise _Refused(
                        "read-back failed",
                        f"the reference for field {field!r} resolves to another value ({where})",
                    )

    def _check_resolvable(self, conn: Connection) -> None:
        """Each reference a connection holds resolves (before deleting one the metastore
        keeps as references: the values must be in the store)."""
        fields = [("password", conn.password)]
        fields += [(f"extra.{k}", v) for k, v in conn.extra_dejson.items()]
        for field, text in fields:
            if isinstance(text, str) and self._is_reference(field, text):
                self._resolve(field, text)

    def _resolve(self, field: str, ref: str) -> Secret:
        try:
            return self.resolver.get(ref)
        except (SecretNotFound, InvalidSecretValue) as error:
            raise _Refused(
                "read-back failed",
                f"the reference for field {field!r} does not resolve ({type(error).__name__})",
            ) from None

    # ---------------------------------------------------------------- variables

    def variable(self, key: str, value: str, delete: Callable[[], None]) -> Outcome:
        name = f"{self.namespaces.variables}/{key}"
        outcome = _Builder("variable", key, name, self.options.store)
        try:
            outcome.physical = self._physical(name)
            action = self._copy(name, outcome.physical, value, _same_text)
            if self.options.replace_with_references:
                return outcome.done(
                    action, "kept", "Airflow does not resolve references in variables"
                )
            return self._delete_or_keep(outcome, action, delete)
        except _Refused as refused:
            return outcome.refused(refused)

    # ---------------------------------------------------------------- the store

    def _physical(self, name: str) -> str:
        try:
            return self.target.naming.to_physical(name, store=self.target.name)
        except InvalidReference as error:
            raise _Refused("refused", error.message) from None

    def _copy(
        self,
        name: str,
        physical: str,
        value: str,
        same: Callable[[str, str], bool],
        part: str = "",
    ) -> str:
        """Write ``value`` unless the store already holds the same; read it back. Returns
        the action; raises _Refused for a conflict or a read-back that differs. ``part``
        names a secret other than the item's own in those messages."""
        existing = self._read(physical)
        if existing is not None and same(existing, value):
            return "unchanged"
        if existing is not None and not self.options.overwrite:
            raise _Refused(
                "conflict", f"the store holds another value{part}; --overwrite replaces it"
            )
        if not self.options.apply:
            return "would-overwrite" if existing is not None else "would-copy"
        self.resolver.put(name, value, store=self.target.name)
        back = self._read(physical)
        if back is None or not same(back, value):
            raise _Refused("read-back failed", f"the store did not return what was written{part}")
        return "overwritten" if existing is not None else "copied"

    def _read(self, physical: str) -> str | None:
        ref = Reference(physical, store=self.target.name)
        try:
            secret = self.resolver.get(ref)
        except SecretNotFound:
            return None
        if secret.is_binary:
            return secret.reveal_bytes().decode("utf-8", "replace")  # never equal: a conflict
        return secret.reveal()


class _Builder:
    def __init__(self, kind: str, item: str, name: str, store: str) -> None:
        self.kind, self.item, self.name, self.store = kind, item, name, store
        self.physical: str | None = None

    def done(self, action: str, metastore: str, detail: str | None = None) -> Outcome:
        return Outcome(
            self.kind, self.item, self.name, self.store, self.physical, action, metastore,
            True, detail,
        )  # fmt: skip

    def refused(self, refused: _Refused) -> Outcome:
        return Outcome(
            self.kind, self.item, self.name, self.store, self.physical, refused.action, "kept",
            False, refused.detail,
        )  # fmt: skip


def _check_extra_can_be_referenced(conn: Connection) -> None:
    """Refuse a connection whose extra holds text a reference could not replace (the
    backend resolves a reference only as a top-level string value of a JSON object):
    replacing the rest with references would leave that text in clear in the metastore."""
    if conn.extra and _json_object(conn.extra) is None:
        raise _Refused(
            "refused",
            "extra is not a JSON object, so no reference can replace it and the metastore "
            "would keep it in clear; make it a JSON object in Airflow first, or use --delete",
        )
    for key, value in conn.extra_dejson.items():
        if isinstance(value, dict | list) and _holds_text(value):
            raise _Refused(
                "refused",
                f"extra key {key!r} holds text inside a nested value, which no reference can "
                "replace, so the metastore would keep it in clear; make it a top-level key "
                "in Airflow first, or use --delete",
            )


def _json_object(text: str) -> dict[str, Any] | None:
    """``text`` as a JSON object, or None; no error escapes (its message quotes the text)."""
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _holds_text(value: object) -> bool:
    if isinstance(value, str):
        return bool(value)
    if isinstance(value, dict):
        return any(_holds_text(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_text(v) for v in value)
    return False


def _ref(name: str, field: str) -> str:
    return format_reference(Reference(name, field=field))


def _same_text(a: str, b: str) -> bool:
    return a == b


def _same_json(a: str, b: str) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False


def _same_connection(stored: str, wanted: str) -> bool:
    try:
        return Connection.parse(stored).to_dict() == Connection.parse(wanted).to_dict()
    except InvalidSecretValue:
        return False


def summary(outcomes: list[Outcome]) -> str:
    """Counts by action, for the last line ("" for none)."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    return ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
