"""The Dagster code location of ``make demo``: assets that read secrets through
secretbridge's resources, resolved in the run, from the local store and the dev_env stores
(moto's Secrets Manager, OpenBao), plus dagster-aws's ``S3Resource`` fed with an access key
pair held in moto's Secrets Manager.

    dagster asset materialize -m dev_env.dagster_demo --select '*'   # multiprocess executor
    python -m dev_env.dagster_demo                                     # materialize(), in-process

It expects what ``make demo`` (``dev_env/demo.py``) sets up: ``SECRETBRIDGE_CONFIG``
naming a config whose chain holds the local store, ``aws-sm`` (moto) and ``vault``
(OpenBao), with the demo's secrets, and ``DEMO_AWS_URL`` (moto's address: an endpoint, not
a secret); ``DEMO_OUT``, if set, is a file the ``warehouse`` asset writes
``conn_type://login@host`` to (logs show *** for the host: a resolved connection's every
field is redacted).
Each asset prints ``DEMO`` lines that say what it resolved, with every value hidden: its
length, or the value itself through logging, which the redaction turns into ``***``.
"""

# No `from __future__ import annotations`: Dagster checks the `context` annotation itself.
import logging
import os
import sys

from dagster import AssetExecutionContext, Definitions, asset, get_dagster_logger, materialize
from dagster_aws.s3 import S3Resource

from secretbridge import Connection
from secretbridge.dagster import ConnectionResource, ResolvedResource, SecretsResource

#: The S3 key pair the S3Resource gets: two fields of one secret in moto's Secrets Manager.
S3_KEYS = "aws-sm://demo/s3_keys"
BUCKET = "secretbridge-demo"
REGION = "us-east-1"


def say(line: str) -> None:
    """One ``DEMO`` line in one write (steps run in parallel share the terminal)."""
    sys.stdout.write(f"DEMO {line}\n")
    sys.stdout.flush()


def hidden(value: str | None) -> str:
    return f"<{len(value or '')} characters>"


def show(conn: Connection) -> str:
    """``conn_type://login@host``: what both halves of the demo compare."""
    return f"{conn.conn_type}://{conn.login}@{conn.host}"


@asset
def warehouse(
    context: AssetExecutionContext, secrets: SecretsResource, warehouse_conn: ConnectionResource
) -> None:
    """The connection Airflow's backend serves as ``warehouse``, read both ways."""
    by_id = secrets.connection("warehouse")
    assert by_id == warehouse_conn.connection, "the two resources disagree"
    # Every field of a resolved connection is redacted from logs (the host too), so the
    # line logged here reads snowflake://etl@*** and the demo reads the file.
    say(f"warehouse -> {show(by_id)}, password {hidden(by_id.password)}")
    context.log.info(f"DEMO context.log of the password: {by_id.password}")
    out = os.environ.get("DEMO_OUT")
    if out:
        with open(out, "w") as file:
            file.write(show(warehouse_conn.connection))


@asset
def tour(secrets: SecretsResource) -> None:
    """Single values from four stores (one batched call per store), a namespace loaded
    as dotted keys, and connections found further down the chain (moto, OpenBao)."""
    refs = [
        "secret:variables/batch_size",  # the local store
        "aws-sm://variables/demo_region",  # moto's Secrets Manager
        "vault://variables/vault_batch_size",  # OpenBao (KV v2, mount "secret")
        "secret:team/api_token",  # a routed name: the custom store
    ]
    for ref, secret in secrets.get_many(refs).items():
        say(f"get_many {ref:36} from {secret.store:10} {hidden(secret.reveal())}")
    token = secrets.get("team-vault://team/api_token").reveal()
    # WARNING: with no handler configured, stdlib logging reaches stderr (the compute log).
    logging.getLogger("demo").warning("DEMO stdlib logging of team/api_token: %s", token)
    for key, secret in secrets.load("SNOWFLAKE/").items():
        say(f"load('SNOWFLAKE/') {key:20} {hidden(secret.reveal())}")
        get_dagster_logger().info(f"DEMO get_dagster_logger of {key}: {secret.reveal()}")
    for conn_id in ("demo_postgres", "vault_pg"):
        conn = secrets.connection(conn_id)
        say(f"connection {conn_id:13} -> {show(conn)}, password {hidden(conn.password)}")


@asset
def s3_listing(s3: S3Resource) -> None:
    """dagster-aws's S3Resource, built in the run with a key pair resolved from the store."""
    client = s3.get_client()
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="hello.txt", Body=b"hello from secretbridge")
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET)["Contents"]]
    say(f"S3Resource: s3://{BUCKET} holds {keys} (key id {hidden(s3.aws_access_key_id)})")
    print(f"DEMO S3Resource: print of its secret key: {s3.aws_secret_access_key}\n", end="")


defs = Definitions(
    assets=[warehouse, tour, s3_listing],
    resources={
        "secrets": SecretsResource(),  # $SECRETBRIDGE_CONFIG, as Airflow's backend
        "warehouse_conn": ConnectionResource(conn_id="warehouse"),
        "s3": ResolvedResource.of(
            S3Resource,
            aws_access_key_id=f"{S3_KEYS}#access_key_id",
            aws_secret_access_key=f"{S3_KEYS}#secret_access_key",
            endpoint_url=os.environ.get("DEMO_AWS_URL"),
            region_name=REGION,
        ),
    },
)


def main() -> None:
    """The same assets with ``materialize()``: the in-process executor, no instance."""
    result = materialize(defs.assets, resources=defs.resources)  # type: ignore[arg-type]
    say(f"materialize(): success={result.success}")


if __name__ == "__main__":
    main()
