"""Runs of the canary assets in a real Dagster, by ``dagster asset materialize``
(multiprocess executor), by ``materialize()`` (in process, on a persistent instance) and
launched through ``dagster dev``'s GraphQL: each succeeds, the assets receive the right
values (digests in their metadata), every channel they wrote a value to shows ``***`` in
its place, and nothing under DAGSTER_HOME holds a value: raw files, compute logs, and
every SQLite cell with its zlib blobs unpacked."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from dagster_canaries import CANARIES
from dagster_kit import DagsterDev, materialize, materialize_in_process
from defs_canary import CHANNELS, INNER_REF, MANAGED_LOGGER, PLAIN_LOGGER, digest, line
from leaks import assert_no_leak, places

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
