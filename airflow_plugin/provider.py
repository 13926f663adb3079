"""Provider metadata, found by Airflow through the ``apache_airflow_provider`` entry point
(``airflow providers list``, ``airflow providers secrets``). Importing it imports nothing
of Airflow's."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    from secretbridge import __version__

    return {
        "package-name": "secretbridge",  # must equal the distribution's name
        "name": "secretbridge",
        "description": "One secret resolver for Airflow and Dagster: name a secret in a "
        "connection, a variable or a config value; never hold its value.",
        "versions": [__version__],
        "secrets-backends": ["secretbridge.airflow.SecretsBackend"],
    }
