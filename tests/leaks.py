"""The one leak check every test uses: a planted secret must not show anywhere a value
could escape by accident."""

from __future__ import annotations

import traceback
from collections.abc import Iterable


def assert_no_leak(secrets: str | Iterable[str], *things: object) -> None:
    """Neither ``str`` nor ``repr`` of any of ``things``, nor (for an exception) its
    formatted chain, args and attributes, holds any of ``secrets``."""
    wanted = (secrets,) if isinstance(secrets, str) else tuple(secrets)
    for thing in things:
        texts = [str(thing), repr(thing)]
        if isinstance(thing, BaseException):
            texts.append("".join(traceback.format_exception(thing)))
            texts.append(repr(thing.args))
            texts.extend(repr(value) for value in vars(thing).values())
        for text in texts:
            for secret in wanted:
                assert secret not in text, f"a secret leaked through {type(thing).__name__}"


#: The value tests plant: it must never show in an error, a log line or a repr.
CANARY = "canary-sb-7e41-NEVER-SHOW-THIS"


def assert_clean(*things: object) -> None:
    """``assert_no_leak`` for the shared :data:`CANARY`."""
    assert_no_leak(CANARY, *things)
