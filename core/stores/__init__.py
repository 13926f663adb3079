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
