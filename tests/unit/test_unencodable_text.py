"""Text that cannot be encoded as UTF-8 (lone surrogates: ``os.environ`` hands such text
over for bytes that are not UTF-8) is a clear InvalidSecretValue on the way into a store
and on the way out as bytes, never a UnicodeEncodeError carrying the whole value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from leaks import assert_no_leak

from secretbridge import InvalidSecretValue, Resolver, Secret

VALUE = "unencodable-canary-\udc80-4d1f"


def test_a_write_of_unencodable_text_is_refused_without_the_value(isolated_home: Path) -> None:
    with Resolver.from_config() as resolver, pytest.raises(InvalidSecretValue) as info:
        resolver.put("secret:app/token", VALUE)
    assert "unpaired surrogates" in str(info.value)
    assert info.value.ref == "app/token"
    assert_no_leak(VALUE, info.value)
    assert info.value.__context__ is None


def test_reveal_bytes_of_unencodable_text_is_refused_without_the_value() -> None:
    secret = Secret(VALUE, ref="env://TOKEN", store="env")
    with pytest.raises(InvalidSecretValue, match="unpaired surrogates") as info:
        secret.reveal_bytes()
    assert_no_leak(VALUE, info.value)
    assert info.value.__context__ is None


def test_the_cli_reveals_an_unencodable_env_value_as_a_clear_error(isolated_home: Path) -> None:
    cli = Path(sys.executable).with_name("secretbridge")
    env = {**os.environ, "MYTOK": "TOPSECRET-\udc80-VALUE"}
    done = subprocess.run(
        [str(cli), "get", "--reveal", "env://MYTOK"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert b"unpaired surrogates" in done.stderr
    assert b"TOPSECRET" not in done.stdout + done.stderr
