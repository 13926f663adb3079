"""The redaction hooks on their own: what a registered value is replaced in, the forms it
is found in, and how the hooks are installed and removed (reference-counted, without
cutting a hook installed after ours). Real runs are in test_resources.py."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator

import pytest

from secretbridge.dagster import redaction

VALUE = 'rd-canary-"quoted"\\back-4e1b'
PLAIN = "rd-plain-canary-90af"


@pytest.fixture
def hooks() -> Iterator[None]:
    """The hooks installed by the test (in its body: pytest's capture swaps sys.stdout
    between setup and call); whatever the test did, removed after it."""
    factory, stdout, stderr = logging.getLogRecordFactory(), sys.stdout, sys.stderr
    redaction.register(VALUE, PLAIN)
    yield
    while redaction.installed():
        redaction.uninstall()
    logging.setLogRecordFactory(factory)
    sys.stdout, sys.stderr = stdout, stderr


def test_values_are_replaced_inside_longer_text_and_in_their_escaped_forms() -> None:
    redaction.register(VALUE, PLAIN)
    assert redaction.redact(f"a {PLAIN}b") == "a ***b"
    assert redaction.redact(repr({"k": VALUE})) == "{'k': '***'}"
    assert redaction.redact(json.dumps({"k": VALUE})) == '{"k": "***"}'
    assert redaction.redact("nothing here") == "nothing here"


def test_short_values_and_none_are_not_registered() -> None:
    redaction.register(None, "", "abcd")
    assert redaction.redact("abcd is a common word") == "abcd is a common word"


def test_a_value_containing_another_is_replaced_whole() -> None:
    redaction.register("rd-inner-7", "rd-inner-7-and-outer")
    assert redaction.redact("x rd-inner-7-and-outer y") == "x *** y"


def test_log_records_are_redacted_when_made_args_and_exception_text_too(hooks: None) -> None:
    redaction.install()
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(self.format(record))

    logger = logging.getLogger("rd.test")
    logger.addHandler(handler := Keep())
    logger.propagate = False
    try:
        logger.warning("password %s in args", PLAIN)
        logger.warning({"not": "a string", "but": PLAIN})
        try:
            raise ValueError(f"connect failed with {PLAIN}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert seen[0] == "password *** in args"
    assert "***" in seen[1]
    assert "ValueError: connect failed with ***" in seen[2]
    assert all(PLAIN not in line for line in seen), seen


def test_stdout_and_stderr_writes_are_redacted_and_keep_the_file_descriptor(
    hooks: None,
) -> None:
    redaction.install()
    assert isinstance(sys.stdout, redaction.RedactingStream)
    target = io.StringIO()
    wrapper = redaction.RedactingStream(target)
    print(f"the value {PLAIN}!", file=wrapper)
    wrapper.writelines([PLAIN, "\n"])
    assert target.getvalue() == "the value ***!\n***\n"
    with open(os.devnull, "w") as devnull:
        assert redaction.RedactingStream(devnull).fileno() == devnull.fileno()


def test_hooks_are_reference_counted(hooks: None) -> None:
    redaction.install()
    redaction.install()  # a second resource of the run
    redaction.uninstall()
    assert isinstance(logging.getLogRecordFactory(), redaction._RedactingFactory)
    assert isinstance(sys.stdout, redaction.RedactingStream)
    redaction.uninstall()  # the last one
    assert not isinstance(logging.getLogRecordFactory(), redaction._RedactingFactory)
    assert not isinstance(sys.stdout, redaction.RedactingStream)
    assert not isinstance(sys.stderr, redaction.RedactingStream)
    redaction.uninstall()  # one too many: harmless
    assert not redaction.installed()


def test_a_hook_installed_after_ours_is_not_cut_off(hooks: None) -> None:
    redaction.install()
    ours = logging.getLogRecordFactory()
    calls: list[str] = []

    def theirs(*args: object, **kwargs: object) -> logging.LogRecord:
        calls.append("theirs")
        return ours(*args, **kwargs)  # type: ignore[arg-type]

    logging.setLogRecordFactory(theirs)
    redaction.uninstall()
    assert logging.getLogRecordFactory() is theirs, "their hook stays, chained to ours"
    record = logging.getLogger("rd.chain").makeRecord(
        "rd.chain", logging.INFO, "f", 1, "v=%s", (PLAIN,), None
    )
    assert calls == ["theirs"] and record.getMessage() == "v=***", "ours still redacts"


def test_each_line_of_a_multi_line_value_is_redacted_on_its_own() -> None:
    """A PEM key printed (or read back) line by line: no line of it shows."""
    key = "-----BEGIN KEY-----\nrd-pem-line-one-5c1d\r\nrd-pem-line-two-8e0a\n-----END KEY-----"
    redaction.register(key)
    for line in key.splitlines():
        assert redaction.redact(f"> {line.strip()}\n") == "> ***\n"


def test_masking_errors_raises_unchained_with_the_original_traceback() -> None:
    redaction.register(PLAIN)

    @redaction.masking_errors
    def connect(password: str) -> None:
        raise ConnectionError(f"refused {password}")

    with pytest.raises(redaction.RedactedError) as caught:
        connect(PLAIN)
    error = caught.value
    assert str(error) == "ConnectionError: refused ***"
    assert error.__cause__ is None and error.__context__ is None
    frames = [frame.name for frame in traceback.extract_tb(error.__traceback__)]
    assert "connect" in frames, "the original traceback is kept"
    assert connect.__name__ == "connect", "Dagster reads the wrapped function's signature"
