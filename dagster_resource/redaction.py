"""Log redaction for Dagster runs: Dagster masks nothing, so secretbridge does.

Every value a resource of ours resolves is registered here (:func:`register`) before
user code sees it. While at least one resource is set up in the process
(:func:`redacting`, reference-counted), two per-record hooks replace each registered value
with ``***`` wherever it appears, inside longer strings too:

- a log-record factory: the message of every ``logging`` record, formatted and redacted
  when the record is made, before any handler (Dagster's event log, its console logger,
  ``get_dagster_logger``, stdlib loggers) sees it; the exception text as well;
- ``sys.stdout``/``sys.stderr`` wrappers: ``print`` and any Python-level write. They keep
  ``fileno()``, so Dagster's compute-log capture (which ``dup2``s the file descriptors)
  still works underneath.

Filters on ``context.log`` cannot do this: Dagster builds a new log manager per step.
Output written to the file descriptors themselves (``os.write(1, ...)``, a subprocess)
bypasses both hooks; :mod:`secretbridge.dagster.compute_logs` closes that hole when
configured. Registered values stay registered for the life of the process (a value once
resolved stays a secret, and output still in flight must be redacted); only the hooks are
removed when the last resource is torn down.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TextIO, TypeVar

__all__ = [
    "MASK",
    "MIN_LENGTH",
    "RedactedError",
    "describe",
    "masking_errors",
    "redact",
    "redacting",
    "register",
]

P = ParamSpec("P")
R = TypeVar("R")

MASK = "***"
#: Shorter values are not redacted (as Airflow's ``min_length_masked_secret``): masking
#: "1" or "db" everywhere would garble every log line and hide nothing worth hiding.
MIN_LENGTH = 5

_lock = threading.RLock()
_values: set[str] = set()
_pattern: re.Pattern[str] | None = None
_installs = 0


def register(*values: str | None) -> None:
    """Redact these values from now on (None and values under :data:`MIN_LENGTH`
    characters are skipped), each also in the escaped forms it takes inside JSON and
    ``repr`` output, and each line of a multi-line value on its own."""
    global _pattern
    fresh = {form for value in values if value for form in _forms(value)} - _values
    if not fresh:
        return
    with _lock:
        _values.update(fresh)
        # Longest first: a value that contains another is replaced whole.
        ordered = sorted(_values, key=lambda v: (-len(v), v))
        _pattern = re.compile("|".join(map(re.escape, ordered)))


def _forms(value: str) -> Iterator[str]:
    if len(value) < MIN_LENGTH:
        return
    yield value
    for escaped in (json.dumps(value)[1:-1], repr(value)[1:-1]):
        if escaped != value:
            yield escaped
    # A multi-line value (a PEM key) is often written, and read back, line by line.
    for line in value.splitlines():
        if len(line.strip()) >= MIN_LENGTH:
            yield line.strip()


def redact(text: str) -> str:
    """``text`` with every registered value replaced by :data:`MASK`."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


class RedactedError(Exception):
    """Raised by :func:`masking_errors` in place of an error: the original's type name and
    message with every registered value masked. The original is not chained (Dagster
    stores the whole chain in the failure event); its traceback is kept."""


def masking_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate an asset or op (under ``@asset``) so that an error it raises reaches
    Dagster's failure events as :class:`RedactedError`, every resolved value masked::

        @asset
        @masking_errors
        def orders(secrets: SecretsResource) -> None: ...
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            failure = RedactedError(describe(error))
            traceback = error.__traceback__
        raise failure.with_traceback(traceback)  # out of the except block: no __context__

    return wrapper


def describe(error: BaseException) -> str:
    """``Type: message`` with every registered value masked; a pydantic validation error
    without the inputs it quotes (a value of the wrong type would be one)."""
    errors = getattr(error, "errors", None)
    if type(error).__name__ == "ValidationError" and callable(errors):
        found = errors(include_input=False, include_url=False, include_context=False)
        text = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'fields'}: {e['msg']}" for e in found)
    else:
        text = str(error)
    return f"{type(error).__name__}: {redact(text)}"


@contextmanager
def redacting() -> Iterator[None]:
    """Install the hooks for the duration (nested uses share one installation)."""
    install()
    try:
        yield
    finally:
        uninstall()


def install() -> None:
    global _installs
    with _lock:
        _installs += 1
        if _installs > 1:
            return
        logging.setLogRecordFactory(_RedactingFactory(logging.getLogRecordFactory()))
        sys.stdout = RedactingStream(sys.stdout)  # type: ignore[assignment]
        sys.stderr = RedactingStream(sys.stderr)  # type: ignore[assignment]


def uninstall() -> None:
    """Undo one :func:`install`; the last one removes the hooks, unless something else
    has wrapped them since (then ours stay in place, still redacting, so that the other
    hook's chain is not cut)."""
    global _installs
    with _lock:
        if _installs == 0:
            return
        _installs -= 1
        if _installs:
            return
        factory = logging.getLogRecordFactory()
        if isinstance(factory, _RedactingFactory):
            logging.setLogRecordFactory(factory.wrapped)
        if isinstance(sys.stdout, RedactingStream):
            sys.stdout = sys.stdout.wrapped
        if isinstance(sys.stderr, RedactingStream):
            sys.stderr = sys.stderr.wrapped


def installed() -> bool:
    return _installs > 0


class _RedactingFactory:
    """A log-record factory: the wrapped one's record, its message (and exception text)
    formatted and redacted at once, so that no handler or formatter sees the value."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.wrapped(*args, **kwargs)
        if _pattern is None:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a bad format is the handler's to report
            return record
        redacted = redact(message)
        if redacted != message or not isinstance(record.msg, str):
            record.msg, record.args = redacted, ()
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record


class RedactingStream:
    """A text stream that redacts each write and hands everything else (``fileno``,
    ``isatty``, ``encoding``, ``buffer``) to the stream it wraps. (Writes to ``buffer``,
    bytes, go around it, as file-descriptor writes do.)"""

    def __init__(self, wrapped: TextIO) -> None:
        self.wrapped = wrapped

    def write(self, text: str) -> int:
        self.wrapped.write(redact(text))
        return len(text)  # what the caller gave: a shorter count would make it retry

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.wrapped.flush()

    def fileno(self) -> int:
        return self.wrapped.fileno()

    def isatty(self) -> bool:
        return self.wrapped.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)
