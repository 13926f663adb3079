"""The AWS stores: ``aws-sm`` and ``aws-ssm`` against moto, seeded with boto3 (the vendor
SDK), not through the store under test."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from typing import Any

from dev_env.aws import MotoServer
from secretbridge.testing import Seed, StoreHarness

from .factory import HarnessEnv, nowhere


def _server(env: HarnessEnv) -> MotoServer:
    server: MotoServer = env.request.getfixturevalue("moto_server")
    for variable, value in server.environment().items():
        env.monkeypatch.setenv(variable, value)
    return server


@contextlib.contextmanager
def _botocore_quiet() -> Iterator[None]:
    """Silence botocore (every ``botocore.*`` logger) while the harness's own client
    seeds: its DEBUG lines carry the value it writes. Only around seeding, so that the
    filter that keeps values out of those lines is the one the store under test
    installs, never one the harness put there for the whole process."""
    logger = logging.getLogger("botocore")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _harness(
    env: HarnessEnv, server: MotoServer, kind: str, seed: Seed, absent_version: str
) -> StoreHarness:
    settings: dict[str, Any] = server.store_settings(kind)
    down = {**settings, "endpoint_url": f"http://{nowhere()}"}
    return env.harness(settings, seed, down=down, absent_version=absent_version)


def aws_sm_store(env: HarnessEnv) -> Iterator[StoreHarness]:
    server = _server(env)

    def seed(physical: str, value: str | bytes) -> str:
        with _botocore_quiet():
            return server.put_secrets({physical: value})[physical]

    yield _harness(env, server, "aws-sm", seed, absent_version=str(uuid.uuid4()))


def aws_ssm_store(env: HarnessEnv) -> Iterator[StoreHarness]:
    server = _server(env)
    client = server.client("ssm")

    def seed(physical: str, value: str | bytes) -> str:
        if not isinstance(value, str):
            raise TypeError("SSM parameters hold text only")
        with _botocore_quiet():
            response = client.put_parameter(
                Name=physical, Value=value, Type="SecureString", Overwrite=True
            )
        return str(response["Version"])

    yield _harness(env, server, "aws-ssm", seed, absent_version="999999")
