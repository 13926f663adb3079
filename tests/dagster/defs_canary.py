"""A code location for the leak tests (``dagster ... -m defs_canary``): its assets get a
connection, a single value and a loaded namespace through secretbridge's resources, and
feed a resource of their own that wants a plain ``password: str`` through
``ResolvedResource``; then they write every value to every channel a user might, inside
longer lines. What Dagster keeps afterwards must show ``***`` there and never a value.

It knows only references; the values are planted in the store by the tests
(``dagster_canaries``). Each asset's metadata carries a digest of what it received, so a
test can tell the right value arrived without the value being stored."""

# No ``from __future__ import annotations``: Dagster checks the annotations themselves.
import hashlib
import logging
import sys

from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    Definitions,
    MaterializeResult,
    asset,
    get_dagster_logger,
)
from dagster_aws.s3 import S3Resource

from secretbridge.dagster import ConnectionResource, ResolvedResource, SecretsResource

CONN_ID = "warehouse"
TOKEN_REF = "secret:app/token"
NAMESPACE = "team/"
INNER_REF = "secret:db/inner#password"
S3_KEYS = "secret:aws/s3_keys"
#: A stdlib logger listed in dagster.yaml's ``python_logs.managed_python_loggers`` (its
#: records reach the event log), and one that is not (its warnings reach stderr).
MANAGED_LOGGER = "canary.managed"
PLAIN_LOGGER = "canary.plain"
CHANNELS = ("context.log", "get_dagster_logger", MANAGED_LOGGER, PLAIN_LOGGER, "stdout", "stderr")


def line(channel: str, label: str, value: str) -> str:
    """What an asset writes: the value inside a longer line."""
    return f"[{channel}] {label} password={value} end"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Database(ConfigurableResource):
    """Stands for a third-party resource that wants its password as a plain string."""

    host: str
    user: str
    password: str


def _emit(context: AssetExecutionContext, label: str, value: str) -> None:
    context.log.info(line("context.log", label, value))
    get_dagster_logger().info(line("get_dagster_logger", label, value))
    logging.getLogger(MANAGED_LOGGER).warning(line(MANAGED_LOGGER, label, value))
    logging.getLogger(PLAIN_LOGGER).warning(line(PLAIN_LOGGER, label, value))
    print(line("stdout", label, value), flush=True)
    print(line("stderr", label, value), file=sys.stderr, flush=True)


@asset
def canary_values(
    context: AssetExecutionContext, secrets: SecretsResource, warehouse: ConnectionResource
) -> MaterializeResult:
    values = {
        "connection": secrets.connection(CONN_ID).password or "",
        "connection_resource": warehouse.connection.password or "",
        "token": secrets.get(TOKEN_REF).reveal(),
        **{f"loaded:{key}": secret.reveal() for key, secret in secrets.load(NAMESPACE).items()},
    }
    for label, value in values.items():
        _emit(context, label, value)
    return MaterializeResult(metadata={label: digest(value) for label, value in values.items()})


@asset
def canary_inner(
    context: AssetExecutionContext, database: Database, s3: S3Resource
) -> MaterializeResult:
    _emit(context, "inner", database.password)
    secret_key = s3.aws_secret_access_key or ""
    _emit(context, "s3", secret_key)
    s3.get_client()  # a real dagster-aws client built from the resolved key pair (no call)
    return MaterializeResult(
        metadata={
            "inner": digest(database.password),
            "s3": digest(secret_key),
            "user": database.user,
        }
    )


defs = Definitions(
    assets=[canary_values, canary_inner],
    resources={
        "secrets": SecretsResource(prefetch=[TOKEN_REF]),
        "warehouse": ConnectionResource(conn_id=CONN_ID),
        "database": ResolvedResource.of(
            Database, host="db.internal", user="svc_canary", password=INNER_REF
        ),
        # dagster-aws's own resource, its key pair resolved per run; the endpoint is never
        # called (the asset only builds the client).
        "s3": ResolvedResource.of(
            S3Resource,
            aws_access_key_id=f"{S3_KEYS}#access_key_id",
            aws_secret_access_key=f"{S3_KEYS}#secret_access_key",
            region_name="us-east-1",
            endpoint_url="http://127.0.0.1:9",
        ),
    },
)
