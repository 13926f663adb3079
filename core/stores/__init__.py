"""Store kinds. A new store is one module here plus one line in ``BUILTIN_KINDS``.

Nothing is imported until a store of that kind is configured, so a vendor SDK that is
not used costs nothing (and need not be installed).
"""

from __future__ import annotations

#: kind -> "module:Class". Modules are imported on first use.
BUILTIN_KINDS: dict[str, str] = {
    "local": "secretbridge.stores.local:LocalStore",
    "env": "secretbridge.stores.env:EnvStore",
    "custom": "secretbridge.stores.custom:CustomStore",
}

#: Every scheme the reference grammar reserves, including kinds still to come, so that
#: ``aws-sm://prod/db`` is always a reference (and fails clearly), never a literal.
RESERVED_SCHEMES: frozenset[str] = frozenset(
    {*BUILTIN_KINDS, "aws-sm", "aws-ssm", "azure-kv", "gcp-sm", "vault", "k8s"}
)

#: Entry-point group through which other packages add store kinds.
ENTRY_POINT_GROUP = "secretbridge.stores"
