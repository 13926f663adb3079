"""The API calls a real boto3 client makes, for the aws-sm and aws-ssm tests."""

from __future__ import annotations

from collections import Counter
from typing import Any


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
