"""The ``azure-kv`` store's own promises, with the real SecretClient and azure-identity
credentials against the dev_env Key Vault stand-in (HTTPS, its own CA, the bearer
challenge, an App Service managed-identity endpoint): the challenge happens once and the
token is reused, DefaultAzureCredential works from the environment, a service principal
(ClientSecretCredential) logs in to the stand-in's Entra ID token service, versions, paging,
disabled secrets, soft delete, binary values, throttling retried then given up,
dead endpoints bounded by the timeouts, 403 and revoked tokens as AccessDenied, and no
secret value in any error, repr or log line."""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from leaks import CANARY, assert_clean
from resolvers import Resolvers

from dev_env.azure_kv import KeyVaultStandIn
from dev_env.service import free_port
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
from secretbridge.stores.azure_kv import BINARY_CONTENT_TYPE, KeyVaultStore

STORE = "kv"

Make = Callable[..., KeyVaultStore]


def unique(stem: str = "t") -> str:
    return f"{stem}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def no_ambient_azure(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """No service principal or workload identity from the test runner's environment;
    and no canary in any log record of any test here."""
    for variable in (
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_FEDERATED_TOKEN_FILE",
        "AZURE_USERNAME",
        "MSI_ENDPOINT",
        "IMDS_ENDPOINT",
        "IDENTITY_SERVER_THUMBPRINT",
    ):
        monkeypatch.delenv(variable, raising=False)
    caplog.set_level(logging.DEBUG)
    yield
    assert CANARY not in caplog.text, "a secret value reached the logs"


def kv_settings(server: KeyVaultStandIn, **overrides: Any) -> dict[str, Any]:
    """The stand-in's ``azure-kv`` store with short timeouts; ``overrides`` win."""
    short = {"timeout": 5.0, "connect_timeout": 2.0, "backoff": 0.05, "backoff_max": 0.2}
    return server.store_settings(**{**short, **overrides})


@pytest.fixture
def make(azure_kv: KeyVaultStandIn, resolvers: Resolvers) -> Make:
    def build(**overrides: Any) -> KeyVaultStore:
        return resolvers.store(KeyVaultStore, STORE, kv_settings(azure_kv, **overrides))

    return build


@pytest.fixture
def seed(azure_kv: KeyVaultStandIn) -> Iterator[Any]:
    client = azure_kv.client()
    yield client
    client.close()


@pytest.fixture
def name(seed: Any) -> str:
    """A new secret in the stand-in, holding the canary."""
    name = unique()
    seed.set_secret(name, CANARY)
    return name


# ------------------------------------------------------------------ authentication


def test_the_bearer_challenge_happens_once_and_the_token_is_reused(
    fresh_azure_kv: KeyVaultStandIn, resolvers: Resolvers
) -> None:
    server = fresh_azure_kv
    seeder = server.client()
    seeder.set_secret("challenged", f"v-{CANARY}")
    seeder.close()
    server.log.clear()
    assert server.identity.count() == 0

    store = resolvers.store(KeyVaultStore, STORE, kv_settings(server))
    assert store.get("challenged").value == f"v-{CANARY}"
    # The SDK met this vault's challenge through the seeding client (the challenge
    # cache is per process), so this store asks for a token straight away...
    assert server.identity.count("GET", "/msi/token") == 1
    for _ in range(5):
        assert store.get("challenged").value == f"v-{CANARY}"
    # ...and keeps it: one token for six calls, each answered 200.
    assert server.identity.count("GET", "/msi/token") == 1
    assert [status for _, _, status in server.log] == [200] * 6


def test_the_first_call_meets_the_challenge_then_sends_the_token(
    fresh_azure_kv: KeyVaultStandIn, resolvers: Resolvers
) -> None:
    server = fresh_azure_kv  # a new port: no client in this process has met its challenge
    store = resolvers.store(KeyVaultStore, STORE, kv_settings(server))
    version = store.put("written", CANARY)
    # The SDK sends the PUT without its body first, gets the challenge, fetches a
    # token from the managed identity and sends the PUT again, whole.
    assert server.log == [("PUT", "/secrets/written", 401), ("PUT", "/secrets/written", 200)]
    assert server.identity.count("GET", "/msi/token") == 1
    assert store.get("written") == type(store.get("written"))(CANARY, version)
    with pytest.raises(SecretNotFound):
        store.get("nothing-here")
    assert [status for _, _, status in server.log[2:]] == [200, 200, 404]
    assert server.identity.count("GET", "/msi/token") == 1


def test_default_azure_credential_uses_the_managed_identity_variables(
    azure_kv: KeyVaultStandIn, make: Make, name: str
) -> None:
    before = azure_kv.identity.count("GET", "/msi/token")
    store = make(credential="default")
    assert store.get(name).value == CANARY
    assert azure_kv.identity.count("GET", "/msi/token") == before + 1
    store.health()


def test_a_user_assigned_identity_by_client_id(
    azure_kv: KeyVaultStandIn, make: Make, name: str
) -> None:
    azure_kv.client_ids.add("0b1c2d3e-user-assigned")
    assert make(client_id="0b1c2d3e-user-assigned").get(name).value == CANARY
    with pytest.raises(AccessDenied, match="authentication failed") as info:
        make(client_id="not-an-identity-of-this-app").get(name)
    assert_clean(info.value)


def test_a_revoked_token_is_refused(azure_kv: KeyVaultStandIn, make: Make, name: str) -> None:
    store = make()
    assert store.get(name).value == CANARY
    azure_kv.revoke_tokens()
    with pytest.raises(AccessDenied, match="authentication failed") as info:
        store.get(name)
    assert (info.value.ref, info.value.store) == (name, STORE)
    assert ("GET", f"/secrets/{name}/", 401) in azure_kv.log
    assert_clean(info.value)


def test_forbidden_is_access_denied(azure_kv: KeyVaultStandIn, make: Make, name: str) -> None:
    azure_kv.denied.add(name)
    store = make()
    with pytest.raises(AccessDenied, match=r"403 Forbidden ForbiddenByRbac") as info:
        store.get(name)
    assert (info.value.ref, info.value.store) == (name, STORE)
    assert_clean(info.value)
    with pytest.raises(AccessDenied):
        store.put(name, CANARY)
    # The resolver stops at a refusal: it does not fall through to the next store.
    outcome = store.get_many([name])[name]
    assert isinstance(outcome, AccessDenied)


# ------------------------------------------------------------------ service principal

TOKEN_PATH = "/oauth2/v2.0/token"
OPENID_PATH = "/v2.0/.well-known/openid-configuration"
SECRET_ENV = "SB_TEST_AZURE_CLIENT_SECRET"


@pytest.fixture
def make_sp(
    azure_kv: KeyVaultStandIn, make: Make, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Make]:
    """Stores that log in as the stand-in's service principal (ClientSecretCredential),
    the secret read from an environment variable, the stand-in as the authority."""
    monkeypatch.setenv(SECRET_ENV, azure_kv.client_secret)

    def make_sp(**overrides: Any) -> KeyVaultStore:
        settings: dict[str, Any] = {
            "credential": "client_secret",
            "tenant_id": azure_kv.tenant,
            "client_id": azure_kv.client_id,
            "client_secret": f"env:{SECRET_ENV}",
            "authority": azure_kv.url,
            "disable_instance_discovery": True,
        }
        settings.update(overrides)
        return make(**settings)

    yield make_sp
    azure_kv.service_principals = {azure_kv.client_id: azure_kv.client_secret}


def test_client_secret_logs_in_once_and_reuses_the_token(
    azure_kv: KeyVaultStandIn, make_sp: Make, name: str
) -> None:
    msi_before = azure_kv.identity.count()
    openid_before = azure_kv.count("GET", OPENID_PATH)
    token_before = azure_kv.count("POST", TOKEN_PATH)
    store = make_sp()
    assert store.get(name).value == CANARY
    # MSAL read the tenant's OpenID configuration from the stand-in (the authority), then
    # posted the client credentials to the token endpoint it names.
    assert azure_kv.count("GET", f"/{azure_kv.tenant}{OPENID_PATH}") == openid_before + 1
    assert azure_kv.count("POST", f"/{azure_kv.tenant}{TOKEN_PATH}") == token_before + 1
    version = store.put(name, f"v2-{CANARY}")
    for _ in range(4):
        assert store.get(name) == type(store.get(name))(f"v2-{CANARY}", version)
    with pytest.raises(SecretNotFound):
        store.get(unique("absent"))
    store.health()
    # One login for every call: the token is cached; the managed identity was never asked.
    assert azure_kv.count("POST", TOKEN_PATH) == token_before + 1
    assert azure_kv.count("GET", OPENID_PATH) == openid_before + 1
    assert azure_kv.identity.count() == msi_before


def test_a_wrong_client_secret_is_access_denied_without_the_secret(
    azure_kv: KeyVaultStandIn, make_sp: Make, seed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique()
    seed.set_secret(name, "a value that must not be served")
    monkeypatch.setenv(SECRET_ENV, CANARY)  # the canary is the (wrong) client secret
    before = azure_kv.count("POST", TOKEN_PATH)
    store = make_sp()
    with pytest.raises(AccessDenied, match="authentication failed") as info:
        store.get(name)
    message = str(info.value)
    assert "client_secret credential" in message
    assert "AADSTS7000215" in message and "Invalid client secret" in message
    assert (info.value.ref, info.value.store) == (name, STORE)
    assert_clean(info.value)
    # A refusal is not retried: one token request, and the vault served nothing.
    assert azure_kv.count("POST", TOKEN_PATH) == before + 1
    assert all(status == 401 for _, path, status in azure_kv.log if path.endswith(name + "/"))
    outcome = store.get_many([name])[name]
    assert isinstance(outcome, AccessDenied)
    assert_clean(outcome)
    with pytest.raises(StoreUnavailable, match="AADSTS7000215") as health:
        store.health()
    assert_clean(health.value)

    # An application the directory does not know is refused too, and says so.
    monkeypatch.setenv(SECRET_ENV, azure_kv.client_secret)
    with pytest.raises(AccessDenied, match="AADSTS700016") as info:
        make_sp(client_id="00000000-0000-0000-0000-00000000dead").get(name)
    assert_clean(info.value)


def test_the_client_secret_read_from_a_file(
    azure_kv: KeyVaultStandIn, make_sp: Make, name: str, tmp_path: Any
) -> None:
    secret_file = tmp_path / "client-secret"
    secret_file.write_text(azure_kv.client_secret + "\n")  # as `echo` or a k8s secret writes it
    assert make_sp(client_secret=f"file:{secret_file}").get(name).value == CANARY

    with pytest.raises(ConfigError, match=r"stores\.kv\.client_secret: cannot read") as info:
        make_sp(client_secret=f"file:{tmp_path / 'missing'}").get(name)
    assert_clean(info.value)


def test_the_authority_decides_where_the_login_goes(
    azure_kv: KeyVaultStandIn, make_sp: Make, name: str
) -> None:
    # A bare host is an https authority (azure-identity adds the scheme).
    before = azure_kv.count("POST", TOKEN_PATH)
    assert make_sp(authority=azure_kv.url.removeprefix("https://")).get(name).value == CANARY
    assert azure_kv.count("POST", TOKEN_PATH) == before + 1

    # Another authority (nothing listening there): the login fails, within the
    # timeouts, as the store being unavailable (not a refusal), and the stand-in's
    # token endpoint is never asked.
    before = azure_kv.count("POST", TOKEN_PATH)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="token service could not be reached") as info:
        make_sp(authority=f"https://127.0.0.1:{free_port()}", max_attempts=2).get(name)
    assert time.monotonic() - started < 5
    assert azure_kv.count("POST", TOKEN_PATH) == before
    assert_clean(info.value)


def test_the_token_service_is_retried_like_the_vault(
    azure_kv: KeyVaultStandIn, make_sp: Make, name: str
) -> None:
    azure_kv.faults.inject("status", status=503, count=1, path=TOKEN_PATH)
    before = azure_kv.count("POST", TOKEN_PATH)
    assert make_sp(max_attempts=2).get(name).value == CANARY
    assert azure_kv.count("POST", TOKEN_PATH) == before + 2

    # A token service that keeps failing: the store is unavailable, not refused.
    azure_kv.faults.inject("status", status=503, count=10, path=TOKEN_PATH)
    before = azure_kv.count("POST", TOKEN_PATH)
    with pytest.raises(StoreUnavailable, match=r"token service failed.*503") as info:
        make_sp(max_attempts=3).get(name)
    assert azure_kv.count("POST", TOKEN_PATH) == before + 3
    assert_clean(info.value)


def test_client_secret_configuration_errors(azure_kv: KeyVaultStandIn) -> None:
    def parse(**settings: Any) -> Any:
        return parse_config({"stores": {STORE: {"kind": "azure-kv", **settings}}})

    sp = {"credential": "client_secret", "tenant_id": "t", "client_id": "c"}
    with pytest.raises(ConfigError, match=r"authority: must be an https"):
        parse(vault_url=azure_kv.url, client_secret="env:X", authority="http://login", **sp)
    with pytest.raises(ConfigError, match=r"disable_instance_discovery: only used"):
        parse(vault_url=azure_kv.url, disable_instance_discovery=True)


def test_the_service_principal_store_config_of_dev_env(
    azure_kv: KeyVaultStandIn, seed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m dev_env`` writes ``azure-kv-sp``: it works with environment() alone."""
    name = unique()
    seed.set_secret(name, CANARY)
    for variable, value in azure_kv.environment().items():
        monkeypatch.setenv(variable, value)
    resolver = Resolver(parse_config({"stores": azure_kv.store_configs()}))
    try:
        assert resolver.store("azure-kv-sp").get(name).value == CANARY
    finally:
        resolver.close()


# ------------------------------------------------------------------ reads and writes


def test_versions(make: Make) -> None:
    store = make()
    name = unique()
    versions = [store.put(name, f"v{i}-{CANARY}") for i in range(3)]
    assert all(v is not None and len(v) == 32 for v in versions)
    assert len(set(versions)) == 3
    assert store.get(name).version == versions[-1]
    for i, version in enumerate(versions):
        got = store.get(name, version)
        assert (got.value, got.version) == (f"v{i}-{CANARY}", version)
    with pytest.raises(SecretNotFound, match=r"version '0+'") as info:
        store.get(name, "0" * 32)
    assert_clean(info.value)
    with pytest.raises(InvalidReference, match="not a Key Vault version id"):
        store.get(name, "../other")


def test_list_follows_next_links_across_pages(azure_kv: KeyVaultStandIn, make: Make) -> None:
    store = make()
    prefix = unique("pg")
    names = sorted(f"{prefix}-{i:02d}" for i in range(13))
    for name in names:
        store.put(name, CANARY)
    azure_kv.page_size = 4
    before = azure_kv.count("GET", "/secrets")
    listed = store.list_names(prefix)
    assert listed == names
    pages = azure_kv.count("GET", "/secrets") - before
    total = len(store.list_names())
    assert pages >= 4, pages
    assert total >= 13


def test_disabled_secrets_are_not_listed_and_cannot_be_read(make: Make, seed: Any) -> None:
    store = make()
    prefix = unique("dis")
    seed.set_secret(f"{prefix}-on", CANARY)
    seed.set_secret(f"{prefix}-off", CANARY, enabled=False)
    assert store.list_names(prefix) == [f"{prefix}-on"]
    with pytest.raises(AccessDenied, match="SecretDisabled") as info:
        store.get(f"{prefix}-off")
    assert_clean(info.value)


def test_binary_values_are_base64_with_a_content_type(make: Make, seed: Any) -> None:
    store = make()
    name = unique()
    value = bytes(range(256)) + CANARY.encode()
    version = store.put(name, value)
    got = store.get(name)
    assert got == type(got)(value, version)
    raw = seed.get_secret(name)
    assert raw.properties.content_type == BINARY_CONTENT_TYPE
    assert base64.b64decode(raw.value) == value
    # Text written by anyone else stays text, whatever it looks like.
    seed.set_secret(name, base64.b64encode(b"abc").decode(), content_type="text/plain")
    assert store.get(name).value == "YWJj"


def test_a_binary_marked_value_that_is_not_base64_is_invalid_secret_value(
    make: Make, seed: Any
) -> None:
    store = make()
    name = unique()
    seed.set_secret(name, f"not base64 {CANARY}", content_type=BINARY_CONTENT_TYPE)
    with pytest.raises(InvalidSecretValue, match="not base64") as info:
        store.get(name)
    assert (info.value.ref, info.value.store) == (name, STORE)
    assert_clean(info.value)


def test_soft_delete_keeps_the_name_until_purged(make: Make, seed: Any) -> None:
    store = make()
    name = unique()
    store.put(name, CANARY)
    store.delete(name)
    with pytest.raises(SecretNotFound):
        store.get(name)
    assert seed.get_deleted_secret(name).name == name
    with pytest.raises(StoreUnavailable, match="recover or purge it first") as info:
        store.put(name, f"again-{CANARY}")
    assert_clean(info.value)
    seed.purge_deleted_secret(name)
    store.put(name, f"again-{CANARY}")

    purging = make(purge_on_delete=True)
    purging.delete(name)
    with pytest.raises(ResourceNotFoundError):  # the SDK's own: purged, gone for good
        seed.get_deleted_secret(name)
    purging.put(name, CANARY)  # the name is free at once
    with pytest.raises(SecretNotFound):
        purging.delete(unique("never"))


def test_a_value_the_vault_refuses(azure_kv: KeyVaultStandIn, make: Make) -> None:
    azure_kv.max_value_bytes = 25 * 1024
    store = make()
    with pytest.raises(InvalidSecretValue, match="BadParameter") as info:
        store.put(unique(), CANARY * 1000)
    assert_clean(info.value)


def test_names_key_vault_cannot_hold_are_refused_before_any_call(
    azure_kv: KeyVaultStandIn, make: Make
) -> None:
    store = make()
    before = azure_kv.count()
    for bad in ("a/b", "under_score", "", "x" * 128):
        with pytest.raises(InvalidReference, match="letters, digits and dashes"):
            store.get(bad)
    assert azure_kv.count() == before


# ------------------------------------------------------------------ failures


def _warm(store: KeyVaultStore) -> None:
    """One call so that the challenge and the token are behind us."""
    with pytest.raises(SecretNotFound):
        store.get(unique("warm"))


def test_throttling_is_retried_honouring_a_capped_retry_after(
    azure_kv: KeyVaultStandIn, make: Make, name: str
) -> None:
    store = make(max_attempts=3, backoff_max=0.3)
    _warm(store)
    azure_kv.faults.inject("status", status=429, retry_after=30, count=2, path=name)
    started = time.monotonic()
    assert store.get(name).value == CANARY
    assert time.monotonic() - started < 3, "Retry-After: 30 is capped at backoff_max"
    assert azure_kv.count("GET", name) == 3


def test_throttling_that_does_not_stop_is_store_unavailable(
    azure_kv: KeyVaultStandIn, make: Make, name: str
) -> None:
    store = make(max_attempts=3)
    _warm(store)
    azure_kv.faults.inject("status", status=429, retry_after=0.05, count=10, path=name)
    with pytest.raises(StoreUnavailable, match="kept throttling after 3 attempts") as info:
        store.get(name)
    assert "429" in str(info.value)
    assert (info.value.ref, info.value.store) == (name, STORE)
    assert azure_kv.count("GET", name) == 3
    assert_clean(info.value)


def test_server_errors_are_retried_then_reported(
    azure_kv: KeyVaultStandIn, make: Make, name: str
) -> None:
    store = make(max_attempts=2)
    _warm(store)
    azure_kv.faults.inject("status", status=503, count=1, path=name)
    assert store.get(name).value == CANARY
    azure_kv.faults.inject("status", status=500, count=5, path=name)
    with pytest.raises(StoreUnavailable, match="failed after 2 attempts") as info:
        store.get(name)
    assert_clean(info.value)
    azure_kv.faults.clear()
    azure_kv.faults.inject("drop", count=1, path=name)
    assert store.get(name).value == CANARY


def test_nothing_listening_fails_fast(make: Make) -> None:
    store = make(vault_url=f"https://127.0.0.1:{free_port()}", max_attempts=2)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="could not reach Key Vault") as info:
        store.get("anything")
    assert time.monotonic() - started < 5
    assert info.value.store == STORE
    with pytest.raises(StoreUnavailable, match="cannot serve reads"):
        store.health()


def test_a_silent_endpoint_fails_within_the_timeouts(make: Make, silent_port: int) -> None:
    store = make(
        vault_url=f"https://127.0.0.1:{silent_port}",
        timeout=0.5,
        connect_timeout=0.5,
        max_attempts=2,
    )
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        store.get("anything")
    elapsed = time.monotonic() - started
    assert elapsed < 4, elapsed
    assert "Timeout" in str(info.value) or "timed out" in str(info.value)


# ------------------------------------------------------------------ configuration


def test_configuration_errors_name_the_key(
    azure_kv: KeyVaultStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parse(**settings: Any) -> Any:
        return parse_config({"stores": {STORE: {"kind": "azure-kv", **settings}}})

    with pytest.raises(ConfigError, match=r"stores\.kv\..*vault_url: .*https"):
        parse(vault_url="http://127.0.0.1:1")
    with pytest.raises(ConfigError, match=r"client_secret: required"):
        parse(vault_url=azure_kv.url, credential="client_secret", tenant_id="t", client_id="c")
    with pytest.raises(ConfigError, match=r"credential"):
        parse(vault_url=azure_kv.url, credential="password")
    with pytest.raises(ConfigError, match=r"tenant_id: only used"):
        parse(vault_url=azure_kv.url, tenant_id="t")
    with pytest.raises(ConfigError, match=r"max_attempts"):
        parse(vault_url=azure_kv.url, max_attempts=0)

    resolver = Resolver(parse(credential="managed_identity"))
    with pytest.raises(ConfigError, match=r"stores\.kv\.vault_url: required"):
        resolver.store(STORE).get("x")
    resolver.close()

    monkeypatch.delenv("SB_TEST_AZURE_SECRET", raising=False)
    resolver = Resolver(
        parse(
            vault_url=azure_kv.url,
            credential="client_secret",
            tenant_id="t",
            client_id="c",
            client_secret="env:SB_TEST_AZURE_SECRET",
        )
    )
    with pytest.raises(
        ConfigError, match=r"client_secret: environment variable SB_TEST_AZURE_SECRET"
    ):
        resolver.store(STORE).get("x")
    resolver.close()


def test_repr_and_close(make: Make) -> None:
    store = make()
    store.put(name := unique(), CANARY)
    assert store.get(name).value == CANARY
    assert_clean(store, store.get(name))
    store.close()
    assert store.get(name).value == CANARY  # a closed store builds a new client on use
    store.close()
    store.close()
