"""Logical names and each store's physical names: one convention, mapped per store kind.

A logical name is ``/``-separated segments (``connections/snowflake_default``). A
:class:`NamingRule` maps it to the name a store keeps (prefix, separator, case, allowed
characters) and back. The way back is what listing needs: for every physical name ``p``
that a rule can produce, ``rule.to_physical(rule.to_logical(p)) == p``, so a listed name
always leads back to the same secret. Rules that fold case or characters (env, Azure)
cannot recover the original spelling; they return a canonical one instead.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigError, InvalidReference
from .refs import validate_logical_name

if TYPE_CHECKING:
    from .stores.base import Store

Case = Literal["preserve", "upper", "lower"]
_PRINTABLE = r"^\s\x00-\x1f\x7f"  # a negated class body: anything printable but whitespace


@dataclass(frozen=True)
class NamingRule:
    """How one store kind spells logical names.

    ``namespaces`` maps a first logical segment to a physical prefix that replaces it
    (``connections`` -> ``AIRFLOW_CONN_``); other names get ``prefix``. ``replace`` maps
    characters the store does not allow to ones it does, before ``allowed`` (a regex
    character-class body) is checked. ``pattern``, if set, must match the whole physical
    name (Kubernetes' DNS-1123 rule, environment variable names).
    """

    separator: str = "/"
    prefix: str = ""
    namespaces: Mapping[str, str] = field(default_factory=dict)
    case: Case = "preserve"
    replace: Mapping[str, str] = field(default_factory=dict)
    allowed: str = _PRINTABLE
    allowed_description: str = "printable characters other than whitespace"
    pattern: str | None = None
    max_length: int | None = None

    # Compiled on first use: a dozen rules are built at import time, few are used.
    @cached_property
    def _allowed_re(self) -> re.Pattern[str]:
        return re.compile(f"[{self.allowed}]")

    @cached_property
    def _pattern_re(self) -> re.Pattern[str] | None:
        return re.compile(self.pattern) if self.pattern else None

    def to_physical(self, name: str, *, store: str | None = None) -> str:
        """The physical name for logical ``name``; raises InvalidReference if the store
        cannot spell it, naming the character and the store's rule."""
        validate_logical_name(name)
        segments = name.split("/")
        head = self.namespaces.get(segments[0]) if len(segments) > 1 else None
        if head is None:
            head = self.prefix
        else:
            segments = segments[1:]
        body = self.separator.join(self._spell(segment) for segment in segments)
        self._check(name, body, store)
        physical = head + body
        if self.max_length is not None and len(physical) > self.max_length:
            raise InvalidReference(
                f"physical name {physical!r} is {len(physical)} characters long; "
                f"the store allows at most {self.max_length}",
                ref=name,
                store=store,
            )
        if self._pattern_re is not None and not self._pattern_re.fullmatch(physical):
            raise InvalidReference(
                f"physical name {physical!r} does not match the store's naming rule "
                f"{self.pattern!r}",
                ref=name,
                store=store,
            )
        return physical

    def to_logical(self, physical: str) -> str | None:
        """The canonical logical name that maps to ``physical``, or None if this rule
        would never produce ``physical`` (it is outside the prefix, or spelled otherwise)."""
        for namespace, head in sorted(self.namespaces.items(), key=lambda kv: -len(kv[1])):
            if physical.startswith(head) and len(physical) > len(head):
                body = physical[len(head) :]
                # An orchestrator id after a namespace is one segment when that round-trips.
                for candidate in (f"{namespace}/{body}", self._join(namespace, body)):
                    if self._maps_back(candidate, physical):
                        return candidate
        if physical.startswith(self.prefix) and len(physical) > len(self.prefix):
            candidate = self._join(None, physical[len(self.prefix) :])
            if self._maps_back(candidate, physical):
                return candidate
        return None

    def _join(self, namespace: str | None, body: str) -> str:
        # Split on the separator; a run of separators (a segment that ended in one) is
        # glued back onto its segment so that joining again gives the same body.
        segments: list[str] = []
        carry = ""
        for piece in body.split(self.separator):
            if piece:
                segments.append(carry + piece)
                carry = ""
            elif segments:
                segments[-1] += self.separator
            else:
                carry += self.separator
        if carry:  # nothing but separators: one segment that is the whole body
            segments.append(body)
        return "/".join(([namespace] if namespace else []) + segments)

    def _maps_back(self, candidate: str, physical: str) -> bool:
        try:
            return self.to_physical(candidate) == physical
        except InvalidReference:
            return False

    def _spell(self, segment: str) -> str:
        for char, substitute in self.replace.items():
            segment = segment.replace(char, substitute)
        if self.case == "upper":
            return segment.upper()
        if self.case == "lower":
            return segment.lower()
        return segment

    def _check(self, name: str, body: str, store: str | None) -> None:
        for char in body:
            if char not in self.separator and not self._allowed_re.match(char):
                raise InvalidReference(
                    f"character {char!r} cannot be used in this store's names "
                    f"({self.allowed_description})",
                    ref=name,
                    store=store,
                )


#: The rule of a store kind that takes any printable name as is (local, vault, custom).
PLAIN = NamingRule()

_AIRFLOW_NAMESPACES = ("connections", "variables", "config")


def airflow_preset(rule: NamingRule, prefix: str, sep: str, **changes: Any) -> NamingRule:
    """``rule`` with the namespaces of Airflow's provider backends: ``connections/X`` ->
    ``{prefix}connections{sep}X`` (likewise variables and config), plus ``changes``."""
    namespaces = {ns: f"{prefix}{ns}{sep}" for ns in _AIRFLOW_NAMESPACES}
    return replace(rule, namespaces=namespaces, **changes)


@dataclass(frozen=True)
class NamingSettings:
    """A store's ``naming`` table: a preset of its kind, then overrides."""

    preset: str | None = None
    prefix: str | None = None
    separator: str | None = None
    case: Case | None = None
    namespaces: dict[str, str] | None = None


def rule_for(
    store: type[Store], settings: Mapping[str, Any] | None = None, *, where: str = ""
) -> NamingRule:
    """The naming rule for a store of class ``store``: its ``default_naming``, or the
    preset its ``naming_presets`` names, then overrides (``prefix``, ``separator``,
    ``case``, ``namespaces``) from the store's ``naming`` settings. Errors name the key
    after ``where`` (``stores.NAME.naming.``)."""
    from .config import validate

    chosen = validate(settings, NamingSettings, where=where) if settings else NamingSettings()
    base = store.default_naming
    if chosen.preset is not None:
        preset = store.naming_presets.get(chosen.preset)
        if preset is None:
            known = ", ".join(sorted(store.naming_presets)) or "none"
            raise ConfigError(
                f"{where}preset: the {chosen.preset!r} preset has no rule for kind "
                f"{store.kind!r} (the kind's presets: {known})"
            )
        base = preset
    if chosen.separator == "":
        raise ConfigError(f"{where}separator: must not be empty")
    overrides = {
        key: value
        for key in ("prefix", "separator", "case", "namespaces")
        if (value := getattr(chosen, key)) is not None
    }
    return replace(base, **overrides)


# ---------------------------------------------------------------- bulk loading helpers


def dotted_key(name: str, strip: str = "") -> str:
    """``SNOWFLAKE/TRANSFORM/PASSWORD`` -> ``SNOWFLAKE.TRANSFORM.PASSWORD``, after removing
    the logical prefix ``strip`` (whole segments only)."""
    stripped = strip.strip("/")
    if stripped and (name == stripped or name.startswith(stripped + "/")):
        name = name[len(stripped) :].lstrip("/")
    return name.replace("/", ".")


def expand_json(key: str, text: str) -> dict[str, str]:
    """A secret whose value is a JSON object becomes one entry per leaf, with dotted keys:
    ``{"user": "u", "pw": {"a": "x"}}`` under ``DB`` gives ``DB.user`` and ``DB.pw.a``.
    Anything else (not JSON, or a JSON scalar or list) stays one entry."""
    try:
        document = json.loads(text)
    except ValueError:
        return {key: text}
    if not isinstance(document, dict) or not document:
        return {key: text}
    flat: dict[str, str] = {}
    _flatten(key, document, flat)
    return flat


def _flatten(key: str, node: Any, out: dict[str, str]) -> None:
    if isinstance(node, dict) and node:
        for child, value in node.items():
            _flatten(f"{key}.{child}" if key else str(child), value, out)
    else:
        out[key] = node if isinstance(node, str) else json.dumps(node)


@dataclass(frozen=True)
class Selection:
    """Which names :meth:`Resolver.load` returns and how it keys them.

    ``prefix`` selects logical names (by whole segments if it ends in '/');
    ``include``/``exclude`` are glob patterns on the dotted keys;
    ``strip_prefix`` drops the prefix from the keys; ``expand_json`` turns JSON object
    secrets into one key per leaf.
    """

    prefix: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    strip_prefix: bool = True
    expand_json: bool = False

    @classmethod
    def of(cls, selection: str | Selection) -> Selection:
        return selection if isinstance(selection, Selection) else cls(prefix=selection)

    def key_for(self, name: str) -> str:
        return dotted_key(name, self.prefix if self.strip_prefix else "")

    def wants(self, key: str) -> bool:
        if self.include and not _any_match(key, self.include):
            return False
        return not _any_match(key, self.exclude)


def _any_match(key: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)
