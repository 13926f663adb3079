"""The audit log: what it records (never a value), checked at start, and failing closed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from leaks import assert_no_leak
from resolver_kit import MemoryStore, Recorder, over
from resolvers import Resolvers

from secretbridge import AuditError, AuditEvent, ConfigError, Resolver, SecretNotFound
from secretbridge.audit import JsonLinesAudit

CANARY = "canary-a0d1-do-not-leak"


def test_audit_records_who_what_where_and_never_the_value(
    tmp_path: Path, resolvers: Resolvers
) -> None:
    audit_path = tmp_path / "audit.jsonl"
    resolver = resolvers.document(
        {"stores": {"loc": {"kind": "local"}}, "audit": {"path": str(audit_path)}},
    )
    resolver.put("db", CANARY, principal="dag:etl")
    resolver.get("secret:db", principal="dag:etl")
    resolver.get("secret:db", principal="dag:etl")
    with pytest.raises(SecretNotFound):
        resolver.get("secret:nope", principal="dag:etl")
    text = audit_path.read_text()
    assert CANARY not in text
    events = [json.loads(line) for line in text.splitlines()]
    assert [(e["action"], e["outcome"]) for e in events] == [
        ("write", "ok"),
        ("read", "ok"),
        ("read", "cached"),
        ("read", "not_found"),
    ]
    assert events[1]["store"] == "loc" and events[1]["version"] == "1"
    assert all(e["principal"] == "dag:etl" for e in events)
    assert (audit_path.stat().st_mode & 0o777) == 0o600


def test_audit_sink_object() -> None:
    recorder = Recorder()
    resolver = over(MemoryStore("loc"), audit=recorder)
    resolver.put("k", "v")
    resolver.get("secret:k")
    assert [(e.action, e.ref, e.store) for e in recorder.events] == [
        ("write", "k", "loc"),
        ("read", "secret:k", "loc"),
    ]


@pytest.mark.parametrize("where", ["missing/audit.jsonl", "a-directory"])
def test_an_unwritable_audit_path_is_a_config_error_at_start(tmp_path: Path, where: str) -> None:
    (tmp_path / "a-directory").mkdir()
    config = tmp_path / "sb.toml"
    config.write_text(f'[stores.loc]\nkind = "local"\n\n[audit]\npath = "{where}"\n')
    with pytest.raises(ConfigError) as caught:
        Resolver.from_config(config)
    message = str(caught.value)
    assert message.startswith(f"{config}: audit.path: cannot append to the audit log ")
    assert str(tmp_path / where) in message and "\n" not in message


@pytest.fixture
def audited(tmp_path: Path) -> tuple[Resolver, MemoryStore, Path]:
    folder = tmp_path / "logs"
    folder.mkdir()
    store = MemoryStore("s", {"k": CANARY})
    return over(store, audit=JsonLinesAudit(folder / "audit.jsonl")), store, folder


def test_a_read_whose_audit_record_fails_is_refused(
    audited: tuple[Resolver, MemoryStore, Path],
) -> None:
    resolver, _, folder = audited
    resolver.get("secret:k")
    shutil.rmtree(folder)  # the log's folder is gone: the record cannot be written
    with pytest.raises(AuditError, match="cannot append to the audit log") as caught:
        resolver.get("secret:k")  # a cache hit: still audited, so still refused
    with pytest.raises(AuditError):
        resolver.get_many(["secret:k"], return_exceptions=True)
    assert_no_leak(CANARY, caught.value)


def test_a_write_is_refused_before_the_store_when_the_audit_cannot_be_written(
    audited: tuple[Resolver, MemoryStore, Path],
) -> None:
    resolver, store, folder = audited
    shutil.rmtree(folder)
    with pytest.raises(AuditError):
        resolver.put("new", "v")
    with pytest.raises(AuditError):
        resolver.delete("k")
    assert store.versions == {"k": [CANARY]}, "the store was not touched"


def test_an_audit_failure_after_a_committed_write_says_the_write_was_committed() -> None:
    class FailsOnRecord(Recorder):
        def record(self, event: AuditEvent) -> None:
            raise AuditError("the log server is gone")

    store = MemoryStore("s")
    with pytest.raises(AuditError) as caught:
        over(store, audit=FailsOnRecord()).put("k", CANARY)
    assert str(caught.value).startswith(
        "the write was committed to store 's' as 'k' (version 1), but its audit record failed"
    )
    assert store.versions == {"k": [CANARY]}
    assert_no_leak(CANARY, caught.value)
