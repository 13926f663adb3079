"""AWS Secrets Manager, SSM Parameter Store and STS on one machine: moto's standalone
server (``moto_server``, from the ``moto[server]`` package) on 127.0.0.1.

moto speaks the real wire protocol (JSON 1.1 over HTTP, SigV4 accepted but not
checked), so the stores use the real boto3 client with ``endpoint_url`` pointing here.
Test credentials only: moto accepts any key.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .service import LOOPBACK, ProcessService, find_binary, free_port

REGION = "us-east-1"
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"  # noqa: S105 - moto's test credentials
#: the variables the store configs read through env: (not AWS_*, so that sourcing
#: .dev_env/env.sh does not replace a developer's real AWS credentials)
KEY_VAR = "DEV_AWS_ACCESS_KEY_ID"
SECRET_VAR = "DEV_AWS_SECRET_ACCESS_KEY"  # noqa: S105 - a variable name


class MotoServer(ProcessService):
    name = "aws"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.port = 0
        self._clients: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        self.spawn(
            [find_binary("moto_server", "moto[server]"), "-H", LOOPBACK, "-p", str(self.port)]
        )
        self.wait_ready(self._answers, timeout=30)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError:
            pass  # an HTTP answer, even an error, means it is up
        return True

    def stop(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        super().stop()

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this server (cached), for seeding."""
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.url,
                region_name=REGION,
                aws_access_key_id=ACCESS_KEY_ID,
                aws_secret_access_key=SECRET_ACCESS_KEY,
            )
        return self._clients[service]

    def put_secrets(self, secrets: Mapping[str, str | bytes]) -> dict[str, str]:
        """Secrets Manager: each name created with its value, or given it as a new version
        if it exists (text as SecretString, bytes as SecretBinary); the version ids."""
        sm = self.client("secretsmanager")
        versions = {}
        for name, value in secrets.items():
            body = {"SecretString": value} if isinstance(value, str) else {"SecretBinary": value}
            try:
                response = sm.put_secret_value(SecretId=name, **body)
            except sm.exceptions.ResourceNotFoundException:
                response = sm.create_secret(Name=name, **body)
            versions[name] = str(response["VersionId"])
        return versions

    def endpoints(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "region": REGION,
            "services": ["secretsmanager", "ssm", "sts"],
            "access_key_id": ACCESS_KEY_ID,
            "secret_access_key": SECRET_ACCESS_KEY,
        }

    def store_settings(self, kind: str) -> dict[str, Any]:
        """One store table of ``kind`` (``aws-sm`` or ``aws-ssm``) pointing at this server."""
        return {
            "kind": kind,
            "endpoint_url": self.url,
            "region": REGION,
            "access_key_id": f"env:{KEY_VAR}",
            "secret_access_key": f"env:{SECRET_VAR}",
            "timeout": 5.0,
            "connect_timeout": 2.0,
        }

    def store_configs(self) -> dict[str, dict[str, Any]]:
        return {"aws-sm": self.store_settings("aws-sm"), "aws-ssm": self.store_settings("aws-ssm")}

    def environment(self) -> dict[str, str]:
        return {KEY_VAR: ACCESS_KEY_ID, SECRET_VAR: SECRET_ACCESS_KEY}

    def seed_demo(self) -> None:
        ssm = self.client("ssm")
        self.put_secrets(
            {
                "connections/demo_postgres": json.dumps(
                    {
                        "conn_type": "postgres",
                        "login": "report",
                        "password": "pg-demo-pass",
                        "host": "db.internal",
                        "port": 5432,
                        "schema": "sales",
                    }
                ),
                "variables/demo_region": "eu-west-1",
            }
        )
        for name, value in {
            "/connections/demo_redis": "redis://:redis-demo-pass@cache.internal:6379/0",
            "/variables/demo_batch_size": "500",
        }.items():
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
