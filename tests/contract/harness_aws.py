"""The AWS stores in the contract suite: ``aws-sm`` and ``aws-ssm`` against moto,
seeded with boto3 (the vendor SDK), not through the store under test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from harness import HarnessEnv, StoreHarness, contract_store

from dev_env.aws import MotoServer
from secretbridge.stores._aws import withhold_botocore_values


def _server(env: HarnessEnv) -> MotoServer:
    server: MotoServer = env.request.getfixturevalue("moto_server")
    for variable, value in server.environment().items():
        env.monkeypatch.setenv(variable, value)
    withhold_botocore_values()  # the seeding client logs through botocore too
    return server


@contract_store("aws-sm")
def aws_sm_store(env: HarnessEnv) -> Iterator[StoreHarness]:
    server = _server(env)
    client = server.client("secretsmanager")

    def seed(physical: str, value: str | bytes) -> str:
        body = {"SecretString": value} if isinstance(value, str) else {"SecretBinary": value}
        try:
            response = client.put_secret_value(SecretId=physical, **body)
        except client.exceptions.ResourceNotFoundException:
            response = client.create_secret(Name=physical, **body)
        return str(response["VersionId"])

    settings = server.store_settings("aws-sm")
    yield StoreHarness(
        env.resolver(settings), seed=seed, settings=settings, absent_version=str(uuid.uuid4())
    )


@contract_store("aws-ssm")
def aws_ssm_store(env: HarnessEnv) -> Iterator[StoreHarness]:
    server = _server(env)
    client = server.client("ssm")

    def seed(physical: str, value: str | bytes) -> str:
        if not isinstance(value, str):
            raise TypeError("SSM parameters hold text only")
        response = client.put_parameter(
            Name=physical, Value=value, Type="SecureString", Overwrite=True
        )
        return str(response["Version"])

    settings = server.store_settings("aws-ssm")
    yield StoreHarness(
        env.resolver(settings), seed=seed, settings=settings, absent_version="999999"
    )
