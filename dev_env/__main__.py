"""``python -m dev_env up``: every store's server on 127.0.0.1, seeded, with a ready config.

Starts moto (AWS Secrets Manager and SSM), a real OpenBao dev server, and the stand-ins
for Azure Key Vault, GCP Secret Manager and the Kubernetes API; seeds demo secrets in
each with the vendor's SDK; writes

    .dev_env/secretbridge.toml   a config whose stores point at all of them
    .dev_env/endpoints.json      each service's endpoints and test credentials
    .dev_env/env.sh              the variables the config reads through env:

then prints the endpoints and waits for Ctrl-C, when it stops everything it started.
``--check`` starts, checks every store through secretbridge, and stops.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click
import tomli_w

from .service import Service

#: dev_env modules holding one Service each, in start order
SERVICE_MODULES = ("aws", "vault", "azure_kv", "gcp_sm", "k8s")
DEFAULT_DIR = Path(__file__).resolve().parent.parent / ".dev_env"


def service_classes(only: Sequence[str] = ()) -> list[type[Service]]:
    """The Service subclass defined in each dev_env module (optionally a subset by name)."""
    found = []
    for module_name in SERVICE_MODULES:
        module = importlib.import_module(f"{__package__}.{module_name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, Service)
                and cls.__module__ == module.__name__
                and not inspect.isabstract(cls)
                and getattr(cls, "name", None)
            ):
                found.append(cls)
    if only:
        unknown = set(only) - {cls.name for cls in found}
        if unknown:
            names = ", ".join(sorted(cls.name for cls in found))
            raise click.BadParameter(f"unknown service {sorted(unknown)[0]!r}; known: {names}")
        found = [cls for cls in found if cls.name in only]
    return found


@contextlib.contextmanager
def running(folder: Path, only: Sequence[str] = ()) -> Iterator[list[Service]]:
    """Start the services (stopping those already started if one fails), seed them and
    write the config files; stop everything on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        services: list[Service] = []
        for cls in service_classes(only):
            service = cls(folder)
            stack.enter_context(service)
            services.append(service)
        environment: dict[str, str] = {}
        for service in services:
            environment.update(service.environment())
        os.environ.update(environment)
        for service in services:
            service.seed_demo()
        write_files(folder, services, environment)
        _init_local(folder)
        yield services


def write_files(folder: Path, services: Sequence[Service], environment: dict[str, str]) -> None:
    stores: dict[str, Any] = {}
    for service in services:
        stores.update(service.store_configs())
    stores["local"] = {"kind": "local", "path": "local/store.db", "key_file": "local/store.key"}
    config = {"resolver": {"chain": list(stores)}, "stores": stores}
    (folder / "secretbridge.toml").write_text(
        "# Written by `python -m dev_env up`: every store points at a server on 127.0.0.1.\n"
        "# Credentials are read from the environment: `source .dev_env/env.sh` first.\n"
        + tomli_w.dumps(config)
    )
    endpoints = {service.name: service.endpoints() for service in services}
    (folder / "endpoints.json").write_text(json.dumps(endpoints, indent=2) + "\n")
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(environment.items()))
    config_line = f"export SECRETBRIDGE_CONFIG={shlex.quote(str(folder / 'secretbridge.toml'))}\n"
    (folder / "env.sh").write_text(
        "# Test credentials for the dev_env servers.\n" + exports + config_line
    )


@click.group()
def main() -> None:
    """Local servers for every secretbridge store, on 127.0.0.1."""


@main.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path),
    default=DEFAULT_DIR,
    show_default=True,
    help="Where the servers keep their files and the config.",
)
@click.option("--only", multiple=True, help="Start only these services (repeatable).")
@click.option("--check", is_flag=True, help="Start, check every store, then stop.")
def up(folder: Path, only: tuple[str, ...], check: bool) -> None:
    """Start every service, seed it, write the config, and wait for Ctrl-C."""
    folder = folder.resolve()
    with running(folder, only) as services:
        for service in services:
            click.echo(f"{service.name:10} {json.dumps(service.endpoints())}")
        click.echo(f"config     {folder / 'secretbridge.toml'}")
        click.echo(f"endpoints  {folder / 'endpoints.json'}")
        click.echo(f"variables  source {folder / 'env.sh'}")
        if check:
            sys.exit(_check(folder))
        click.echo("ready; Ctrl-C stops everything", err=True)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        while not stop.wait(3600):
            pass
        click.echo("stopping", err=True)


def _init_local(folder: Path) -> None:
    """Create the config's local store, as `secretbridge init` would, with a demo secret."""
    from secretbridge import Resolver
    from secretbridge.stores.local import LocalStore

    with Resolver.from_config(folder / "secretbridge.toml") as resolver:
        local = resolver.store("local")
        assert isinstance(local, LocalStore)
        local.init()
        resolver.put("demo/local_token", "local-demo-value", store="local")


def _check(folder: Path) -> int:
    from secretbridge import Resolver, SecretBridgeError

    failures = 0
    with Resolver.from_config(folder / "secretbridge.toml") as resolver:
        for name in resolver.config.stores:
            try:
                resolver.store(name).health()
                names = resolver.list_secrets(store=name)
                click.echo(f"ok    {name}: {len(names)} secret(s)")
            except SecretBridgeError as error:
                failures += 1
                click.echo(f"FAIL  {name}: {error}")
    return 1 if failures else 0


if __name__ == "__main__":
    main()
