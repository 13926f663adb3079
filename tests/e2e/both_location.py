"""The Dagster code location of ``test_both_orchestrators.py``: one asset that writes the
connection ``SecretsResource.connection`` gave it, as JSON, to the file ``$BOTH_OUT``
(the test compares it with what Airflow's CLI shows). The config file is the resource's
field, as a user points Dagster at the file Airflow's backend reads."""

import json
import os

from dagster import Definitions, asset

from secretbridge.dagster import SecretsResource


@asset
def shared_connection(secrets: SecretsResource) -> None:
    conn = secrets.connection(os.environ["BOTH_CONN_ID"])
    fields = ("conn_type", "host", "login", "password", "port", "schema")
    got = {field: getattr(conn, field) for field in fields}
    with open(os.environ["BOTH_OUT"], "w") as out:
        json.dump({**got, "extra": conn.extra_dejson}, out)


defs = Definitions(
    assets=[shared_connection],
    resources={"secrets": SecretsResource(config=os.environ["BOTH_CONFIG"])},
)
