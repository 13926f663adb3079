"""The vault store against a real OpenBao dev server: every auth method logging in for
real, KV v1 and v2, version pins, namespaces, TLS with a CA, re-authentication when a
token expires or is revoked, timeouts and retries, and the canary kept out of errors.

Set-up is done with hvac as root; the store under test only ever gets the credentials
its config names.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import hvac.exceptions
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from leaks import CANARY, assert_clean
from resolvers import Resolvers

from dev_env.standin import Request, Response, StandIn
from dev_env.vault import KV1_MOUNT, KV2_MOUNT, ROOT_TOKEN, TOKEN_ENV, VaultServer
from secretbridge import (
    AccessDenied,
    ConfigError,
    InvalidReference,
    InvalidSecretValue,
    Resolver,
    SecretNotFound,
    StoreUnavailable,
)
from secretbridge.config import parse_config
from secretbridge.stores.base import StoredValue
from secretbridge.stores.vault import VaultStore

POLICY = "sb-reader"  # read secret/app/*, nothing else
ROLE = "etl"


# ------------------------------------------------------------------ helpers


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_jwt(key: rsa.RSAPrivateKey, claims: dict[str, Any]) -> str:
    """An RS256 JWT, signed with cryptography (what an OIDC provider would issue)."""
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "sb-test"}).encode())
    body = b64url(json.dumps(claims).encode())
    signature = key.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{body}.{b64url(signature)}"


StoreFor = Callable[..., VaultStore]


@pytest.fixture
def store_for(resolvers: Resolvers) -> StoreFor:
    """``store_for(**settings)``: a vault store named ``v``, on a resolver of its own."""
    return lambda **settings: resolvers.store(VaultStore, "v", {"kind": "vault", **settings})


def logins_of(root: Any, display_name: str) -> int:
    """How many live tokens the server holds for one login identity."""
    accessors = root.adapter.list("/v1/auth/token/accessors")["data"]["keys"]
    count = 0
    for accessor in accessors:
        try:
            data = root.auth.token.lookup_accessor(accessor)["data"]
        except hvac.exceptions.VaultError:  # expired meanwhile
            continue
        count += data.get("display_name") == display_name
    return count


class BareStandIn(StandIn):
    """A stand-in these tests start themselves: it serves its URL and no store configs
    (dev_env's services list both for endpoints.json)."""

    def endpoints(self) -> dict[str, Any]:
        return {"url": self.url}

    def store_configs(self) -> dict[str, dict[str, Any]]:
        return {}


class TokenReviewStandIn(BareStandIn):
    """The one Kubernetes API call Vault's kubernetes auth makes: ``POST
    /apis/authentication.k8s.io/v1/tokenreviews``. A token listed in ``accounts`` is
    authenticated as that ``(namespace, service account)``; any other is not."""

    name = "k8s-tokenreview"
    tls = True

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.accounts: dict[str, tuple[str, str]] = {}
        self.reviewer_tokens: list[str] = []
        self.route("POST", "/apis/authentication.k8s.io/v1/tokenreviews", self.review)

    def review(self, request: Request) -> Response:
        self.reviewer_tokens.append(request.headers.get("authorization", ""))
        spec = request.json()["spec"]
        account = self.accounts.get(spec["token"])
        status: dict[str, Any] = {"authenticated": account is not None}
        if account is not None:
            namespace, name = account
            status["user"] = {
                "username": f"system:serviceaccount:{namespace}:{name}",
                "uid": f"uid-{namespace}-{name}",
                "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"],
            }
        else:
            status["error"] = "invalid bearer token"
        return Response(
            201,
            {
                "kind": "TokenReview",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {},
                "spec": spec,
                "status": status,
            },
        )


# ------------------------------------------------------------------ server set-up


class Setup:
    """The auth methods and policies of this module, made once per session."""

    def __init__(self, server: VaultServer, workdir: Path) -> None:
        self.server = server
        self.root = root = server.client()
        self.workdir = workdir
        root.sys.create_or_update_policy(
            POLICY,
            'path "secret/data/app/*" { capabilities = ["read"] }\n'
            'path "secret/metadata/app/*" { capabilities = ["list", "read"] }\n'
            'path "secret/metadata/app" { capabilities = ["list"] }\n',
        )
        post = root.adapter.post
        for method, path in (
            ("userpass", "userpass"),
            ("approle", "approle"),
            ("jwt", "jwt"),
            ("oidc", "oidc"),
            ("kubernetes", "kubernetes"),
        ):
            root.sys.enable_auth_method(method, path=path)

        # JWT and OIDC: our own RSA key is the issuer's.
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        for mount in ("jwt", "oidc"):
            post(f"/v1/auth/{mount}/config", json={"jwt_validation_pubkeys": [public]})
            post(
                f"/v1/auth/{mount}/role/{ROLE}",
                json={
                    "role_type": "jwt",
                    "user_claim": "sub",
                    "bound_audiences": ["secretbridge"],
                    "token_policies": [POLICY],
                },
            )

        # Kubernetes: TokenReview goes to a stand-in over HTTPS with its own CA.
        self.k8s = TokenReviewStandIn(workdir)
        self.k8s.start()
        assert self.k8s.ca is not None
        post(
            "/v1/auth/kubernetes/config",
            json={
                "kubernetes_host": self.k8s.url,
                "kubernetes_ca_cert": self.k8s.ca.ca_cert.read_text(),
                "token_reviewer_jwt": "reviewer-token",
                "disable_local_ca_jwt": True,
            },
        )
        post(
            f"/v1/auth/kubernetes/role/{ROLE}",
            json={
                "bound_service_account_names": ["etl-runner"],
                "bound_service_account_namespaces": ["pipelines"],
                "token_policies": [POLICY],
            },
        )

    def user(self, *, ttl: str = "1h") -> tuple[str, str]:
        """A new userpass user with the reader policy; returns (name, password)."""
        name = f"u{uuid.uuid4().hex[:8]}"
        password = f"pw-{CANARY}"
        self.root.adapter.post(
            f"/v1/auth/userpass/users/{name}",
            json={
                "password": password,
                "token_policies": [POLICY],
                "token_ttl": ttl,
                "token_max_ttl": ttl,
            },
        )
        return name, password

    def approle(self, *, ttl: str = "1h") -> tuple[str, str, str]:
        """A new AppRole; returns (role name, role_id, secret_id)."""
        name = f"r{uuid.uuid4().hex[:8]}"
        self.root.adapter.post(
            f"/v1/auth/approle/role/{name}",
            json={"token_policies": [POLICY], "token_ttl": ttl, "token_max_ttl": ttl},
        )
        role_id = self.root.adapter.get(f"/v1/auth/approle/role/{name}/role-id")["data"]["role_id"]
        secret_id = self.root.adapter.post(f"/v1/auth/approle/role/{name}/secret-id")["data"][
            "secret_id"
        ]
        return name, role_id, secret_id

    def jwt(self, subject: str = "ci-pipeline", audience: str = "secretbridge") -> str:
        now = int(time.time())
        claims = {
            "iss": "https://issuer.test",
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 600,
        }
        return sign_jwt(self.key, claims)

    def write(self, path: str, data: dict[str, Any], mount: str = KV2_MOUNT) -> str:
        response = self.root.secrets.kv.v2.create_or_update_secret(
            path, secret=data, mount_point=mount
        )
        return str(response["data"]["version"])

    def close(self) -> None:
        self.k8s.stop()


@pytest.fixture(scope="module")
def vault(vault_server: VaultServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    setup = Setup(vault_server, tmp_path_factory.mktemp("vault-setup"))
    try:
        yield setup
    finally:
        setup.close()


@pytest.fixture(autouse=True)
def no_canary_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    assert CANARY not in caplog.text


@pytest.fixture
def root_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SB_TEST_VAULT_ROOT", ROOT_TOKEN)
    return "env:SB_TEST_VAULT_ROOT"


@pytest.fixture
def app() -> str:
    """A fresh folder under secret/app that the reader policy may read."""
    return f"app/t{uuid.uuid4().hex[:10]}"


# ------------------------------------------------------------------ paths, values, versions


def test_reference_form_from_the_design(vault: Setup, root_env: str, app: str) -> None:
    first = vault.write(f"{app}/snowflake", {"user": "etl", "password": f"one-{CANARY}"})
    second = vault.write(f"{app}/snowflake", {"user": "etl", "password": f"two-{CANARY}"})
    assert (first, second) == ("1", "2")
    config = {"stores": {"vault": {"kind": "vault", "url": vault.server.url, "token": root_env}}}
    with Resolver(parse_config(config)) as resolver:
        pinned = resolver.get(f"vault://secret/{app}/snowflake?version=1#password")
        assert (pinned.reveal(), pinned.version) == (f"one-{CANARY}", "1")
        latest = resolver.get(f"vault://secret/{app}/snowflake#password")
        assert (latest.reveal(), latest.version, latest.name) == (
            f"two-{CANARY}",
            "2",
            f"secret/{app}/snowflake",
        )
        whole = json.loads(resolver.get(f"vault://secret/{app}/snowflake").reveal())
        assert whole == {"user": "etl", "password": f"two-{CANARY}"}
        assert_clean(pinned, latest, resolver.store("vault"))


def test_value_conventions(vault: Setup, root_env: str, app: str, store_for: StoreFor) -> None:
    store = store_for(url=vault.server.url, token=root_env)
    kv = vault.root.secrets.kv.v2
    version = store.put(f"secret/{app}/text", f"plain-{CANARY}")
    assert version == "1"
    raw = kv.read_secret_version(
        f"{app}/text", mount_point=KV2_MOUNT, raise_on_deleted_version=True
    )
    assert raw["data"]["data"] == {"value": f"plain-{CANARY}"}
    assert store.get(f"secret/{app}/text") == StoredValue(f"plain-{CANARY}", "1")

    blob = b"\x00\xff" + CANARY.encode()
    store.put(f"secret/{app}/blob", blob)
    raw = kv.read_secret_version(
        f"{app}/blob", mount_point=KV2_MOUNT, raise_on_deleted_version=True
    )
    assert raw["data"]["data"] == {"value_b64": base64.b64encode(blob).decode()}
    assert store.get(f"secret/{app}/blob").value == blob

    vault.write(f"{app}/number", {"value": 5})
    assert store.get(f"secret/{app}/number").value == "5"
    vault.write(f"{app}/doc", {"value": "x", "other": "y"})
    assert json.loads(store.get(f"secret/{app}/doc").value) == {"value": "x", "other": "y"}
    vault.write(f"{app}/broken", {"value_b64": f"not base64 {CANARY}"})
    with pytest.raises(InvalidSecretValue, match="value_b64") as info:
        store.get(f"secret/{app}/broken")
    assert_clean(info.value)


def test_versions_and_bad_pins(vault: Setup, root_env: str, app: str, store_for: StoreFor) -> None:
    store = store_for(url=vault.server.url, mount="secret", token=root_env)
    versions = [store.put(f"{app}/rot", f"v{i}-{CANARY}") for i in range(3)]
    assert versions == ["1", "2", "3"]
    for i, version in enumerate(versions):
        assert store.get(f"{app}/rot", version) == StoredValue(f"v{i}-{CANARY}", version)
    with pytest.raises(SecretNotFound) as info:
        store.get(f"{app}/rot", "4")
    assert "version '4'" in str(info.value)
    for bad in ("0", "abc", "-1", "1.5"):
        with pytest.raises(InvalidReference, match="positive whole numbers"):
            store.get(f"{app}/rot", bad)
    # A soft-deleted latest version (`bao kv delete`) reads as missing; older ones stay.
    vault.root.secrets.kv.v2.delete_latest_version_of_secret(f"{app}/rot", mount_point=KV2_MOUNT)
    with pytest.raises(SecretNotFound):
        store.get(f"{app}/rot")
    assert store.get(f"{app}/rot", "2").value == f"v1-{CANARY}"
    store.delete(f"{app}/rot")
    with pytest.raises(SecretNotFound):
        store.get(f"{app}/rot", "1")


def test_paths_are_checked(vault: Setup, root_env: str, store_for: StoreFor) -> None:
    store = store_for(url=vault.server.url, token=root_env)
    for bad in ("secret", "secret//x", "secret/../sys/x", "/secret/x", "secret/x/"):
        with pytest.raises(InvalidReference) as info:
            store.get(bad)
        assert info.value.store == "v"
    with pytest.raises(InvalidReference, match="MOUNT/PATH"):
        store.get("justone")
    with pytest.raises(SecretNotFound):
        store.get("nomount/x")
    with pytest.raises(InvalidReference, match="KV mount"):
        store.put("nomount/x", "v")


def test_kv_v1_mount(vault: Setup, root_env: str, app: str, store_for: StoreFor) -> None:
    store = store_for(url=vault.server.url, kv_version=1, token=root_env)
    assert not store.capabilities.versions and store.capabilities.writable
    assert VaultStore.capabilities.versions, "the class default is untouched"
    path = f"{KV1_MOUNT}/{app}/db"
    assert store.put(path, f"one-{CANARY}") is None
    assert store.put(path, f"two-{CANARY}") is None
    assert store.get(path) == StoredValue(f"two-{CANARY}", None)
    raw = vault.root.secrets.kv.v1.read_secret(f"{app}/db", mount_point=KV1_MOUNT)
    assert raw["data"] == {"value": f"two-{CANARY}"}
    with pytest.raises(InvalidReference, match="no versions"):
        store.get(path, "1")
    assert store.list_names(f"{KV1_MOUNT}/{app}/") == [path]
    assert path in store.list_names("")  # every KV v1 mount the token sees
    assert not any(p.startswith(f"{KV2_MOUNT}/") for p in store.list_names(""))
    store.delete(path)
    with pytest.raises(SecretNotFound):
        store.get(path)
    with pytest.raises(SecretNotFound):
        store.delete(path)


def test_get_many_checks_each_mount_once(
    vault: Setup, root_env: str, app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resolver fans get_many out over its pool; the KV-version check of the mount
    must still be one request, not one per thread that raced for it."""
    import requests

    for i in range(16):
        vault.write(f"{app}/n{i}", {"value": f"{i}-{CANARY}"})
    mount_checks: list[str] = []
    send = requests.Session.send

    def recording_send(session: Any, request: Any, **kwargs: Any) -> Any:
        if "/v1/sys/internal/ui/mounts/" in request.url:
            mount_checks.append(request.url)
            time.sleep(0.2)  # widen the window in which the other threads arrive
        return send(session, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", recording_send)
    config = {"stores": {"v": {"kind": "vault", "url": vault.server.url, "token": root_env}}}
    with Resolver(parse_config(config)) as resolver:
        refs = [f"v://secret/{app}/n{i}" for i in range(16)]
        found = resolver.get_many(refs)
        assert [found[ref].reveal() for ref in refs] == [f"{i}-{CANARY}" for i in range(16)]
    assert len(mount_checks) == 1, mount_checks


def test_kv_version_mismatch_is_a_config_error(
    vault: Setup, root_env: str, store_for: StoreFor
) -> None:
    v2_on_v1 = store_for(url=vault.server.url, mount=KV1_MOUNT, token=root_env)
    with pytest.raises(ConfigError, match=r"kv_version: mount 'kv1' is KV version 1"):
        v2_on_v1.get("anything")
    v1_on_v2 = store_for(url=vault.server.url, kv_version=1, token=root_env)
    with pytest.raises(ConfigError, match=r"mount 'secret' is KV version 2"):
        v1_on_v2.list_names("secret/")


def test_list_without_a_mount_option(
    vault: Setup, root_env: str, app: str, store_for: StoreFor
) -> None:
    store = store_for(url=vault.server.url, token=root_env)
    for name in ("a", "b/c", "bb"):
        vault.write(f"{app}/{name}", {"value": name})
    assert store.list_names(f"secret/{app}/b") == [f"secret/{app}/b/c", f"secret/{app}/bb"]
    everything = store.list_names()
    assert f"secret/{app}/a" in everything
    assert store.list_names("sec")[: len(everything)] == everything
    assert store.list_names("kv") == [] or all(p.startswith("kv") for p in store.list_names("kv"))


# ------------------------------------------------------------------ authentication


def test_userpass_logs_in_once_per_store(
    vault: Setup, app: str, store_for: StoreFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, password = vault.user()
    vault.write(f"{app}/db", {"value": f"pg-{CANARY}"})
    monkeypatch.setenv("SB_TEST_PW", password)
    store = store_for(
        url=vault.server.url, auth="userpass", username=user, password="env:SB_TEST_PW"
    )
    with ThreadPoolExecutor(8) as pool:
        values = list(pool.map(lambda _: store.get(f"secret/{app}/db").value, range(40)))
    assert values == [f"pg-{CANARY}"] * 40
    assert logins_of(vault.root, f"userpass-{user}") == 1
    store.health()
    assert_clean(store, store.options)

    monkeypatch.setenv("SB_TEST_PW", f"wrong-{CANARY}")
    wrong = store_for(
        url=vault.server.url, auth="userpass", username=user, password="env:SB_TEST_PW"
    )
    with pytest.raises(
        AccessDenied, match=r"login to Vault failed \(auth method 'userpass'"
    ) as info:
        wrong.get(f"secret/{app}/db")
    assert_clean(info.value)
    with pytest.raises(StoreUnavailable, match="refused this store's credentials"):
        wrong.health()


@pytest.fixture
def approle(vault: Setup, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A new AppRole's credentials in ``$SB_ROLE_ID`` and ``$SB_SECRET_ID``; returns the
    store settings that log in with them."""
    _, role_id, secret_id = vault.approle()
    monkeypatch.setenv("SB_ROLE_ID", role_id)
    monkeypatch.setenv("SB_SECRET_ID", secret_id)
    return {
        "url": vault.server.url,
        "auth": "approle",
        "role_id": "env:SB_ROLE_ID",
        "secret_id": "env:SB_SECRET_ID",
    }


def test_approle(
    vault: Setup,
    app: str,
    store_for: StoreFor,
    approle: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vault.write(f"{app}/k", {"value": "approle-ok"})
    store = store_for(**approle)
    assert store.get(f"secret/{app}/k").value == "approle-ok"
    monkeypatch.setenv("SB_SECRET_ID", str(uuid.uuid4()))
    with pytest.raises(AccessDenied, match="'approle' at auth/approle"):
        store_for(**approle).get(f"secret/{app}/k")


@pytest.mark.parametrize("method", ["jwt", "oidc"])
def test_jwt_and_oidc(
    vault: Setup, app: str, tmp_path: Path, method: str, store_for: StoreFor
) -> None:
    vault.write(f"{app}/k", {"value": f"{method}-ok"})
    token_file = tmp_path / "id_token"
    token_file.write_text(vault.jwt() + "\n")
    store = store_for(url=vault.server.url, auth=method, role=ROLE, jwt=f"file:{token_file}")
    assert store.get(f"secret/{app}/k").value == f"{method}-ok"

    token_file.write_text(vault.jwt(audience="someone-else"))
    other = store_for(url=vault.server.url, auth=method, role=ROLE, jwt=f"file:{token_file}")
    with pytest.raises(AccessDenied, match=f"auth method '{method}' at auth/{method}"):
        other.get(f"secret/{app}/k")
    # A JWT signed by someone else's key is refused too.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token_file.write_text(
        sign_jwt(stranger, {"sub": "x", "aud": "secretbridge", "exp": int(time.time()) + 60})
    )
    with pytest.raises(AccessDenied):
        store_for(url=vault.server.url, auth=method, role=ROLE, jwt=f"file:{token_file}").get(
            f"secret/{app}/k"
        )


def test_kubernetes(vault: Setup, app: str, tmp_path: Path, store_for: StoreFor) -> None:
    vault.write(f"{app}/k", {"value": "k8s-ok"})
    now = int(time.time())
    claims = {
        "iss": "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": "pipelines",
        "kubernetes.io/serviceaccount/service-account.name": "etl-runner",
        "kubernetes.io/serviceaccount/service-account.uid": "uid-pipelines-etl-runner",
        "sub": "system:serviceaccount:pipelines:etl-runner",
        "iat": now,
        "exp": now + 600,
    }
    sa_token = sign_jwt(rsa.generate_private_key(public_exponent=65537, key_size=2048), claims)
    vault.k8s.accounts[sa_token] = ("pipelines", "etl-runner")
    token_file = tmp_path / "sa-token"
    token_file.write_text(sa_token)
    before = vault.k8s.count("POST", "tokenreviews")
    store = store_for(url=vault.server.url, auth="kubernetes", role=ROLE, jwt=f"file:{token_file}")
    for _ in range(5):
        assert store.get(f"secret/{app}/k").value == "k8s-ok"
    assert vault.k8s.count("POST", "tokenreviews") == before + 1, "one login, one review"
    assert vault.k8s.reviewer_tokens[-1] == "Bearer reviewer-token"

    del vault.k8s.accounts[sa_token]  # the service account is gone
    with pytest.raises(AccessDenied, match="'kubernetes' at auth/kubernetes"):
        store_for(url=vault.server.url, auth="kubernetes", role=ROLE, jwt=f"file:{token_file}").get(
            f"secret/{app}/k"
        )


def test_permission_denied_is_access_denied(
    vault: Setup, app: str, store_for: StoreFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault.write(f"forbidden/{app}", {"value": CANARY})
    vault.write(f"{app}/ok", {"value": "fine"})
    child = vault.root.auth.token.create(policies=[POLICY], ttl="10m")["auth"]["client_token"]
    monkeypatch.setenv("SB_CHILD", child)
    store = store_for(url=vault.server.url, token="env:SB_CHILD")
    assert store.get(f"secret/{app}/ok").value == "fine"
    with pytest.raises(AccessDenied, match="permission denied") as info:
        store.get(f"secret/forbidden/{app}")
    assert (info.value.ref, info.value.store) == (f"secret/forbidden/{app}", "v")
    assert_clean(info.value)
    with pytest.raises(AccessDenied):
        store.put(f"secret/{app}/ok", "nope")

    # A login-based store logs in once more on a 403, then gives up.
    user, password = vault.user()
    monkeypatch.setenv("SB_TEST_PW", password)
    login_store = store_for(
        url=vault.server.url, auth="userpass", username=user, password="env:SB_TEST_PW"
    )
    with pytest.raises(AccessDenied, match="permission denied") as info:
        login_store.get(f"secret/forbidden/{app}")
    assert_clean(info.value)
    config = {"stores": {"v": {"kind": "vault", "url": vault.server.url, "token": "env:SB_CHILD"}}}
    with Resolver(parse_config(config)) as resolver:
        ref = f"v://secret/forbidden/{app}#value"
        with pytest.raises(AccessDenied) as info:
            resolver.get(ref)
        assert info.value.ref == ref
        assert_clean(info.value)


# ------------------------------------------------------------------ token lifetime


def test_expired_login_token_is_replaced(
    vault: Setup, app: str, store_for: StoreFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, password = vault.user(ttl="2s")
    vault.write(f"{app}/k", {"value": "still-here"})
    monkeypatch.setenv("SB_TEST_PW", password)
    store = store_for(
        url=vault.server.url, auth="userpass", username=user, password="env:SB_TEST_PW"
    )
    assert store.get(f"secret/{app}/k").value == "still-here"
    first = store._client.token  # to check against the server
    time.sleep(2.3)
    with pytest.raises(hvac.exceptions.VaultError, match=r"permission denied|bad token|invalid"):
        vault.root.auth.token.lookup(first)  # the server has let it expire
    assert store.get(f"secret/{app}/k").value == "still-here"
    assert store._client.token != first


def test_revoked_token_triggers_one_new_login(
    vault: Setup, app: str, store_for: StoreFor, approle: dict[str, Any]
) -> None:
    vault.write(f"{app}/k", {"value": "v"})
    store = store_for(**approle)
    assert store.get(f"secret/{app}/k").value == "v"
    vault.root.adapter.put("/v1/sys/leases/revoke-prefix/auth/approle/login", json={})
    with ThreadPoolExecutor(6) as pool:  # every thread meets the 403; one logs in
        assert set(pool.map(lambda _: store.get(f"secret/{app}/k").value, range(12))) == {"v"}
    assert logins_of(vault.root, "approle") == 1, "the revoked token was replaced once"


def test_token_file_is_reread_after_a_403(
    vault: Setup, app: str, tmp_path: Path, store_for: StoreFor
) -> None:
    vault.write(f"{app}/k", {"value": "v"})
    create = vault.root.auth.token.create
    token_file = tmp_path / "agent-token"
    old = create(policies=[POLICY], ttl="10m")["auth"]["client_token"]
    token_file.write_text(old)
    store = store_for(url=vault.server.url, token=f"file:{token_file}")
    assert store.get(f"secret/{app}/k").value == "v"
    vault.root.auth.token.revoke(old)
    token_file.write_text(create(policies=[POLICY], ttl="10m")["auth"]["client_token"])
    assert store.get(f"secret/{app}/k").value == "v"  # what Vault Agent's sink rotation needs


# ------------------------------------------------------------------ no ambient token


def test_no_silent_fallback_to_ambient_tokens(
    vault: Setup, app: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_for: StoreFor
) -> None:
    vault.write(f"{app}/k", {"value": "ambient"})
    home = tmp_path / "home"
    home.mkdir()
    (home / ".vault-token").write_text(ROOT_TOKEN)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("VAULT_TOKEN", ROOT_TOKEN)
    monkeypatch.setenv("VAULT_ADDR", vault.server.url)
    store = store_for()  # url from $VAULT_ADDR, no credentials configured
    with pytest.raises(ConfigError, match=r"stores\.v: no Vault credentials are configured"):
        store.get(f"secret/{app}/k")
    with (
        Resolver(parse_config({})) as resolver,  # the default `vault://` store, no config
        pytest.raises(ConfigError, match="no Vault credentials"),
    ):
        resolver.get(f"vault://secret/{app}/k")
    explicit = store_for(token="env:VAULT_TOKEN")
    assert explicit.get(f"secret/{app}/k").value == "ambient"
    monkeypatch.delenv("VAULT_ADDR")
    with pytest.raises(ConfigError, match=r"stores\.v\.url: not set"):
        store_for(token="env:VAULT_TOKEN").get(f"secret/{app}/k")


# ------------------------------------------------------------------ namespaces and TLS


def test_namespace(vault: Setup, root_env: str, store_for: StoreFor) -> None:
    namespace = f"team{uuid.uuid4().hex[:6]}"
    vault.root.adapter.post(f"/v1/sys/namespaces/{namespace}")
    inside = vault.server.client(namespace=namespace)
    inside.sys.enable_secrets_engine("kv", path="kv", options={"version": "2"})

    def write() -> bool:
        inside.secrets.kv.v2.create_or_update_secret(
            "db", secret={"value": "ns-value"}, mount_point="kv"
        )
        return True

    deadline = time.monotonic() + 10  # a new KV v2 mount takes a moment to upgrade
    while True:
        try:
            write()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    store = store_for(url=vault.server.url, namespace=namespace, token=root_env)
    assert store.get("kv/db").value == "ns-value"
    assert store.list_names("kv/") == ["kv/db"]
    outside = store_for(url=vault.server.url, token=root_env)
    with pytest.raises(SecretNotFound):
        outside.get("kv/db")


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # verify=False
def test_tls_with_a_ca_file(
    vault: Setup, root_env: str, app: str, tmp_path: Path, store_for: StoreFor
) -> None:
    vault.write(f"{app}/k", {"value": "over-tls"})
    server = vault.server
    store = store_for(url=server.tls_url, ca_file=server.ca_file, token=root_env)
    store.health()
    assert store.get(f"secret/{app}/k").value == "over-tls"

    untrusted = store_for(url=server.tls_url, token=root_env, max_attempts=1)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"SSLError|CERTIFICATE_VERIFY_FAILED"):
        untrusted.get(f"secret/{app}/k")
    assert time.monotonic() - started < 5
    unverified = store_for(url=server.tls_url, verify=False, token=root_env)
    assert unverified.get(f"secret/{app}/k").value == "over-tls"
    with pytest.raises(ConfigError, match=r"stores\.v\.ca_file: no such file"):
        store_for(url=server.tls_url, ca_file=str(tmp_path / "nope.pem"), token=root_env).get(
            f"secret/{app}/k"
        )


# ------------------------------------------------------------------ timeouts and retries


def test_dead_endpoint_fails_fast(root_env: str, store_for: StoreFor) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    store = store_for(url=f"http://127.0.0.1:{port}", token=root_env, max_attempts=2, backoff=0.05)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="ConnectionError") as info:
        store.get("secret/x")
    assert time.monotonic() - started < 3
    assert (info.value.ref, info.value.store) == ("secret/x", "v")
    with pytest.raises(StoreUnavailable):
        store.health()


def test_silent_endpoint_times_out(root_env: str, store_for: StoreFor, silent_port: int) -> None:
    store = store_for(
        url=f"http://127.0.0.1:{silent_port}",
        token=root_env,
        timeout=0.3,
        max_attempts=2,
        backoff=0.05,
    )
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"timed out|Timeout"):
        store.get("secret/x")
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 2.5, elapsed  # two attempts of 0.3 s, not the 10 s default


class FlakyVault(BareStandIn):
    """Enough of Vault's KV v2 read API to check the client's retries."""

    name = "flaky-vault"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.route("GET", "/v1/sys/internal/ui/mounts/secret", self.mount)
        self.route("GET", "/v1/secret/data/(?P<path>.+)", self.read)

    def mount(self, request: Request) -> Response:
        return Response(200, {"data": {"type": "kv", "options": {"version": "2"}}})

    def read(self, request: Request, path: str) -> Response:
        data = {"data": {"value": f"flaky-{path}"}, "metadata": {"version": 7}}
        return Response(200, {"data": data})


@pytest.fixture
def flaky(tmp_path: Path) -> Iterator[FlakyVault]:
    server = FlakyVault(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_transient_errors_are_retried(
    flaky: FlakyVault, root_env: str, store_for: StoreFor
) -> None:
    store = store_for(url=flaky.url, token=root_env, max_attempts=4, backoff=0.01)
    flaky.faults.inject("status", status=503, count=2, path="/v1/secret/data/")
    flaky.faults.inject("drop", count=1, path="/v1/secret/data/")
    assert store.get("secret/a") == StoredValue("flaky-a", "7")
    assert flaky.count("GET", "/v1/secret/data/a") == 4

    flaky.faults.inject("status", status=429, count=10, path="/v1/secret/data/")
    with pytest.raises(StoreUnavailable, match="RateLimitExceeded"):
        store.get("secret/b")
    assert flaky.count("GET", "/v1/secret/data/b") == 4
    flaky.faults.clear()


def test_a_long_retry_after_is_capped(
    flaky: FlakyVault, root_env: str, store_for: StoreFor
) -> None:
    # Vault's rate-limit quotas and load balancers send Retry-After; urllib3 would
    # sleep up to 6 hours on one. The wait must stay bounded.
    store = store_for(url=flaky.url, token=root_env, max_attempts=2, backoff=0.01)
    flaky.faults.inject("status", status=429, count=1, retry_after=3600, path="/v1/secret/data/")
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(store.get("secret/slow")), daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(timeout=15)
    assert not worker.is_alive(), "a Retry-After of an hour was honoured in full"
    assert outcome == [StoredValue("flaky-slow", "7")]
    assert time.monotonic() - started < 15


class NotVault(BareStandIn):
    """A web server that is not Vault (a proxy, a wrong URL prefix): 404 for everything."""

    name = "not-vault"

    def not_found(self, request: Request, method_mismatch: bool) -> Response:
        return Response(404, b"404 page not found\n", {"Content-Type": "text/plain"})


def test_a_404_that_is_not_from_vault_is_not_a_missing_secret(
    root_env: str, tmp_path: Path, store_for: StoreFor
) -> None:
    # A "not found" would let the resolver's chain fall through to the next store and
    # serve another secret: only Vault's own 404 means the secret is missing.
    server = NotVault(tmp_path)
    server.start()
    try:
        store = store_for(url=server.url, token=root_env, max_attempts=1)
        with pytest.raises(StoreUnavailable, match="404") as info:
            store.get("secret/app/db")
        assert (info.value.ref, info.value.store) == ("secret/app/db", "v")
        with pytest.raises(StoreUnavailable):
            store.list_names("secret/app/")
    finally:
        server.stop()


# ------------------------------------------------------------------ config


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"kv_version": 3}, r"kv_version: expected 1 or 2"),
        ({"auth": "ldap"}, r"auth: expected one of"),
        ({"auth": "userpass", "username": "u"}, r"password: auth = 'userpass' needs"),
        ({"auth": "jwt", "jwt": "file:/x"}, r"role: auth = 'jwt' needs"),
        ({"auth": "token"}, r"token: auth = 'token' needs"),
        ({"timeout": 0}, r"timeout: must be more"),
        ({"mount": "/"}, r"mount: must name"),
        ({"client_cert": "c.pem"}, r"client_cert and client_key"),
    ],
)
def test_config_errors_name_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"stores": {"v": {"kind": "vault", **settings}}})


def test_options_repr_hides_credentials() -> None:
    config = parse_config(
        {
            "stores": {
                "v": {"kind": "vault", "auth": "userpass", "username": "u", "password": CANARY}
            }
        }
    )
    assert_clean(config.stores["v"].options, config.stores["v"])


# ------------------------------------------------------------------ dev_env


def test_dev_env_config_and_demo(vault: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    server = vault.server
    for key, value in server.environment().items():
        monkeypatch.setenv(key, value)
    assert TOKEN_ENV in server.environment()
    server.seed_demo()
    config = parse_config({"stores": server.store_configs()})
    with Resolver(config) as resolver:
        resolver.store("vault").health()
        conn = resolver.connection("secret:connections/vault_pg")
        assert (conn.conn_type, conn.host, conn.port) == ("postgres", "db.internal", 5432)
        assert resolver.get("secret:variables/vault_batch_size").reveal() == "250"
        assert resolver.get("secret:teams/analytics/warehouse#user").reveal() == "analyst"
        names = {item.name for item in resolver.list_secrets("connections/")}
        assert "connections/vault_pg" in names
    assert not (Path.home() / ".vault-token").exists() or "vault" not in str(Path.home())
    assert not (server.workdir / ".vault-token").exists()
    endpoints = server.endpoints()
    assert endpoints["root_token"] == ROOT_TOKEN and Path(endpoints["ca_file"]).is_file()


def test_store_is_safe_to_close_and_reuse(
    vault: Setup, root_env: str, app: str, store_for: StoreFor
) -> None:
    vault.write(f"{app}/k", {"value": "again"})
    store = store_for(url=vault.server.url, token=root_env)
    assert store.get(f"secret/{app}/k").value == "again"
    store.close()
    store.close()
    assert store.get(f"secret/{app}/k").value == "again"  # a new client on next use
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(20):
                store.get(f"secret/{app}/k")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors
