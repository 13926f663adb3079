"""A real Dagster for the tests: a clean environment for the ``dagster`` command (its own
DAGSTER_HOME, nothing of the developer's DAGSTER_*/SECRETBRIDGE_*/AIRFLOW* settings),
``dagster asset materialize`` with a bounded timeout, and ``dagster dev`` on 127.0.0.1
driven through GraphQL: launch a run of the asset job and wait (bounded) for it to end.

Code location modules live beside this file and are loaded with ``-m MODULE``."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processes import BIN, clean_env, free_port, run, start, stop_group

DAGSTER = BIN / "dagster"
HERE = Path(__file__).parent
ASSET_JOB = "__ASSET_JOB"
REPOSITORY = "__repository__"
#: No telemetry (it writes DAGSTER_HOME/logs and would call out).
BASE_YAML = "telemetry:\n  enabled: false\n"
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def dagster_env(
    home: Path, config: Path, secretbridge_home: Path, *, dagster_yaml: str | None = None
) -> dict[str, str]:
    """The environment for ``dagster`` at ``home`` (created; its dagster.yaml is
    :data:`BASE_YAML` plus ``dagster_yaml``), reading secretbridge's ``config`` (a local
    store's key lives in ``secretbridge_home``), code locations importable from here."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(BASE_YAML + (dagster_yaml or ""))
    return clean_env(
        "DAGSTER_",
        "AIRFLOW",
        "_AIRFLOW",
        DAGSTER_HOME=str(home),
        SECRETBRIDGE_CONFIG=str(config),
        SECRETBRIDGE_HOME=str(secretbridge_home),
        PYTHONPATH=str(HERE),
    )


def materialize(
    module: str, select: str, env: Mapping[str, str], *, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """``dagster asset materialize -m MODULE --select SELECT`` (the asset job's default
    executor: multiprocess), output merged; the caller checks the return code."""
    args = [str(DAGSTER), "asset", "materialize", "-m", module, "--select", select]
    return run(args, env, timeout=timeout, cwd=HERE)


# ``materialize()`` in a fresh Python: the in-process executor, DagsterInstance.get() (the
# env's DAGSTER_HOME) so that the run persists like a deployed one.
_IN_PROCESS = """
import importlib, sys
from dagster import DagsterInstance, materialize
defs = importlib.import_module(sys.argv[1]).defs
with DagsterInstance.get() as instance:
    result = materialize(
        list(defs.assets), resources=dict(defs.resources), instance=instance,
        selection=sys.argv[2].split(","),
    )
sys.exit(0 if result.success else 1)
"""


def materialize_in_process(
    module: str, select: str, env: Mapping[str, str], *, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """``dagster.materialize()`` of the ``select``ed assets (comma-separated keys) of
    ``module``'s ``defs``, in a new Python with ``env``; output merged."""
    args = [str(BIN / "python"), "-c", _IN_PROCESS, module, select]
    return run(args, env, timeout=timeout, cwd=HERE)


class GraphQLError(AssertionError):
    pass


@dataclass
class DagsterDev:
    """A running ``dagster dev`` serving one code location."""

    url: str
    home: Path
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes]

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST /graphql; the ``data`` of the answer, or GraphQLError with its errors."""
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(  # noqa: S310 - our own loopback URL
            f"{self.url}/graphql", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
            document = json.loads(answer.read())
        if document.get("errors"):
            raise GraphQLError(json.dumps(document["errors"], indent=1)[:4000])
        data: dict[str, Any] = document["data"]
        return data

    def location(self) -> str:
        """The name of the (single) code location, once it has loaded."""
        data = self.graphql(REPOSITORIES)["repositoriesOrError"]
        nodes = data.get("nodes") or []
        if len(nodes) != 1:
            raise GraphQLError(f"expected one loaded repository, got {data}")
        return str(nodes[0]["location"]["name"])

    def selector(self) -> dict[str, str]:
        return {"repositoryLocationName": self.location(), "repositoryName": REPOSITORY}

    def launch(self, assets: Sequence[str], run_config: Mapping[str, Any] | None = None) -> str:
        """Launch the asset job for ``assets`` (keys of one part) through GraphQL; the
        run id."""
        params = {
            "selector": {
                **self.selector(),
                "jobName": ASSET_JOB,
                "assetSelection": [{"path": [key]} for key in assets],
            },
            "runConfigData": dict(run_config or {}),
            "mode": "default",
        }
        result = self.graphql(LAUNCH, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise GraphQLError(f"launchRun failed: {json.dumps(result)[:4000]}")
        return str(result["run"]["runId"])

    def wait(self, run_id: str, *, timeout: float = 180) -> str:
        """The run's final status, polled until it ends (bounded)."""
        deadline = time.monotonic() + timeout
        status = "?"
        while time.monotonic() < deadline:
            self.check_running()
            status = self.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]["status"]
            if status in FINISHED:
                return str(status)
            time.sleep(0.5)
        raise AssertionError(f"run {run_id} still {status} after {timeout} s\n{self.tail()}")

    def check_running(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"dagster dev exited ({self.process.returncode}):\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextmanager
def dagster_dev(
    module: str, env: Mapping[str, str], *, ready_within: float = 180
) -> Iterator[DagsterDev]:
    """``dagster dev -h 127.0.0.1 -p PORT -m MODULE`` in its own process group (signals
    reset), yielded once its code location has loaded; stopped by group."""
    home = Path(env["DAGSTER_HOME"])
    port = free_port()
    log = home / "dagster-dev.log"
    with log.open("wb") as out:
        process = start(
            [str(DAGSTER), "dev", "-h", "127.0.0.1", "-p", str(port), "-m", module],
            env,
            cwd=HERE,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = DagsterDev(f"http://127.0.0.1:{port}", home, dict(env), log, process)
    try:
        _wait_loaded(server, ready_within)
        yield server
    finally:
        stop_group(process, term_wait=30)


def _wait_loaded(server: DagsterDev, limit: float) -> None:
    """Wait until the webserver answers and the code location has loaded (a readiness
    bound, not a timed assertion)."""
    deadline = time.monotonic() + limit
    problem: Exception | None = None
    while time.monotonic() < deadline:
        server.check_running()
        try:
            server.location()
            return
        except (OSError, urllib.error.URLError, GraphQLError, KeyError) as error:
            problem = error
        time.sleep(0.5)
    raise AssertionError(f"dagster dev not ready in {limit} s ({problem}):\n{server.tail()}")


REPOSITORIES = """
{ repositoriesOrError { __typename
    ... on RepositoryConnection { nodes { name location { name } } }
    ... on PythonError { message } } }
"""

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
  }
}
"""

RUN_STATUS = """
query Status($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }
"""
