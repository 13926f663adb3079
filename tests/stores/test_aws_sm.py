"""``aws-sm`` beyond the contract: batching measured in real API calls, version stages
and ids, binary, ARNs, throttling and timeouts on the wire, assume-role, a missing
boto3, deletion with and without a recovery window. The real boto3 client talks to
moto (``moto_server``); faults come from a reverse proxy in front of it."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from aws_kit import Calls, MakeResolver, ref, store_in, without_botocore_filters
from leaks import CANARY, assert_clean

from dev_env.aws import MotoServer
from dev_env.faultproxy import FaultProxy
from secretbridge import (
    ConfigError,
    InvalidReference,
    SecretNotFound,
    StoreUnavailable,
)
from secretbridge.config import parse_config
from secretbridge.stores.aws_sm import SecretsManagerStore
from secretbridge.stores.base import StoredValue


@pytest.fixture
def sm(moto_server: MotoServer) -> Any:
    return moto_server.client("secretsmanager")


@pytest.fixture
def ns() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


Seed = Callable[[str, str | bytes], str]


@pytest.fixture
def seed(moto_server: MotoServer) -> Seed:
    """Create ``name`` with ``value``, or give it as a new version; its version id."""
    return lambda name, value: moto_server.put_secrets({name: value})[name]


store_of = partial(store_in, SecretsManagerStore)


# ------------------------------------------------------------------ batching


def test_200_secrets_resolve_in_10_batch_calls(
    aws_resolver: MakeResolver, ns: str, seed: Seed
) -> None:
    names = [f"{ns}/conn/c{i:03d}" for i in range(200)]
    for i, name in enumerate(names):
        seed(name, json.dumps({"password": f"pw{i}-{CANARY}"}))
    resolver = aws_resolver("aws-sm")
    calls = Calls(store_of(resolver).client)

    refs = [f"secret:{name}#password" for name in names]
    started = time.monotonic()
    got = resolver.get_many(refs)
    elapsed = time.monotonic() - started

    assert [s.reveal() for s in got.values()] == [f"pw{i}-{CANARY}" for i in range(200)]
    assert calls.count() == Counter({"BatchGetSecretValue": 10}), calls.count()
    assert all(len(params["SecretIdList"]) <= 20 for _, params in calls.params)
    assert elapsed < 10
    assert_clean(*got.values())


def test_get_many_reports_missing_and_deleted_per_id(
    aws_resolver: MakeResolver, sm: Any, ns: str, seed: Seed
) -> None:
    present = [f"{ns}/p{i}" for i in range(25)]
    for name in present:
        seed(name, f"{name}-{CANARY}")
    seed(f"{ns}/deleted", CANARY)
    sm.delete_secret(SecretId=f"{ns}/deleted", RecoveryWindowInDays=7)
    store = store_of(aws_resolver("aws-sm"))
    calls = Calls(store.client)

    asked = [f"{ns}/missing", *present, f"{ns}/deleted", present[0]]
    out = store.get_many(asked)
    assert set(out) == set(asked)
    for name in present:
        assert out[name].value == f"{name}-{CANARY}"  # type: ignore[union-attr]
    for name in (f"{ns}/missing", f"{ns}/deleted"):
        error = out[name]
        assert isinstance(error, SecretNotFound), error
        assert (error.ref, error.store) == (name, "aws")
        assert_clean(error)
    assert calls.count() == Counter({"BatchGetSecretValue": 2})  # 27 distinct ids: 20 + 7


def test_a_secret_without_a_value_does_not_sink_its_whole_batch(
    aws_resolver: MakeResolver, sm: Any, ns: str, seed: Seed
) -> None:
    # A secret created without a value (no AWSCURRENT version yet) makes the whole
    # BatchGetSecretValue call fail with ResourceNotFoundException: every other id of
    # the chunk must still get its own answer, and that one reads as not found, as get
    # says.
    seed(f"{ns}/ok", f"ok-{CANARY}")
    sm.create_secret(Name=f"{ns}/empty")
    store = store_of(aws_resolver("aws-sm"))
    out = store.get_many([f"{ns}/ok", f"{ns}/empty"])
    assert out[f"{ns}/ok"] == StoredValue(f"ok-{CANARY}", out[f"{ns}/ok"].version)  # type: ignore[union-attr]
    empty = out[f"{ns}/empty"]
    assert isinstance(empty, SecretNotFound), empty
    assert (empty.ref, empty.store) == (f"{ns}/empty", "aws")
    with pytest.raises(SecretNotFound):
        store.get(f"{ns}/empty")


# ------------------------------------------------------------------ versions


def test_versions_by_stage_custom_stage_and_id(
    aws_resolver: MakeResolver, sm: Any, ns: str, seed: Seed
) -> None:
    name = f"{ns}/rotated"
    ids = [seed(name, json.dumps({"password": f"v{i}-{CANARY}"})) for i in range(3)]
    sm.update_secret_version_stage(SecretId=name, VersionStage="BLUE", MoveToVersionId=ids[0])
    resolver = aws_resolver("aws-sm")
    store = store_of(resolver)
    calls = Calls(store.client)

    def pw(version: str) -> str:
        return resolver.get(ref(name, version, "password")).reveal()

    assert pw("AWSCURRENT") == f"v2-{CANARY}"
    assert pw("AWSPREVIOUS") == f"v1-{CANARY}"
    assert pw("BLUE") == f"v0-{CANARY}"
    assert pw(ids[1]) == f"v1-{CANARY}"
    assert store.get(name, "AWSPREVIOUS").version == ids[1]
    assert store.get(name, ids[0]).version == ids[0]
    asked = [params for _, params in calls.params]
    assert {"SecretId": name, "VersionStage": "BLUE"} in asked
    assert {"SecretId": name, "VersionId": ids[1]} in asked

    for absent in ("NO_SUCH_STAGE", str(uuid.uuid4())):
        with pytest.raises(SecretNotFound, match="version") as info:
            store.get(name, absent)
        assert info.value.ref == name
    assert store.versions(name) == ids


# ------------------------------------------------------------------ binary and ARNs


def test_binary_secret_comes_back_as_bytes(aws_resolver: MakeResolver, ns: str, seed: Seed) -> None:
    blob = bytes(range(256)) + CANARY.encode()
    seed(f"{ns}/blob", blob)
    resolver = aws_resolver("aws-sm")
    store = store_of(resolver)
    got = store.get(f"{ns}/blob")
    assert isinstance(got.value, bytes) and got.value == blob
    assert store.get_many([f"{ns}/blob"])[f"{ns}/blob"].value == blob  # type: ignore[union-attr]
    secret = resolver.get(ref(f"{ns}/blob"))
    assert secret.is_binary and secret.reveal_bytes() == blob
    assert_clean(secret, got)
    version = store.put(f"{ns}/blob", b"\x00\xff" + CANARY.encode())
    assert store.get(f"{ns}/blob", version).value == b"\x00\xff" + CANARY.encode()


def test_by_full_and_partial_arn(aws_resolver: MakeResolver, sm: Any, ns: str) -> None:
    name = f"{ns}/by-arn"
    created = sm.create_secret(Name=name, SecretString=json.dumps({"password": CANARY}))
    arn = created["ARN"]
    partial = arn.rsplit("-", 1)[0]
    assert partial.endswith(name)
    resolver = aws_resolver("aws-sm")
    store = store_of(resolver)

    assert store.get(arn).version == created["VersionId"]
    out = store.get_many([arn, name, f"{ns}/nope"])
    assert out[arn].value == out[name].value == json.dumps({"password": CANARY})  # type: ignore[union-attr]
    assert isinstance(out[f"{ns}/nope"], SecretNotFound)
    assert resolver.get(ref(arn, field="password")).reveal() == CANARY
    assert resolver.get(ref(arn, version="AWSCURRENT", field="password")).reveal() == CANARY
    with pytest.raises(InvalidReference, match="by name, not by ARN"):
        store.put(arn.replace(name, f"{ns}/never"), "x")


# ------------------------------------------------------------------ writes


def test_put_creates_then_adds_versions_and_delete_keeps_a_recovery_window(
    aws_resolver: MakeResolver, sm: Any, ns: str
) -> None:
    name = f"{ns}/written"
    store = store_of(aws_resolver("aws-sm"))
    calls = Calls(store.client)
    first = store.put(name, f"one-{CANARY}")
    second = store.put(name, f"two-{CANARY}")
    assert first != second
    assert calls.count()["CreateSecret"] == 1 and calls.count()["PutSecretValue"] == 1
    assert store.get(name, "AWSPREVIOUS").value == f"one-{CANARY}"

    store.delete(name)
    described = sm.describe_secret(SecretId=name)
    assert described.get("DeletedDate"), "scheduled for deletion, recoverable for 7 days"
    with pytest.raises(SecretNotFound):
        store.get(name)
    with pytest.raises(SecretNotFound):
        store.delete(name)
    assert name not in store.list_names(ns)

    third = store.put(name, f"three-{CANARY}")  # restores, then writes
    assert store.get(name).value == f"three-{CANARY}" and store.get(name).version == third
    assert not sm.describe_secret(SecretId=name).get("DeletedDate")


def test_delete_without_recovery(aws_resolver: MakeResolver, sm: Any, ns: str, seed: Seed) -> None:
    name = f"{ns}/gone"
    seed(name, CANARY)
    store = store_of(aws_resolver("aws-sm", recovery_window_days=0))
    calls = Calls(store.client)
    store.delete(name)
    assert calls.params[-1] == (
        "DeleteSecret",
        {"SecretId": name, "ForceDeleteWithoutRecovery": True},
    )
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.describe_secret(SecretId=name)


def test_list_follows_pages(aws_resolver: MakeResolver, ns: str, seed: Seed) -> None:
    names = sorted(f"{ns}/many/s{i:03d}" for i in range(130))
    for name in names:
        seed(name, "x")
    seed(f"{ns}/manyx", "x")
    store = store_of(aws_resolver("aws-sm"))
    calls = Calls(store.client)
    assert store.list_names(f"{ns}/many/") == names
    assert calls.count()["ListSecrets"] >= 2, "130 names take two pages of 100"
    assert store.list_names(f"{ns}/many") == [*names, f"{ns}/manyx"]


# ------------------------------------------------------------------ faults on the wire


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_throttling_is_retried_until_it_passes(
    aws_resolver: MakeResolver, aws_proxy: FaultProxy, ns: str, mode: str, seed: Seed
) -> None:
    seed(f"{ns}/t", CANARY)
    store = store_of(
        aws_resolver("aws-sm", endpoint_url=aws_proxy.url, max_attempts=4, retry_mode=mode)
    )
    aws_proxy.faults.inject("status", status=429, count=1, path="GetSecretValue")
    aws_proxy.faults.inject("status", status=400, count=1, path="GetSecretValue")
    assert store.get(f"{ns}/t").value == CANARY
    assert aws_proxy.count(path_contains="GetSecretValue") == 3  # two throttled, then ok


def test_throttling_fails_clearly_when_attempts_run_out(
    aws_resolver: MakeResolver, aws_proxy: FaultProxy, ns: str, seed: Seed
) -> None:
    seed(f"{ns}/t", CANARY)
    resolver = aws_resolver("aws-sm", endpoint_url=aws_proxy.url, max_attempts=2)
    aws_proxy.faults.inject("status", status=400, count=10, path="BatchGetSecretValue")
    with pytest.raises(StoreUnavailable, match=r"throttl.*ThrottlingException.*2 attempt") as info:
        resolver.get(f"secret:{ns}/t")
    assert info.value.store == "aws" and info.value.ref == f"secret:{ns}/t"
    assert aws_proxy.count(path_contains="BatchGetSecretValue") == 2
    assert_clean(info.value)


def test_batch_refused_by_iam_falls_back_to_one_read_per_secret(
    aws_resolver: MakeResolver, aws_proxy: FaultProxy, ns: str, seed: Seed
) -> None:
    names = [f"{ns}/f{i}" for i in range(3)]
    for name in names:
        seed(name, f"{name}-{CANARY}")
    aws_proxy.error_codes = {
        **FaultProxy.error_codes,
        403: ("AccessDeniedException", "not authorized to perform BatchGetSecretValue"),
    }
    store = store_of(aws_resolver("aws-sm", endpoint_url=aws_proxy.url))
    aws_proxy.faults.inject("status", status=403, count=1, path="BatchGetSecretValue")
    out = store.get_many([*names, f"{ns}/nope"])
    assert [out[n].value for n in names] == [f"{n}-{CANARY}" for n in names]  # type: ignore[union-attr]
    assert isinstance(out[f"{ns}/nope"], SecretNotFound)
    assert aws_proxy.count(path_contains="BatchGetSecretValue") == 1
    assert aws_proxy.count(path_contains="#secretsmanager.GetSecretValue") == 4
    store.get_many(names)  # remembered: no second BatchGetSecretValue
    assert aws_proxy.count(path_contains="BatchGetSecretValue") == 1


@pytest.mark.parametrize("attempts", [1, 2])
def test_a_dead_endpoint_fails_within_the_timeout(
    aws_resolver: MakeResolver, silent_port: int, attempts: int
) -> None:
    url = f"http://127.0.0.1:{silent_port}"
    store = store_of(aws_resolver("aws-sm", endpoint_url=url, timeout=0.5, max_attempts=attempts))
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"timed out.*ReadTimeoutError") as info:
        store.get("anything")
    elapsed = time.monotonic() - started
    assert elapsed < 0.5 * attempts + 1.0, elapsed
    assert "timeout = 0.5 s" in str(info.value) and info.value.store == "aws"
    with pytest.raises(StoreUnavailable, match="timed out"):
        store.health()


def test_missing_boto3_gives_the_install_hint(tmp_path: Any) -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["boto3"] = None  # as if the aws extra were not installed
        from secretbridge import MissingDependency, Resolver
        from secretbridge.config import parse_config
        config = parse_config({"stores": {"sm": {"kind": "aws-sm", "region": "us-east-1"}}})
        try:
            Resolver(config).get("sm://prod/db")
        except MissingDependency as error:
            print("MISSING:", error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "MISSING: store kind 'aws-sm' needs" in done.stdout
    assert "pip install 'secretbridge[aws]'" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_assume_role_reads_with_the_assumed_credentials(
    aws_resolver: MakeResolver, moto_server: MotoServer, ns: str, seed: Seed
) -> None:
    seed(f"{ns}/assumed", CANARY)
    store = store_of(
        aws_resolver(
            "aws-sm",
            role_arn="arn:aws:iam::123456789012:role/secret-reader",
            external_id="ext-1234",
            session_name="etl-run",
            sts_endpoint_url=moto_server.url,
        )
    )
    keys: list[str] = []

    def capture(request: Any, **_: Any) -> None:
        header = request.headers.get("Authorization", b"")
        text = header.decode() if isinstance(header, bytes) else header
        keys.append(text.split("Credential=")[1].split("/")[0])

    store.client.meta.events.register("before-send.*.*", capture)
    assert store.get(f"{ns}/assumed").value == CANARY
    assert keys and keys[0] != "testing"
    assert keys[0].startswith("ASIA"), "temporary credentials from STS AssumeRole"
    credentials = store.client._request_signer._credentials
    assert credentials.method == "assume-role"
    assert_clean(store)


# ------------------------------------------------------------------ config and leaks


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"access_key_id": "env:X"}, "access_key_id"),
        ({"recovery_window_days": 3}, "recovery_window_days"),
        ({"retry_mode": "legacy"}, "retry_mode"),
        ({"timeout": 0}, "timeout"),
        ({"external_id": "x"}, "external_id"),
        ({"role_arn": "reader"}, "role_arn"),
    ],
)
def test_config_errors_name_the_key(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"stores\.sm\..*{key}"):
        parse_config({"stores": {"sm": {"kind": "aws-sm", **options}}})


def test_options_repr_hides_credentials() -> None:
    config = parse_config(
        {
            "stores": {
                "sm": {
                    "kind": "aws-sm",
                    "access_key_id": "AKIA" + CANARY,
                    "secret_access_key": CANARY,
                    "session_token": CANARY,
                }
            }
        }
    )
    assert_clean(config.stores["sm"].options, config)


def test_credentials_come_through_env_indirection(
    aws_resolver: MakeResolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEV_AWS_ACCESS_KEY_ID")
    with pytest.raises(ConfigError, match=r"stores\.aws\.access_key_id.*DEV_AWS_ACCESS_KEY_ID"):
        store_of(aws_resolver("aws-sm")).get("x")


def test_debug_logs_never_carry_the_value(
    aws_resolver: MakeResolver,
    ns: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    without_botocore_filters(monkeypatch)
    caplog.set_level(logging.DEBUG)
    resolver = aws_resolver("aws-sm")
    store = store_of(resolver)
    store.put(f"{ns}/logged", json.dumps({"password": CANARY}))
    assert resolver.get(ref(f"{ns}/logged", field="password")).reveal() == CANARY
    assert store.get_many([f"{ns}/logged"])
    assert "botocore" in caplog.text, "botocore did log at DEBUG"
    assert CANARY not in caplog.text
