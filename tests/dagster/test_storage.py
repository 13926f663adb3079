"""Runs of the canary assets in a real Dagster, by ``dagster asset materialize``
(multiprocess executor), by ``materialize()`` (in process, on a persistent instance) and
launched through ``dagster dev``'s GraphQL: each succeeds, the assets receive the right
values (digests in their metadata), every channel they wrote a value to shows ``***`` in
its place, and nothing under DAGSTER_HOME holds a value: raw files, compute logs, and
every SQLite cell with its zlib blobs unpacked."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from dagster_canaries import CANARIES, DAGSTER_YAML, CanaryStore
from dagster_kit import DagsterDev, dagster_env, materialize, materialize_in_process
from defs_canary import CHANNELS, INNER_REF, MANAGED_LOGGER, PLAIN_LOGGER, TOKEN_REF, digest, line
from leaks import assert_no_leak, places
from resolvers import behind_an_outage

pytestmark = pytest.mark.slow

#: Where each channel's lines land: a cell of the event log, or a compute-log file
#: (``storage/<run>/compute_logs/<key>.out``/``.err``).
EVENT_LOG = "event_logs.event"
LANDS_IN = {
    "context.log": EVENT_LOG,
    "get_dagster_logger": EVENT_LOG,
    MANAGED_LOGGER: EVENT_LOG,
    PLAIN_LOGGER: ".err",
    "stdout": ".out",
    "stderr": ".err",
}
#: Each label the assets write, and the canary it carries.
LABELS = {
    "connection": CANARIES["connection"],
    "connection_resource": CANARIES["connection"],
    "token": CANARIES["token"],
    "loaded:db.password": CANARIES["loaded"],
    "inner": CANARIES["inner"],
    "s3": CANARIES["s3"],
}


def assert_run_left_no_value_and_redacted_every_channel(home: Path) -> None:
    redacted = {(c, label): line(c, label, "***") for c in CHANNELS for label in LABELS}
    digests = {label: digest(value) for label, value in LABELS.items()}
    found = places(home, *CANARIES.values(), INNER_REF, *redacted.values(), *digests.values())
    leaked = {value: found[value] for value in CANARIES.values() if found[value]}
    assert leaked == {}, "values stored under DAGSTER_HOME"
    # The resources' config is kept only inside runs.db's zlib-compressed snapshots: the
    # scan reached them (the reference is there, so a value would have been found).
    assert any("snapshots.snapshot_body" in place for place in found[INNER_REF]), found
    for (channel, _), text in redacted.items():
        where = found[text]
        assert any(LANDS_IN[channel] in place for place in where), (
            f"{text!r} is not in the {LANDS_IN[channel]} (found in {where})"
        )
    for label, hexdigest in digests.items():  # the asset received the right value
        assert any(EVENT_LOG in place for place in found[hexdigest]), label


@pytest.mark.parametrize(
    ("runner", "executor"),
    [
        (materialize, "Executing steps using multiprocess executor"),
        (materialize_in_process, "Executing steps in process"),
    ],
    ids=["dagster-asset-materialize", "materialize()"],
)
def test_a_materialization_stores_no_value(
    tmp_path: Path,
    canary_env: Callable[[Path], dict[str, str]],
    runner: Callable[[str, str, dict[str, str]], subprocess.CompletedProcess[str]],
    executor: str,
) -> None:
    home = tmp_path / "dagster_home"
    done = runner("defs_canary", "canary_values,canary_inner", canary_env(home))
    assert done.returncode == 0, done.stdout[-6000:]
    assert executor in done.stdout
    assert_run_left_no_value_and_redacted_every_channel(home)
    assert_no_leak(CANARIES.values(), done.stdout)  # the console
    assert line("context.log", "token", "***") in done.stdout


def test_a_run_launched_through_graphql_stores_no_value(dev: DagsterDev, launched_run: str) -> None:
    assert_run_left_no_value_and_redacted_every_channel(dev.home)
    assert_no_leak(CANARIES.values(), dev.log.read_text(errors="replace"))


def test_a_store_outage_fails_the_cli_run_at_set_up_and_serves_no_other_source(
    tmp_path: Path, canary_store: CanaryStore
) -> None:
    """AWS, first in the chain, is down; the local store after it holds every name (the
    canaries, as decoys). Each step process fails at resource set-up naming the reference
    and the store; no asset runs and no value is served, printed or stored."""
    outage = tmp_path / "outage.toml"
    outage.write_text(behind_an_outage(canary_store.config.read_text()))
    home = tmp_path / "dagster_home"
    env = dagster_env(home, outage, canary_store.home, dagster_yaml=DAGSTER_YAML)
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    done = materialize("defs_canary", "canary_values,canary_inner", env)
    assert done.returncode != 0, done.stdout[-4000:]
    assert "Executing steps using multiprocess executor" in done.stdout
    assert "STEP_START" not in done.stdout, "an asset ran on an empty or wrong source"
    for name in (TOKEN_REF, INNER_REF):  # the first reference each step's set-up resolves
        pattern = rf"StoreUnavailable: cannot reach AWS: .*ref '{re.escape(name)}', store 'aws'"
        assert re.search(pattern, done.stdout), name
    assert_no_leak(CANARIES.values(), done.stdout)
    found = places(home, *CANARIES.values())
    assert {value: where for value, where in found.items() if where} == {}
