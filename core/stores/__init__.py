"""Store kinds, and the public API for writing one (documented in :mod:`.base`).

A new built-in store is one module here plus one line in ``BUILTIN_KINDS``; a plugin
store is a ``Store`` subclass registered under the ``secretbridge.stores`` entry points.
Nothing is imported until a store of that kind is configured, so a vendor SDK that is
not used costs nothing (and need not be installed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import (
        BackoffOptions,
        Capabilities,
        Lazy,
        Store,
        StoreContext,
        StoredValue,
        StoreOptions,
        TransportOptions,
        import_sdk,
        load_store_class,
    )

#: kind -> "module:Class". Modules are imported on first use.
BUILTIN_KINDS: dict[str, str] = {
    "local": "secretbridge.stores.local:LocalStore",
    "env": "secretbridge.stores.env:EnvStore",
    "custom": "secretbridge.stores.custom:CustomStore",
    "aws-sm": "secretbridge.stores.aws_sm:SecretsManagerStore",
    "aws-ssm": "secretbridge.stores.aws_ssm:ParameterStore",
    "azure-kv": "secretbridge.stores.azure_kv:KeyVaultStore",
    "gcp-sm": "secretbridge.stores.gcp_sm:SecretManagerStore",
    "vault": "secretbridge.stores.vault:VaultStore",
    "k8s": "secretbridge.stores.k8s:KubernetesStore",
}

#: Every scheme the reference grammar knows, so that ``aws-sm://prod/db`` is always a
#: reference (and fails clearly if unusable), never a literal.
RESERVED_SCHEMES: frozenset[str] = frozenset(BUILTIN_KINDS)

#: Entry-point group through which other packages add store kinds.
ENTRY_POINT_GROUP = "secretbridge.stores"

__all__ = [
    "BUILTIN_KINDS",
    "ENTRY_POINT_GROUP",
    "RESERVED_SCHEMES",
    "BackoffOptions",
    "Capabilities",
    "Lazy",
    "Store",
    "StoreContext",
    "StoreOptions",
    "StoredValue",
    "TransportOptions",
    "import_sdk",
    "load_store_class",
]


def __getattr__(name: str) -> Any:
    # The interface lives in .base, which imports the config machinery; the reference
    # grammar imports this package for RESERVED_SCHEMES, so .base loads on first use.
    if name in __all__:
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
