"""The public store interface: what every store kind shares, checked across kinds
without a server (options, capabilities, versions, the exported names)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import secretbridge.stores as stores
from secretbridge import ConfigError
from secretbridge.config import parse_config
from secretbridge.naming import PLAIN
from secretbridge.stores import (
    BUILTIN_KINDS,
    BackoffOptions,
    Capabilities,
    StoreContext,
    TransportOptions,
    load_store_class,
)

REMOTE = ("aws-sm", "aws-ssm", "azure-kv", "gcp-sm", "vault", "k8s")
TUNABLE_BACKOFF = ("azure-kv", "gcp-sm", "vault", "k8s")


def parse(kind: str, **settings: Any) -> Any:
    return parse_config({"stores": {"s": {"kind": kind, **settings}}}).stores["s"]


def test_the_plugin_api_is_exported() -> None:
    for name in stores.__all__:
        assert getattr(stores, name) is not None, name
    with pytest.raises(AttributeError):
        _ = stores.NoSuchThing  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", REMOTE)
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"timeout": 0}, "stores.s.timeout: must be more than 0 seconds"),
        ({"timeout": math.nan}, "stores.s.timeout: must be more than 0 seconds"),
        ({"timeout": math.inf}, "stores.s.timeout: must be more than 0 seconds"),
        ({"max_attempts": 0}, "stores.s.max_attempts: must be at least 1"),
        ({"timeout": "fast"}, "stores.s.timeout: expected `float`, got `str`"),
    ],
)
def test_transport_options_have_one_name_and_one_check(
    kind: str, settings: dict[str, Any], message: str
) -> None:
    assert issubclass(load_store_class(kind).Options, TransportOptions)
    with pytest.raises(ConfigError) as info:
        parse(kind, **settings)
    assert str(info.value) == message


@pytest.mark.parametrize("kind", TUNABLE_BACKOFF)
def test_backoff_options_have_one_name_and_one_check(kind: str) -> None:
    assert issubclass(load_store_class(kind).Options, BackoffOptions)
    options = parse(kind, backoff=0.01, backoff_max=0.5).options
    assert (options.backoff, options.backoff_max) == (0.01, 0.5)
    for key in ("backoff", "backoff_max"):
        with pytest.raises(ConfigError, match=rf"^stores\.s\.{key}: must be zero or more seconds"):
            parse(kind, **{key: -1})
    with pytest.raises(ConfigError, match=r"^stores\.s\.max_backoff: unknown setting"):
        parse(kind, max_backoff=1)


@pytest.mark.parametrize("kind", ("azure-kv", "vault", "k8s", "aws-sm"))
def test_connect_timeout_is_checked_like_timeout(kind: str) -> None:
    with pytest.raises(ConfigError, match=r"^stores\.s\.connect_timeout: must be more than 0"):
        parse(kind, connect_timeout=0)


def build(kind: str, tmp_path: Path, **settings: Any) -> Any:
    spec = parse(kind, **settings)
    cls = load_store_class(kind)
    return cls("s", spec.options, naming=spec.naming, context=StoreContext(tmp_path, tmp_path))


def test_capabilities_depend_on_the_instance_not_a_patched_class(tmp_path: Path) -> None:
    standard = build("aws-ssm", tmp_path)
    advanced = build("aws-ssm", tmp_path, tier="Advanced")
    assert (standard.capabilities.max_value_size, advanced.capabilities.max_value_size) == (
        4096,
        8192,
    )
    assert load_store_class("aws-ssm").capabilities.max_value_size == 4096
    kv1 = build("vault", tmp_path, kv_version=1)
    assert not kv1.capabilities.versions and kv1.capabilities.writable
    assert build("vault", tmp_path).capabilities.versions


def test_every_kind_declares_what_the_interface_asks() -> None:
    for kind in BUILTIN_KINDS:
        cls = load_store_class(kind)
        assert cls.kind == kind
        assert isinstance(cls.capabilities, Capabilities)
        assert cls.default_naming is not None
    assert load_store_class("local").default_naming == PLAIN
