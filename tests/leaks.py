"""The one leak check every test uses: a planted secret must not show anywhere a value
could escape by accident."""

from __future__ import annotations

import traceback
from collections.abc import Iterable


def assert_no_leak(secrets: str | Iterable[str], *things: object) -> None:
    """Neither ``str`` nor ``repr`` of any of ``things``, nor (for an exception) its
    formatted chain, args and attributes, holds any of ``secrets``; nor does any exception
    in its ``__cause__``/``__context__`` chain, even one the traceback hides (``from None``
    hides the context from the traceback but keeps it for any code that walks it)."""
    wanted = (secrets,) if isinstance(secrets, str) else tuple(secrets)
    for thing in _with_chains(things):
        texts = [str(thing), repr(thing)]
        if isinstance(thing, BaseException):
            texts.append("".join(traceback.format_exception(thing)))
            texts.append(repr(thing.args))
            texts.extend(repr(value) for value in vars(thing).values())
        for text in texts:
            for secret in wanted:
                assert secret not in text, f"a secret leaked through {type(thing).__name__}"


def _with_chains(things: Iterable[object]) -> list[object]:
    found: list[object] = []
    pending = list(things)
    while pending:
        thing = pending.pop()
        if any(thing is seen for seen in found):
            continue
        found.append(thing)
        if isinstance(thing, BaseException):
            pending.extend(e for e in (thing.__cause__, thing.__context__) if e is not None)
    return found


#: The value tests plant: it must never show in an error, a log line or a repr.
CANARY = "canary-sb-7e41-NEVER-SHOW-THIS"


def assert_clean(*things: object) -> None:
    """``assert_no_leak`` for the shared :data:`CANARY`."""
    assert_no_leak(CANARY, *things)
