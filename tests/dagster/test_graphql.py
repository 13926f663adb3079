"""What ``dagster dev`` serves through GraphQL (what its UI shows) about the canary code
location and a run of it: the resources' configured values, the asset job's resource
defaults, the run config schema, the run's config, its event log and its captured logs
show references, and ``***`` where an asset wrote a value; never a value."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dagster_canaries import CANARIES
from dagster_kit import ASSET_JOB, DagsterDev
from defs_canary import CONN_ID, INNER_REF, TOKEN_REF, line
from leaks import assert_no_leak

pytestmark = pytest.mark.slow

RESOURCES = """
query Resources($selector: RepositorySelector!) {
  allTopLevelResourceDetailsOrError(repositorySelector: $selector) {
    __typename
    ... on ResourceDetailsList {
      results { name configuredValues { key value type } configFields { name defaultValueAsJson } }
    }
  }
}
"""
JOB_RESOURCES = """
query Job($selector: PipelineSelector!) {
  pipelineOrError(params: $selector) {
    __typename
    ... on Pipeline { modes { resources { name configField { defaultValueAsJson } } } }
  }
}
"""
SCHEMA = """
query Schema($selector: PipelineSelector!) {
  runConfigSchemaOrError(selector: $selector) {
    __typename
    ... on RunConfigSchema {
      rootDefaultYaml
      allConfigTypes {
        key description
        ... on CompositeConfigType { fields { name description defaultValueAsJson } }
      }
    }
  }
}
"""
RUN = """
query Run($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { runConfigYaml status } }
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message stepKey }
        ... on LogsCapturedEvent { fileKey stepKeys }
      }
    }
  }
}
"""
CAPTURED = """
query Captured($logKey: [String!]!) { capturedLogs(logKey: $logKey) { stdout stderr } }
"""


def no_value(answer: Any) -> str:
    """The answer as text, checked to hold no canary."""
    text = json.dumps(answer)
    assert_no_leak(CANARIES.values(), text)
    return text


def job_selector(dev: DagsterDev) -> dict[str, str]:
    return {**dev.selector(), "pipelineName": ASSET_JOB}


def test_configured_values_of_the_resources_are_references(dev: DagsterDev) -> None:
    answer = dev.graphql(RESOURCES, {"selector": dev.selector()})
    no_value(answer)
    results = answer["allTopLevelResourceDetailsOrError"]["results"]
    configured = {
        r["name"]: {v["key"]: json.loads(v["value"]) for v in r["configuredValues"]}
        for r in results
    }
    assert configured["database"]["fields"]["password"] == INNER_REF
    assert configured["secrets"]["prefetch"] == [TOKEN_REF]
    assert configured["warehouse"]["conn_id"] == CONN_ID


def test_the_asset_jobs_resource_defaults_are_references(dev: DagsterDev) -> None:
    answer = dev.graphql(JOB_RESOURCES, {"selector": job_selector(dev)})
    no_value(answer)
    (mode,) = answer["pipelineOrError"]["modes"]
    defaults = {
        r["name"]: json.loads(r["configField"]["defaultValueAsJson"]) for r in mode["resources"]
    }
    assert defaults["database"]["fields"]["password"] == INNER_REF
    assert defaults["secrets"]["prefetch"] == [TOKEN_REF]


def test_the_run_config_schema_holds_references(dev: DagsterDev) -> None:
    answer = dev.graphql(SCHEMA, {"selector": job_selector(dev)})
    text = no_value(answer)
    schema = answer["runConfigSchemaOrError"]
    assert schema["__typename"] == "RunConfigSchema", text[:2000]
    assert INNER_REF in schema["rootDefaultYaml"]
    assert INNER_REF in json.dumps(schema["allConfigTypes"])


def test_the_runs_config_event_log_and_captured_logs_hold_no_value(
    dev: DagsterDev, launched_run: str
) -> None:
    answer = dev.graphql(RUN, {"runId": launched_run})
    no_value(answer)
    assert TOKEN_REF in answer["runOrError"]["runConfigYaml"]
    events = answer["logsForRun"]["events"]
    messages = {e.get("message") for e in events}
    assert line("context.log", "connection", "***") in messages
    assert line("get_dagster_logger", "inner", "***") in messages
    file_keys = {e["fileKey"] for e in events if e["__typename"] == "LogsCapturedEvent"}
    assert file_keys
    stdout = stderr = ""
    for key in file_keys:
        captured = dev.graphql(CAPTURED, {"logKey": [launched_run, "compute_logs", key]})
        no_value(captured)
        stdout += captured["capturedLogs"]["stdout"] or ""
        stderr += captured["capturedLogs"]["stderr"] or ""
    assert line("stdout", "token", "***") in stdout
    assert line("stdout", "inner", "***") in stdout
    assert line("stderr", "loaded:db.password", "***") in stderr
