"""``secretbridge.dagster``: Dagster resources that name secrets, resolved per run, and
log redaction for the values they resolve.

    from secretbridge.dagster import SecretsResource
    defs = Definitions(assets=[...], resources={"secrets": SecretsResource()})

Imports only secretbridge's public API; ``secretbridge`` itself never imports Dagster.
"""

from .resources import (
    ConnectionResource,
    ResolvedResource,
    ResolvedResourceError,
    SecretsResource,
)

__all__ = ["ConnectionResource", "ResolvedResource", "ResolvedResourceError", "SecretsResource"]
