"""What the aws-sm and aws-ssm tests share: the API calls a real boto3 client makes, and
references to and stores of the ``aws`` resolver the ``aws_resolver`` fixture builds."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from secretbridge import Reference, Resolver, format_reference
from secretbridge.stores.base import Store

S = TypeVar("S", bound=Store)

MakeResolver = Callable[..., Resolver]


class Calls:
    """Records each call a boto3 client really makes (botocore's event system): its
    operation name, and its parameters in ``params``."""

    def __init__(self, client: Any) -> None:
        self.calls: list[str] = []
        self.params: list[tuple[str, dict[str, Any]]] = []
        client.meta.events.register("before-call.*.*", self._call)
        client.meta.events.register("before-parameter-build.*.*", self._params)

    def _call(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def _params(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.params.append((model.name, dict(params)))

    def count(self) -> Counter[str]:
        return Counter(self.calls)


def store_in(cls: type[S], resolver: Resolver) -> S:
    """The resolver's ``aws`` store, checked to be a ``cls``."""
    store = resolver.store("aws")
    assert isinstance(store, cls)
    return store


def ref(physical: str, version: str | None = None, field: str | None = None) -> str:
    """A reference to ``physical`` in the ``aws`` store."""
    return format_reference(Reference(physical, store="aws", version=version, field=field))


def without_botocore_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take off whatever value filter an earlier test left on botocore's loggers, so that
    a debug-log test proves the store installs its own."""
    for name in ("botocore.endpoint", "botocore.parsers"):
        monkeypatch.setattr(logging.getLogger(name), "filters", [])
