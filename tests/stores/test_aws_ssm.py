"""``aws-ssm`` beyond the contract: GetParameters batches measured in real API calls,
SecureString decryption, ``name:version`` and labels, path listing versus prefix
listing, text-only values, throttling and timeouts. The real boto3 client talks to
moto (``moto_server``); faults come from a reverse proxy in front of it."""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from functools import partial
from typing import Any

import pytest
from aws_kit import Calls, MakeResolver, ref, store_in, without_botocore_filters
from leaks import CANARY

from dev_env.aws import MotoServer
from dev_env.faultproxy import FaultProxy
from secretbridge import (
    InvalidReference,
    InvalidSecretValue,
    SecretNotFound,
    StoreUnavailable,
)
from secretbridge.stores.aws_ssm import ParameterStore


@pytest.fixture
def ssm(moto_server: MotoServer) -> Any:
    return moto_server.client("ssm")


@pytest.fixture
def ns() -> str:
    return f"/t{uuid.uuid4().hex[:10]}"


def seed(ssm: Any, name: str, value: str, kind: str = "SecureString") -> str:
    return str(ssm.put_parameter(Name=name, Value=value, Type=kind, Overwrite=True)["Version"])


store_of = partial(store_in, ParameterStore)


def test_50_parameters_resolve_in_5_calls(aws_resolver: MakeResolver, ssm: Any, ns: str) -> None:
    names = [f"{ns}/p{i:02d}" for i in range(50)]
    for i, name in enumerate(names):
        seed(ssm, name, f"v{i}-{CANARY}")
    resolver = aws_resolver("aws-ssm")
    calls = Calls(store_of(resolver).client)

    got = resolver.get_many([f"secret:{name.lstrip('/')}" for name in names])
    assert [s.reveal() for s in got.values()] == [f"v{i}-{CANARY}" for i in range(50)]
    assert {s.name for s in got.values()} == set(names)
    assert calls.count() == Counter({"GetParameters": 5}), calls.count()
    assert all(len(p["Names"]) <= 10 and p["WithDecryption"] for _, p in calls.params)


def test_invalid_parameters_are_not_found_per_name(
    aws_resolver: MakeResolver, ssm: Any, ns: str
) -> None:
    seed(ssm, f"{ns}/a", f"a-{CANARY}")
    seed(ssm, f"{ns}/b", f"b-{CANARY}", kind="String")
    store = store_of(aws_resolver("aws-ssm"))
    out = store.get_many([f"{ns}/a", f"{ns}/nope", f"{ns}/b", f"{ns}/a"])
    assert out[f"{ns}/a"].value == f"a-{CANARY}"  # type: ignore[union-attr]
    assert out[f"{ns}/b"].value == f"b-{CANARY}"  # type: ignore[union-attr]
    missing = out[f"{ns}/nope"]
    assert isinstance(missing, SecretNotFound) and missing.ref == f"{ns}/nope"
    assert CANARY not in str(missing)


def test_securestring_is_decrypted_and_versions_and_labels_select(
    aws_resolver: MakeResolver, ssm: Any, ns: str
) -> None:
    name = f"{ns}/db/password"
    versions = [seed(ssm, name, f"pw{i}-{CANARY}") for i in range(3)]
    assert versions == ["1", "2", "3"]
    ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["blue"])
    resolver = aws_resolver("aws-ssm")
    store = store_of(resolver)
    calls = Calls(store.client)

    assert store.get(name).value == f"pw2-{CANARY}"
    assert store.get(name, "2").value == f"pw1-{CANARY}"
    assert store.get(name, "blue").version == "1"
    assert resolver.get(ref(name, "1")).reveal() == f"pw0-{CANARY}"
    assert [p["Name"] for _, p in calls.params] == [name, f"{name}:2", f"{name}:blue", f"{name}:1"]
    assert all(p["WithDecryption"] for _, p in calls.params)
    with pytest.raises(SecretNotFound, match="version '9'"):
        store.get(name, "9")
    with pytest.raises(InvalidReference, match="version number or a parameter label"):
        store.get(name, "1:2")
    assert store.versions(name) == ["1", "2", "3"]


def test_path_listing_and_prefix_listing(aws_resolver: MakeResolver, ssm: Any, ns: str) -> None:
    for suffix in ("app/a", "app/b/c", "app2", "appx.y", "other/app"):
        seed(ssm, f"{ns}/{suffix}", "x", kind="String")
    store = store_of(aws_resolver("aws-ssm"))
    calls = Calls(store.client)

    assert store.list_names(f"{ns}/app/") == [f"{ns}/app/a", f"{ns}/app/b/c"]
    assert set(calls.count()) == {"GetParametersByPath"}
    assert calls.params[0][1] == {"Path": f"{ns}/app", "Recursive": True, "WithDecryption": False}

    calls.calls.clear()
    assert store.list_names(f"{ns}/app") == [
        f"{ns}/app/a",
        f"{ns}/app/b/c",
        f"{ns}/app2",
        f"{ns}/appx.y",
    ]
    assert set(calls.count()) == {"DescribeParameters"}


def test_path_listing_follows_pages(aws_resolver: MakeResolver, ssm: Any, ns: str) -> None:
    names = sorted(f"{ns}/many/p{i:02d}" for i in range(25))
    for name in names:
        seed(ssm, name, "x", kind="String")
    store = store_of(aws_resolver("aws-ssm"))
    calls = Calls(store.client)
    assert store.list_names(f"{ns}/many/") == names
    assert calls.count()["GetParametersByPath"] >= 3, "pages of 10"
    calls.calls.clear()
    assert store.list_names(f"{ns}/many") == names
    assert calls.count()["DescribeParameters"] >= 1


def test_put_writes_securestring_versions_and_refuses_bytes(
    aws_resolver: MakeResolver, ssm: Any, ns: str
) -> None:
    store = store_of(aws_resolver("aws-ssm"))
    name = f"{ns}/written"
    assert store.put(name, f"one-{CANARY}") == "1"
    assert store.put(name, f"two-{CANARY}") == "2"
    described = ssm.get_parameter(Name=name)["Parameter"]
    assert described["Type"] == "SecureString"
    with pytest.raises(InvalidSecretValue, match="text only") as info:
        store.put(name, CANARY.encode())
    assert CANARY not in str(info.value)
    store.delete(name)
    with pytest.raises(SecretNotFound):
        store.delete(name)


def test_a_refused_write_does_not_echo_the_value(aws_resolver: MakeResolver, ns: str) -> None:
    store = store_of(aws_resolver("aws-ssm"))
    with pytest.raises(InvalidSecretValue, match="withheld") as info:
        store.put(f"{ns}/empty", "")  # SSM refuses an empty value (ValidationException)
    assert info.value.__cause__ is None and info.value.__context__ is not None
    assert info.value.__suppress_context__


def test_throttling_is_retried_then_fails_clearly(
    aws_resolver: MakeResolver, aws_proxy: FaultProxy, ssm: Any, ns: str
) -> None:
    seed(ssm, f"{ns}/t", CANARY)
    store = store_of(aws_resolver("aws-ssm", endpoint_url=aws_proxy.url, max_attempts=3))
    aws_proxy.faults.inject("status", status=400, count=2, path="GetParameter")
    assert store.get(f"{ns}/t").value == CANARY
    assert aws_proxy.count(path_contains="GetParameter") == 3

    aws_proxy.faults.inject("status", status=429, count=3, path="GetParameters")
    out = store.get_many([f"{ns}/t"])[f"{ns}/t"]
    assert isinstance(out, StoreUnavailable), out
    assert "throttl" in str(out) and "3 attempt" in str(out) and out.ref == f"{ns}/t"


def test_a_dead_endpoint_fails_within_the_timeout(
    aws_resolver: MakeResolver, silent_port: int
) -> None:
    url = f"http://127.0.0.1:{silent_port}"
    store = store_of(aws_resolver("aws-ssm", endpoint_url=url, timeout=0.4, max_attempts=1))
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"timed out.*ReadTimeoutError"):
        store.get("/anything")
    assert time.monotonic() - started < 0.4 + 1.0


def test_debug_logs_never_carry_the_value(
    aws_resolver: MakeResolver,
    ns: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    without_botocore_filters(monkeypatch)
    caplog.set_level(logging.DEBUG)
    resolver = aws_resolver("aws-ssm")
    store = store_of(resolver)
    store.put(f"{ns}/logged", CANARY)
    assert resolver.get(ref(f"{ns}/logged")).reveal() == CANARY
    assert store.get_many([f"{ns}/logged"])
    assert "botocore" in caplog.text, "botocore did log at DEBUG"
    assert CANARY not in caplog.text
