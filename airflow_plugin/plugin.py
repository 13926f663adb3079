"""The Airflow plugin: the Secrets page's FastAPI app and its navigation entry.

Registered through the ``airflow.plugins`` entry point, so Airflow imports this module in
every process it starts (scheduler, workers, each task process, ``airflow version``).
It must stay cheap there: it imports nothing of FastAPI and builds no app. The app is
built when Airflow first iterates ``fastapi_apps``, which only the API server does to
mount plugin apps (and ``airflow plugins`` / ``GET /api/v2/plugins`` to describe them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/secretbridge"


class _LazyApps(Sequence[dict[str, Any]]):
    """``fastapi_apps`` built on first use: the one entry, with the app made then."""

    def __init__(self) -> None:
        self._items: list[dict[str, Any]] | None = None

    def _load(self) -> list[dict[str, Any]]:
        if self._items is None:
            from .ui import create_app

            self._items = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Secrets"}]
        return self._items

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | Sequence[dict[str, Any]]:
        return self._load()[index]

    def __len__(self) -> int:
        return len(self._load())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._load())

    def __repr__(self) -> str:
        return f"<secretbridge fastapi_apps ({'built' if self._items is not None else 'lazy'})>"


class SecretbridgePlugin(AirflowPlugin):
    name = "secretbridge"
    fastapi_apps = _LazyApps()  # type: ignore[assignment]
    external_views = [  # noqa: RUF012 - Airflow's own attribute, a plain list
        {
            "name": "Secrets",
            "href": f"{URL_PREFIX}/",
            "url_route": "secretbridge-secrets",  # shown inside Airflow's UI at /plugin/...
            "destination": "nav",
            "category": "admin",
        }
    ]
