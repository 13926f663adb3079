"""The k8s store against the Kubernetes API stand-in: the real client, over HTTPS with
the stand-in's CA, configured through the kubeconfig it writes."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from leaks import CANARY, assert_clean
from resolvers import Resolvers

from dev_env.k8s import NAMESPACE, KubernetesStandIn
from dev_env.service import free_port
from dev_env.standin import CertificateAuthority
from secretbridge import (
    AccessDenied,
    ConfigError,
    InvalidReference,
    InvalidSecretValue,
    SecretNotFound,
)
from secretbridge.config import parse_config
from secretbridge.errors import StoreUnavailable
from secretbridge.stores.k8s import KubernetesStore


@pytest.fixture
def ns() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(k8s_server: KubernetesStandIn, ns: str) -> dict[str, Any]:
    """A ``k8s`` store's settings: the stand-in's kubeconfig, the test's namespace."""
    return {"kind": "k8s", "kubeconfig": str(k8s_server.kubeconfig), "namespace": ns}


@pytest.fixture
def make(
    k8s_server: KubernetesStandIn, settings: dict[str, Any], resolvers: Resolvers
) -> Iterator[Any]:
    def build(**extra: Any) -> KubernetesStore:
        return resolvers.store(KubernetesStore, "k8s", {**settings, **extra})

    yield build
    k8s_server.faults.clear()
    k8s_server.forbidden.clear()


def create(server: KubernetesStandIn, namespace: str, name: str, data: dict[str, bytes]) -> None:
    from kubernetes import client

    api = server.api()
    try:
        api.create_namespaced_secret(
            namespace,
            client.V1Secret(
                metadata=client.V1ObjectMeta(name=name),
                data={k: base64.b64encode(v).decode() for k, v in data.items()},
            ),
        )
    finally:
        api.api_client.close()


def kubeconfig_variant(server: KubernetesStandIn, folder: Path, **changes: Any) -> str:
    config = json.loads(server.kubeconfig.read_text())
    config["clusters"][0]["cluster"].update(changes.get("cluster", {}))
    config["users"][0]["user"].update(changes.get("user", {}))
    path = folder / "kubeconfig"
    path.write_text(json.dumps(config))
    return str(path)


# ------------------------------------------------------------------ reads


def test_whole_secret_is_json_and_fields_select_keys(
    make: Any, k8s_server: Any, ns: str, settings: dict[str, Any], resolvers: Resolvers
) -> None:
    create(k8s_server, ns, "snowflake", {"user": b"etl", "password": CANARY.encode()})
    store = make()
    assert json.loads(store.get(f"{ns}/snowflake").value) == {"user": "etl", "password": CANARY}
    assert store.get("snowflake").value == store.get(f"{ns}/snowflake").value
    assert store.get(f"{ns}/snowflake/password").value == CANARY
    resolver = resolvers.resolver({"k8s": settings})
    assert resolver.get(f"k8s://{ns}/snowflake#password").reveal() == CANARY
    assert resolver.get(f"k8s://{ns}/snowflake/user").reveal() == "etl"
    with pytest.raises(SecretNotFound) as info:
        resolver.get(f"k8s://{ns}/snowflake/nope")
    assert_clean(info.value)


def test_binary_keys(make: Any, k8s_server: Any, ns: str) -> None:
    blob = b"\xff\x00\xfe" + CANARY.encode()
    create(k8s_server, ns, "tls", {"key.p12": blob, "note": b"text"})
    store = make()
    got = store.get(f"{ns}/tls/key.p12").value
    assert isinstance(got, bytes) and got == blob
    document = json.loads(store.get(f"{ns}/tls").value)
    assert document == {"key.p12": base64.b64encode(blob).decode(), "note": "text"}
    store.put(f"{ns}/tls/pem", b"-----BEGIN-----")  # UTF-8 bytes stay bytes (annotation)
    assert store.get(f"{ns}/tls/pem").value == b"-----BEGIN-----"
    store.put(f"{ns}/tls/pem", "now text")
    assert store.get(f"{ns}/tls/pem").value == "now text"


def test_default_namespace_comes_from_the_kubeconfig(make: Any, k8s_server: Any) -> None:
    name = f"d-{uuid.uuid4().hex[:8]}"
    create(k8s_server, NAMESPACE, name, {"value": b"from the context namespace"})
    store = make(namespace=None)
    assert store.get(name).value == "from the context namespace"


def test_put_key_paths_merge_and_delete(make: Any, k8s_server: Any, ns: str) -> None:
    store = make()
    assert store.put("app", "plain") is None
    assert store.get("app").value == "plain"
    store.put(f"{ns}/app/token", "t0k")
    assert json.loads(store.get("app").value) == {"value": "plain", "token": "t0k"}
    store.delete(f"{ns}/app/value")
    assert store.get("app").value == json.dumps({"token": "t0k"})
    with pytest.raises(SecretNotFound):
        store.delete(f"{ns}/app/value")
    store.put("app", "replaced")  # a whole-Secret put replaces every key
    assert store.get(f"{ns}/app").value == "replaced"
    store.delete("app")
    with pytest.raises(SecretNotFound) as info:
        store.get("app")
    assert (info.value.ref, info.value.store) == ("app", "k8s")


def test_list_names_namespaces_and_keys_with_paging(make: Any, k8s_server: Any, ns: str) -> None:
    for i in range(5):
        create(k8s_server, ns, f"svc-{i}", {"a": b"1", "b": b"2"})
    create(k8s_server, ns, "other", {"value": b"x"})
    store = make(page_size=2)
    before = k8s_server.count("GET", f"/namespaces/{ns}/secrets")
    assert store.list_names("svc-") == [f"svc-{i}" for i in range(5)]
    assert k8s_server.count("GET", f"/namespaces/{ns}/secrets") - before == 3  # 6 names, 2 a page
    assert store.list_names(f"{ns}/oth") == [f"{ns}/other"]
    assert store.list_names(f"{ns}/svc-1/") == [f"{ns}/svc-1/a", f"{ns}/svc-1/b"]
    assert store.list_names("nothing") == []


def test_a_value_over_1_mib_never_reaches_the_api_server(
    make: Any, k8s_server: Any, ns: str, settings: dict[str, Any], resolvers: Resolvers
) -> None:
    """The contract checks the refusal itself; here, that no request carried the value."""
    assert make().capabilities.max_value_size == 1024 * 1024
    creates = k8s_server.count("POST", f"/api/v1/namespaces/{ns}/secrets")
    resolver = resolvers.resolver({"k8s": settings})
    with pytest.raises(InvalidSecretValue):
        resolver.put("big", CANARY + "x" * 1024 * 1024, store="k8s")
    assert k8s_server.count("POST", f"/api/v1/namespaces/{ns}/secrets") == creates


def test_bad_paths_and_versions(make: Any) -> None:
    store = make()
    for bad in ("Upper", "a/b/c/d", "ns_x/name", "ns/name/bad key"):
        with pytest.raises(InvalidReference, match="namespace/name"):
            store.get(bad)
    with pytest.raises(InvalidReference, match="no versions"):
        store.get("x", "1")


# ------------------------------------------------------------------ failures


def test_retries_503_and_429_then_succeeds(make: Any, k8s_server: Any, ns: str) -> None:
    create(k8s_server, ns, "flaky", {"value": b"ok"})
    store = make(max_attempts=4)
    where = f"/namespaces/{ns}/secrets/flaky"
    k8s_server.faults.inject("status", status=503, count=2, path=where)
    k8s_server.faults.inject("status", status=429, count=1, path=where, retry_after=0)
    before = k8s_server.count("GET", where)
    assert store.get("flaky").value == "ok"
    assert k8s_server.count("GET", where) - before == 4


def test_retries_exhausted_is_store_unavailable(make: Any, k8s_server: Any, ns: str) -> None:
    create(k8s_server, ns, "down", {"value": CANARY.encode()})
    store = make(max_attempts=3)
    where = f"/namespaces/{ns}/secrets/down"
    k8s_server.faults.inject("status", status=503, count=10, path=where)
    before = k8s_server.count("GET", where)
    with pytest.raises(StoreUnavailable, match="503") as info:
        store.get("down")
    assert k8s_server.count("GET", where) - before == 3
    assert (info.value.ref, info.value.store) == ("down", "k8s")
    assert_clean(info.value)


def test_dead_endpoint_fails_within_the_timeout(k8s_server: Any, tmp_path: Path, make: Any) -> None:
    path = kubeconfig_variant(
        k8s_server, tmp_path, cluster={"server": f"https://127.0.0.1:{free_port()}"}
    )
    store = make(kubeconfig=path, timeout=0.5, max_attempts=2)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="could not be reached"):
        store.get("anything")
    with pytest.raises(StoreUnavailable):
        store.health()
    assert time.monotonic() - started < 5


def test_a_slow_answer_times_out(make: Any, k8s_server: Any, ns: str) -> None:
    create(k8s_server, ns, "slow", {"value": b"late"})
    store = make(timeout=0.3, max_attempts=2)
    k8s_server.faults.inject("latency", delay=1.0, count=2, path=f"{ns}/secrets/slow")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"ReadTimeout|timed out"):
        store.get("slow")
    assert time.monotonic() - started < 2.5


def test_an_unknown_ca_is_refused(make: Any, k8s_server: Any, tmp_path: Path) -> None:
    other = CertificateAuthority(tmp_path / "other-ca")
    path = kubeconfig_variant(
        k8s_server, tmp_path, cluster={"certificate-authority": str(other.ca_cert)}
    )
    with pytest.raises(StoreUnavailable, match=r"SSL|CERTIFICATE"):
        make(kubeconfig=path, max_attempts=1).get("anything")


def test_forbidden_and_unauthorized_are_access_denied(
    make: Any, k8s_server: Any, ns: str, tmp_path: Path
) -> None:
    create(k8s_server, ns, "locked", {"value": CANARY.encode()})
    k8s_server.forbidden.add(ns)
    with pytest.raises(AccessDenied, match=r"403 Forbidden.*cannot get resource") as info:
        make().get("locked")
    assert_clean(info.value)
    k8s_server.forbidden.clear()
    path = kubeconfig_variant(k8s_server, tmp_path, user={"token": "wrong"})
    with pytest.raises(AccessDenied, match="401"):
        make(kubeconfig=path).get("locked")


def test_a_404_that_is_not_about_the_secret_is_not_a_missing_secret(
    make: Any, k8s_server: Any, ns: str, tmp_path: Path
) -> None:
    # A wrong server URL (a proxy prefix missing or extra) answers 404 for every path.
    # That is no proof the Secret is missing: "not found" would let the resolver's chain
    # fall through to the next store and serve a different secret.
    create(k8s_server, ns, "real", {"value": b"here"})
    path = kubeconfig_variant(k8s_server, tmp_path, cluster={"server": k8s_server.url + "/wrong"})
    store = make(kubeconfig=path, max_attempts=1)
    with pytest.raises(StoreUnavailable, match="404") as info:
        store.get("real")
    assert (info.value.ref, info.value.store) == ("real", "k8s")
    with pytest.raises(SecretNotFound):  # the Secret's own 404 still is "not found"
        make().get("absent")


def test_health_and_config_errors(make: Any, k8s_server: Any, tmp_path: Path) -> None:
    assert make().health() is None
    with pytest.raises(ConfigError, match="kubeconfig"):
        make(kubeconfig=str(tmp_path / "missing")).get("x")
    with pytest.raises(ConfigError, match="in_cluster"):
        parse_config({"stores": {"k": {"kind": "k8s", "in_cluster": True, "context": "c"}}})
    with pytest.raises(ConfigError, match="namespace"):
        parse_config({"stores": {"k": {"kind": "k8s", "namespace": "Bad_NS"}}})


def test_no_value_in_logs_or_reprs(
    make: Any, k8s_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = make()
    store.put("logged", CANARY)
    assert store.get("logged").value == CANARY
    encoded = base64.b64encode(CANARY.encode()).decode()
    for record in caplog.records:
        dump = repr(vars(record))
        assert CANARY not in dump and encoded not in dump
    assert_clean(store)
