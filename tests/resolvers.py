"""Resolvers and stores built the way users build them, for tests: a config document,
then ``Resolver``; each closed when the test ends (the ``resolvers`` fixture)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

from secretbridge import Resolver
from secretbridge.config import parse_config
from secretbridge.stores.base import Store

S = TypeVar("S", bound=Store)


class Resolvers:
    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack

    def resolver(self, stores: Mapping[str, Mapping[str, Any]], **settings: Any) -> Resolver:
        """A resolver over ``stores`` (name -> settings; a ``None`` setting is left out, so
        a test can drop a default), ``settings`` its ``[resolver]`` table."""
        return self.document(
            {
                "resolver": settings,
                "stores": {
                    name: {key: value for key, value in options.items() if value is not None}
                    for name, options in stores.items()
                },
            }
        )

    def document(self, document: Mapping[str, Any]) -> Resolver:
        """A resolver from a whole config document, as parsed from a file."""
        return self._stack.enter_context(Resolver(parse_config(document)))

    def store(self, cls: type[S], name: str, settings: Mapping[str, Any]) -> S:
        """Store ``name`` of a resolver with that one store."""
        store = self.resolver({name: settings}).store(name)
        assert isinstance(store, cls)
        return store


def local_store_toml(store: Path) -> str:
    """A secretbridge config whose chain is one local store kept in ``store``."""
    return f'[resolver]\nchain = ["local"]\n\n[stores.local]\nkind = "local"\npath = "{store}"\n'


def behind_an_outage(config: str) -> str:
    """``config`` (a TOML text whose chain is ``["local"]``) with an AWS Secrets Manager
    store first in the chain, on a loopback port where nothing listens, failing fast: every
    lookup meets an outage before the local store, which may hold decoys."""
    assert 'chain = ["local"]' in config, config
    return config.replace('chain = ["local"]', 'chain = ["aws", "local"]') + (
        '\n[stores.aws]\nkind = "aws-sm"\nregion = "us-east-1"\n'
        'endpoint_url = "http://127.0.0.1:9"\nmax_attempts = 1\nconnect_timeout = 1\ntimeout = 1\n'
    )
