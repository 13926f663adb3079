"""``secretbridge.airflow``: the Airflow 3 secrets backend and UI plugin.

Imports only secretbridge's public API; ``secretbridge`` itself never imports Airflow.
``SecretsBackend`` is imported on first access, so that importing this package (or its
``provider`` module, which Airflow reads in every process) imports nothing of Airflow's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import SecretsBackend

__all__ = ["SecretsBackend"]


def __getattr__(name: str) -> Any:
    if name == "SecretsBackend":
        from .backend import SecretsBackend

        return SecretsBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
