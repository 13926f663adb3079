"""The gcp-sm store against the Secret Manager stand-in, with the real client on REST and gRPC."""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from leaks import CANARY, assert_clean
from resolvers import Resolvers

from dev_env.gcp_sm import SecretManagerStandIn, crc32c
from dev_env.service import free_port
from secretbridge import (
    AccessDenied,
    ConfigError,
    InvalidReference,
    Resolver,
    SecretNotFound,
)
from secretbridge.config import parse_config
from secretbridge.errors import StoreUnavailable
from secretbridge.stores.gcp_sm import SecretManagerStore


@pytest.fixture
def project() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make(gcp_server: SecretManagerStandIn, project: str, resolvers: Resolvers) -> Iterator[Any]:
    def build(**extra: Any) -> SecretManagerStore:
        return resolvers.store(
            SecretManagerStore,
            "gcp",
            gcp_server.store_settings(project, **{"timeout": 2.0, **extra}),
        )

    yield build
    gcp_server.faults.clear()
    gcp_server.denied.clear()


def seed(server: SecretManagerStandIn, project: str, secret: str, data: bytes) -> str:
    client = server.client()
    try:
        try:
            client.create_secret(
                request={
                    "parent": f"projects/{project}",
                    "secret_id": secret,
                    "secret": {"replication": {"automatic": {}}},
                }
            )
        except Exception as error:
            if "409" not in str(error):
                raise
        added = client.add_secret_version(
            request={
                "parent": f"projects/{project}/secrets/{secret}",
                "payload": {"data": data, "data_crc32c": crc32c(data)},
            }
        )
        return str(added.name.rsplit("/", 1)[-1])
    finally:
        client.transport.close()


# ------------------------------------------------------------------ reads and versions


def test_latest_and_numbered_versions(make: Any, gcp_server: Any, project: str) -> None:
    store = make()
    v1 = seed(gcp_server, project, "db", b"one")
    v2 = seed(gcp_server, project, "db", b"two")
    assert (v1, v2) == ("1", "2")
    assert store.get("db").value == "two" and store.get("db").version == "2"
    assert store.get("db", "latest").version == "2"
    assert store.get("db", "1").value == "one"
    assert store.versions("db") == ["1", "2"]
    with pytest.raises(SecretNotFound, match="version '7'"):
        store.get("db", "7")
    for bad in ("0", "1.5", "a/b", "-1"):
        with pytest.raises(InvalidReference, match="number, 'latest' or an alias"):
            store.get("db", bad)


def test_full_resource_names_and_bad_paths(make: Any, gcp_server: Any) -> None:
    store = make()
    other = f"o-{uuid.uuid4().hex[:10]}"
    seed(gcp_server, other, "shared", b"from another project")
    assert store.get(f"projects/{other}/secrets/shared").value == "from another project"
    for bad in ("a/b", "has space", "projects/p/secrets/s/versions/1", "x" * 256):
        with pytest.raises(InvalidReference, match="secret id"):
            store.get(bad)


def test_binary_payloads_come_back_as_bytes(make: Any, gcp_server: Any, project: str) -> None:
    store = make()
    blob = bytes(range(256)) + CANARY.encode()
    seed(gcp_server, project, "blob", blob)
    got = store.get("blob")
    assert isinstance(got.value, bytes) and got.value == blob
    assert store.put("blob2", blob) == "1"
    assert store.get("blob2").value == blob
    seed(gcp_server, project, "text", "café".encode())
    assert store.get("text").value == "café"  # valid UTF-8 reads as text (no type on the wire)


def test_paging_through_list_secrets(make: Any, gcp_server: Any, project: str) -> None:
    store = make(page_size=3)
    names = [f"p{i:02d}" for i in range(10)] + ["q1"]
    for name in names:
        seed(gcp_server, project, name, b"x")
    before = gcp_server.count("GET", f"/projects/{project}/secrets")
    assert store.list_names("p") == names[:10]
    assert store.list_names() == names
    assert store.list_names("nothing") == []
    pages = gcp_server.count("GET", f"/projects/{project}/secrets") - before
    assert pages == 3 * 4, "every list call walks 4 pages of 3"


def test_put_creates_then_adds_versions_and_delete(make: Any, gcp_server: Any) -> None:
    store = make()
    assert store.put("fresh", f"a-{CANARY}") == "1"
    assert store.put("fresh", f"b-{CANARY}") == "2"
    assert store.get("fresh").value == f"b-{CANARY}"
    store.delete("fresh")
    with pytest.raises(SecretNotFound) as info:
        store.get("fresh")
    assert (info.value.ref, info.value.store) == ("fresh", "gcp")
    with pytest.raises(SecretNotFound):
        store.delete("fresh")
    # The documented limit (the contract checks that a value over it is refused).
    assert store.capabilities.max_value_size == 65536


# ----------------------------------------------------- failures and logs, on either transport


@dataclass(frozen=True)
class Face:
    """One transport of the client (REST, or gRPC, the default), and how its errors read
    where the two differ."""

    transport: str
    scheme: str  # of an api_endpoint
    unreachable: str  # nothing listens at the endpoint
    timeout: str  # no answer within the timeout
    refused: str  # 403
    throttled: str  # 429 after the last attempt


FACES = [
    Face(
        transport="rest",
        scheme="http://",
        unreachable="ConnectionError",
        timeout="Timeout",
        refused="refused access",
        throttled="TooManyRequests",
    ),
    Face(
        transport="grpc",
        scheme="",
        unreachable="ServiceUnavailable: failed to connect",
        timeout="DeadlineExceeded",
        refused="PermissionDenied",
        throttled="ResourceExhausted",
    ),
]


@pytest.fixture(params=FACES, ids=[face.transport for face in FACES])
def face(request: pytest.FixtureRequest) -> Face:
    face: Face = request.param
    return face


def test_retries_unavailable_and_throttling_then_succeeds(
    make: Any, gcp_server: Any, project: str, face: Face
) -> None:
    store = make(transport=face.transport, max_attempts=5)
    seed(gcp_server, project, "flaky", b"ok")
    path = f"{project}/secrets/flaky"
    gcp_server.faults.inject("status", status=503, count=2, path=path)
    gcp_server.faults.inject("status", status=429, count=1, path=path)
    gcp_server.faults.inject("drop", count=1, path=path)  # the connection aborts
    before = gcp_server.count("GET", path)
    assert store.get("flaky").value == "ok"
    assert gcp_server.count("GET", path) - before == 5


def test_writes_retry_throttling(make: Any, gcp_server: Any, project: str, face: Face) -> None:
    store = make(transport=face.transport, max_attempts=3)
    gcp_server.faults.inject("status", status=429, count=1, path=f"{project}/secrets")
    assert store.put("throttled", "v") == "1"


def test_retries_exhausted_is_store_unavailable(
    make: Any, gcp_server: Any, project: str, face: Face
) -> None:
    store = make(transport=face.transport, max_attempts=3)
    seed(gcp_server, project, "down", CANARY.encode())
    gcp_server.faults.inject("status", status=503, count=10, path=f"{project}/secrets/down")
    before = gcp_server.count("GET", f"{project}/secrets/down")
    with pytest.raises(StoreUnavailable, match=r"ServiceUnavailable: .*injected fault") as info:
        store.get("down")
    assert gcp_server.count("GET", f"{project}/secrets/down") - before == 3
    assert (info.value.ref, info.value.store) == ("down", "gcp")
    assert_clean(info.value)
    gcp_server.faults.clear()
    gcp_server.faults.inject("status", status=429, count=10, path=f"{project}/secrets/down")
    with pytest.raises(StoreUnavailable, match=face.throttled):
        store.get("down")


def test_dead_endpoint_fails_within_the_timeout(make: Any, face: Face) -> None:
    store = make(
        transport=face.transport,
        api_endpoint=f"{face.scheme}127.0.0.1:{free_port()}",
        max_attempts=2,
        timeout=0.5,
        deadline=2.0,
    )
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=face.unreachable):
        store.get("anything")
    with pytest.raises(StoreUnavailable):
        store.health()
    with pytest.raises(StoreUnavailable):
        store.put("anything", CANARY)
    assert time.monotonic() - started < 5


def test_a_slow_answer_times_out(make: Any, gcp_server: Any, project: str, face: Face) -> None:
    store = make(transport=face.transport, timeout=0.3, max_attempts=2)
    seed(gcp_server, project, "slow", b"late")
    gcp_server.faults.inject("latency", delay=1.0, count=2, path=f"{project}/secrets/slow")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=face.timeout):
        store.get("slow")
    assert time.monotonic() - started < 2.5


def test_not_found_and_permission_denied(
    make: Any, gcp_server: Any, project: str, face: Face
) -> None:
    store = make(transport=face.transport)
    with pytest.raises(SecretNotFound) as missing:
        store.get("absent")
    assert (missing.value.ref, missing.value.store) == ("absent", "gcp")
    seed(gcp_server, project, "present", b"x")
    with pytest.raises(SecretNotFound, match="version '7'"):
        store.get("present", "7")
    seed(gcp_server, project, "locked", CANARY.encode())
    gcp_server.denied.add("locked")
    with pytest.raises(AccessDenied, match=rf"{face.refused}.*denied for resource") as info:
        store.get("locked")
    assert info.value.store == "gcp"
    assert_clean(info.value)
    with pytest.raises(AccessDenied):
        store.put("locked", CANARY)


def test_health(make: Any, gcp_server: Any, project: str) -> None:
    store = make()
    assert store.health() is None
    gcp_server.faults.inject("status", status=503, count=10, path=f"projects/{project}/secrets")
    with pytest.raises(StoreUnavailable, match="ServiceUnavailable"):
        make(max_attempts=2).health()


def test_debug_logs_hold_no_payload(
    make: Any, gcp_server: Any, face: Face, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # A "google" logger with a level of its own is one the client's first call leaves
    # alone; else that call stops it propagating, and this test would see nothing.
    caplog.set_level(logging.DEBUG, logger="google")
    store = make(transport=face.transport)
    store.put("logged", CANARY)
    assert store.get("logged").value == CANARY
    encoded = base64.b64encode(CANARY.encode()).decode()
    for record in caplog.records:
        dump = repr(vars(record))
        assert CANARY not in dump and encoded not in dump, record.getMessage()
    messages = [r.getMessage() for r in caplog.records]
    assert any("AddSecretVersion" in m for m in messages), "the client logged the write"
    # REST names the method access_secret_version, gRPC AccessSecretVersion.
    responses = [m.replace("_", "").lower() for m in messages if "Received response for" in m]
    assert any("accesssecretversion" in m for m in responses), "the read's response was logged"
    assert_clean(store)


# ------------------------------------------------------------------ config and leaks


def test_anonymous_needs_an_endpoint() -> None:
    with pytest.raises(ConfigError, match="anonymous"):
        parse_config({"stores": {"g": {"kind": "gcp-sm", "project": "p", "anonymous": True}}})
    with pytest.raises(ConfigError, match="transport"):
        parse_config({"stores": {"g": {"kind": "gcp-sm", "transport": "http"}}})


def test_credentials_file_errors_name_no_content(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "key.json"
    key.write_text('{"type": "service_account", "private_key": "' + CANARY + '"}')
    monkeypatch.setenv("SA_KEY_PATH", str(key))
    config = {"kind": "gcp-sm", "credentials_file": "env:SA_KEY_PATH", "project": "p"}
    with (
        Resolver(parse_config({"stores": {"g": config}})) as resolver,
        pytest.raises(ConfigError, match="not a usable service-account key") as info,
    ):
        resolver.store("g").get("x")
    assert_clean(info.value)


def test_a_malformed_inline_key_leaves_no_trace_of_itself_in_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """JSONDecodeError keeps the whole document (``.doc``): it must not ride along as the
    ConfigError's context."""
    monkeypatch.setenv("SA_KEY", '{"private_key": "' + CANARY + '", broken')
    config = {"kind": "gcp-sm", "credentials_file": "env:SA_KEY", "project": "p"}
    with (
        Resolver(parse_config({"stores": {"g": config}})) as resolver,
        pytest.raises(ConfigError, match="not a usable service-account key") as info,
    ):
        resolver.store("g").get("x")
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert_clean(info.value)


# ------------------------------------------------------------------ gRPC (the default transport)


def test_grpc_reads_writes_and_lists(make: Any, gcp_server: Any, project: str) -> None:
    store = make(transport="grpc", page_size=2)
    assert store.options.transport == "grpc"
    seed(gcp_server, project, "db", b"one")
    assert store.put("db", "two") == "2"
    blob = bytes(range(256))
    assert store.put("blob", blob) == "1"
    assert store.get("db").value == "two" and store.get("db").version == "2"
    assert store.get("db", "1").value == "one"
    assert store.get("blob").value == blob
    assert store.versions("db") == ["1", "2"]
    before = gcp_server.count("GET", f"/projects/{project}/secrets")
    assert store.list_names() == ["blob", "db"]
    assert gcp_server.count("GET", f"/projects/{project}/secrets") - before == 1
    store.delete("db")
    assert store.list_names() == ["blob"]
    store.health()
    # Served by the gRPC face, not REST: the client holds a gRPC transport.
    assert type(store._connect()[0].transport).__name__ == "SecretManagerServiceGrpcTransport"
