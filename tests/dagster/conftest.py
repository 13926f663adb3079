"""The Dagster tests' fixtures: one canary store per session, a fresh DAGSTER_HOME per
``dagster asset materialize``, and one ``dagster dev`` per session (it takes 15-30 s to
start) with one run of the canary assets launched through GraphQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dagster_canaries import DAGSTER_YAML, CanaryStore, plant
from dagster_kit import DagsterDev, dagster_dev, dagster_env
from defs_canary import TOKEN_REF


@pytest.fixture(scope="session")
def canary_store(tmp_path_factory: pytest.TempPathFactory) -> CanaryStore:
    return plant(tmp_path_factory.mktemp("secretbridge"))


@pytest.fixture
def canary_env(canary_store: CanaryStore) -> Callable[[Path], dict[str, str]]:
    """The ``dagster`` environment for a DAGSTER_HOME reading the canary store."""

    def make(home: Path) -> dict[str, str]:
        return dagster_env(home, canary_store.config, canary_store.home, dagster_yaml=DAGSTER_YAML)

    return make


@pytest.fixture(scope="session")
def dev(
    canary_store: CanaryStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterDev]:
    home = tmp_path_factory.mktemp("dagster_dev") / "home"
    env = dagster_env(home, canary_store.config, canary_store.home, dagster_yaml=DAGSTER_YAML)
    with dagster_dev("defs_canary", env) as server:
        yield server


@pytest.fixture(scope="session")
def launched_run(dev: DagsterDev) -> str:
    """The id of a successful GraphQL-launched run of both canary assets; its run config
    names a reference (so that ``runConfigYaml`` has one to show)."""

    run_id = dev.launch(
        ["canary_values", "canary_inner"],
        {"resources": {"secrets": {"config": {"prefetch": [TOKEN_REF]}}}},
    )
    status = dev.wait(run_id)
    assert status == "SUCCESS", f"run {run_id} ended {status}\n{dev.tail()}"
    return run_id
