"""The store contract: every store, ours or a plugin's, passes this suite unchanged.

A store's test module subclasses :class:`StoreContract` and defines a ``harness``
fixture that returns (or yields) a :class:`~secretbridge.testing.StoreHarness`. Tests
work in the store's physical names (``harness.physical(logical)`` applies its naming
rule) and go through both the Store interface and the Resolver, as users do. A canary
value is planted in every test's namespace and checked against every error, repr and
log record met along the way.
"""

from __future__ import annotations

import json
import logging
import pickle
import random
import string
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from ..config import parse_config
from ..errors import (
    ConfigError,
    InvalidReference,
    InvalidSecretValue,
    ReadOnlyStore,
    SecretBridgeError,
    SecretNotFound,
    StoreUnavailable,
)
from ..refs import Reference, format_reference
from ..stores.base import StoredValue
from ..values import Secret
from .harness import BACKSTOP, CANARY, CannotBeDown, StoreHarness, contract_resolver


def value_of(outcome: StoredValue | SecretBridgeError) -> str | bytes:
    """The value of one ``Store.get_many`` outcome that must be a value, not an error."""
    assert isinstance(outcome, StoredValue), outcome
    return outcome.value


def revealed(outcomes: Mapping[str, Secret | SecretBridgeError]) -> list[str]:
    """The text of each ``Resolver.get_many`` outcome, all of which must be values."""
    texts = []
    for secret in outcomes.values():
        assert isinstance(secret, Secret), secret
        texts.append(secret.reveal())
    return texts


def logical_ref(name: str, *, field: str | None = None) -> str:
    """``secret:name[#field]``, escaped as the grammar wants."""
    return format_reference(Reference(name, field=field))


UNICODE_VALUES = {
    "emoji": "🔑🗝️ 👩🏽‍💻 🏳️‍🌈 family 👨‍👩‍👧‍👦",
    "cjk": "密码・パスワード・비밀번호・密碼",
    "rtl": "كلمة السر \u200f\u05e1\u05d9\u05e1\u05de\u05d4\u200e mixed ltr",
    "combining": "e\u0301 n\u0303 A\u030a Z\u0335\u0321",
    "astral": "".join(map(chr, range(0x1D518, 0x1D520))) + " \U0010fffd \U0001f9ec",
    "whitespace": "  leading, trailing and\n\tinner\r\nlines  ",
}


BINARY = bytes(range(256)) + b"\xff\xfe\x00\xc3\x28" + b"CANARY:" + b"\x80\x81"


#: Every naming rule must accept these; the rest only where the store's rule allows them.
ALWAYS_ACCEPTED = ("dotted.name.v1", "dash-ed-name", "under_score_name", "a/b/c/d/e")
AWKWARD_NAMES = (
    *ALWAYS_ACCEPTED,
    "user@example.com",
    "key=value",
    "a+b",
    "ünïcödé",
    "名前/キー",
    "اسم_سري",
    "per%cent",
    "hash#tag",
    "what?mark",
    "colon:name",
)


class StoreContract:
    """The contract tests. Subclass it as ``Test<YourStore>`` and define the fixture
    ``harness``; the suite closes ``harness.resolver`` after each test."""

    @pytest.fixture(autouse=True)
    def _logs_at_debug(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)

    @pytest.fixture(autouse=True)
    def _closed_and_unlogged(
        self, harness: StoreHarness, caplog: pytest.LogCaptureFixture
    ) -> Iterator[None]:
        yield
        harness.resolver.close()
        for when in ("setup", "call", "teardown"):
            for record in caplog.get_records(when):
                text = caplog.handler.format(record)
                assert CANARY not in text, f"a secret value reached the logs ({record.name})"

    @pytest.fixture
    def ns(self, harness: StoreHarness) -> str:
        """A logical namespace of this test's own (stores on shared servers see other
        tests' names), with a canary planted in it: as a plain value and inside a JSON
        document."""
        namespace = f"ct{uuid.uuid4().hex[:10]}"
        harness.seed(harness.physical(f"{namespace}/canary"), CANARY)
        harness.seed(
            harness.physical(f"{namespace}/canary_json"),
            json.dumps({"user": "etl", "password": CANARY}),
        )
        return namespace

    # ------------------------------------------------------------------ basics

    def test_health_passes(self, harness: StoreHarness, ns: str) -> None:
        assert harness.store.health() is None  # type: ignore[func-returns-value]

    def test_health_fails_when_the_store_is_down(
        self, harness: StoreHarness, tmp_path: Path
    ) -> None:
        h = harness
        if isinstance(h.down, CannotBeDown):
            pytest.skip(h.down.reason)
        with contract_resolver(h.down, tmp_path / "down") as resolver:
            down = resolver.store(h.name)
            with h.raises(StoreUnavailable) as info:
                down.health()
        assert info.value.store == h.name

    def test_a_write_to_a_store_that_is_down_never_holds_the_value(
        self, harness: StoreHarness, tmp_path: Path
    ) -> None:
        """An SDK's error from a failed write may hold the request, and the request the
        value; nothing of it may ride along in the error's message or chain."""
        h = harness
        h.need("writable")
        if isinstance(h.down, CannotBeDown):
            pytest.skip(h.down.reason)
        ref = f"{h.name}://{h.physical('contract/written')}"
        with (
            contract_resolver(h.down, tmp_path / "down") as resolver,
            h.raises(StoreUnavailable) as info,
        ):
            resolver.put(ref, CANARY)
        assert info.value.store == h.name
        # Not only their text: an SDK error keeps the request (and its body) as attributes.
        assert info.value.__cause__ is None and info.value.__context__ is None

    def test_config_validation_names_an_unknown_option(self, harness: StoreHarness) -> None:
        settings = {**harness.settings, "no_such_option": 1}
        with harness.raises(ConfigError, match=r"stores\.broken\..*no_such_option"):
            parse_config({"stores": {"broken": settings}})

    def test_get_latest(self, harness: StoreHarness, ns: str) -> None:
        h = harness
        logical = f"{ns}/db/password"
        physical = h.physical(logical)
        h.seed(physical, f"first-{h.canary}")
        latest = h.seed(physical, f"second-{h.canary}")

        got = h.store.get(physical)
        assert got.value == f"second-{h.canary}"
        if h.caps.versions:
            assert latest is not None
            assert got.version == latest

        for ref in (h.ref(physical), logical_ref(logical)):
            secret = h.resolver.get(ref)
            assert secret.reveal() == f"second-{h.canary}"
            assert (secret.store, secret.name, secret.ref) == (h.name, physical, ref)
            assert secret.version == got.version
            h.assert_clean(secret, h.store)

    def test_versions_are_pinned_and_older_ones_stay_readable(
        self, harness: StoreHarness, ns: str
    ) -> None:
        h = harness
        h.need("versions")
        physical = h.physical(f"{ns}/rotated")
        values = [json.dumps({"password": f"v{i}-{h.canary}"}) for i in range(3)]
        versions = [h.seed(physical, value) for value in values]
        assert all(versions) and len(set(versions)) == 3, versions
        assert h.store.versions(physical) == versions, "versions() lists them oldest first"

        assert h.store.get(physical) == StoredValue(values[-1], versions[-1])
        for value, version in zip(values, versions, strict=True):
            assert h.store.get(physical, version) == StoredValue(value, version)
            pinned = h.resolver.get(h.ref(physical, version=version))
            assert (pinned.reveal(), pinned.version) == (value, version)
            field = h.resolver.get(h.ref(physical, version=version, field="password"))
            assert field.reveal() == json.loads(value)["password"]
            assert field.version == version

        assert h.absent_version is not None, "a versioned store's harness names an absent version"
        with h.raises(SecretNotFound) as info:
            h.store.get(physical, h.absent_version)
        assert (info.value.ref, info.value.store) == (physical, h.name)
        ref = h.ref(physical, version=h.absent_version)
        with h.raises(SecretNotFound) as info:
            h.resolver.get(ref)
        assert (info.value.ref, info.value.store) == (ref, h.name)
        with h.raises(SecretNotFound):
            h.store.get(h.physical(f"{ns}/never"), versions[0])

    def test_version_pins_are_refused_without_versions(
        self, harness: StoreHarness, ns: str
    ) -> None:
        h = harness
        h.need("versions", present=False)
        physical = h.physical(f"{ns}/unversioned")
        h.seed(physical, h.canary)
        with h.raises(InvalidReference) as info:
            h.store.get(physical, "1")
        assert info.value.store == h.name
        with h.raises(InvalidReference):
            h.resolver.get(h.ref(physical, version="1"))
        assert h.store.versions(physical) == [], "a store without versions lists none"

    def test_versions_of_an_absent_name_are_not_found(self, harness: StoreHarness, ns: str) -> None:
        h = harness
        never = h.physical(f"{ns}/never")
        with h.raises(SecretNotFound) as info:
            h.store.versions(never)
        assert (info.value.ref, info.value.store) == (never, h.name)

    # ------------------------------------------------------------------ JSON fields

    def test_json_field_through_the_resolver(self, harness: StoreHarness, ns: str) -> None:
        h = harness
        logical = f"{ns}/conn"
        physical = h.physical(logical)
        document = {"user": "etl", "password": h.canary, "port": 5432, "extra": {"a": [1, 2]}}
        h.seed(physical, json.dumps(document))

        assert h.resolver.get(h.ref(physical, field="password")).reveal() == h.canary
        assert h.resolver.get(logical_ref(logical, field="user")).reveal() == "etl"
        assert h.resolver.get(h.ref(physical, field="port")).reveal() == "5432"
        assert json.loads(h.resolver.get(logical_ref(logical, field="extra")).reveal()) == {
            "a": [1, 2]
        }
        many = h.resolver.get_many(
            [h.ref(physical, field=f) for f in ("user", "password")] + [logical_ref(logical)]
        )
        assert revealed(many) == ["etl", h.canary, json.dumps(document)]

        ref = h.ref(physical, field="nope")
        with h.raises(SecretNotFound, match="no field 'nope'") as info:
            h.resolver.get(ref)
        assert (info.value.ref, info.value.store) == (ref, h.name)

        h.seed(h.physical(f"{ns}/plain"), f"not json {h.canary}")
        h.seed(h.physical(f"{ns}/listdoc"), json.dumps([h.canary]))
        for name in ("plain", "listdoc"):
            with h.raises(InvalidSecretValue):
                h.resolver.get(h.ref(h.physical(f"{ns}/{name}"), field="password"))

    # ------------------------------------------------------------------ missing names

    def test_missing_name_raises_not_found_naming_ref_and_store(
        self, harness: StoreHarness, ns: str
    ) -> None:
        h = harness
        physical = h.physical(f"{ns}/ghost")
        with h.raises(SecretNotFound) as info:
            h.store.get(physical)
        assert (info.value.ref, info.value.store) == (physical, h.name)

        ref = h.ref(physical, field="password")
        with h.raises(SecretNotFound) as info:
            h.resolver.get(ref)
        assert (info.value.ref, info.value.store) == (ref, h.name)
        assert ref in str(info.value) and h.name in str(info.value)

        ref = logical_ref(f"{ns}/ghost")
        with h.raises(SecretNotFound) as info:
            h.resolver.get(ref)
        assert info.value.ref == ref
        assert h.name in str(info.value) and BACKSTOP in str(info.value)

    # ------------------------------------------------------------------ listing

    def test_list_by_prefix_returns_exactly_the_matching_names(
        self, harness: StoreHarness, ns: str
    ) -> None:
        h = harness
        names = [
            f"{ns}/lst/a",
            f"{ns}/lst/b/c",
            f"{ns}/lst2",
            f"{ns}/lstx.y",
            f"{ns}/ls",
            f"{ns}/other/lst",
            f"{ns}/l",
            f"{ns}/inner/{ns}/lst",  # holds the prefix, but not at the start
        ]
        physical = {name: h.physical(name) for name in names}
        for name, p in physical.items():
            h.seed(p, f"{name}-{h.canary}")
        prefix = h.physical(f"{ns}/lst")
        expected = sorted(p for p in physical.values() if p.startswith(prefix))
        assert len(expected) == 4, expected

        assert sorted(h.store.list_names(prefix)) == expected
        assert list(h.store.list_names(physical[f"{ns}/lst/b/c"])) == [physical[f"{ns}/lst/b/c"]]
        assert list(h.store.list_names(h.physical(f"{ns}/nothing_here"))) == []
        everything = set(h.store.list_names())
        assert set(physical.values()) <= everything
        assert h.physical(f"{ns}/canary") in everything

        listed = [
            item
            for item in h.resolver.list_secrets(store=h.name)
            if item.physical.startswith(prefix)
        ]
        assert sorted(item.physical for item in listed) == expected
        for item in listed:
            assert item.store == h.name
            assert h.physical(item.name) == item.physical, "a listed name leads back to its secret"

    # ------------------------------------------------------------------ batches

    def test_get_many_returns_errors_in_place(self, harness: StoreHarness, ns: str) -> None:
        h = harness
        present = [h.physical(f"{ns}/here{i}") for i in range(3)]
        missing = [h.physical(f"{ns}/gone{i}") for i in range(3)]
        for p in present:
            h.seed(p, f"{p}-{h.canary}")
        asked = [x for pair in zip(missing, present, strict=True) for x in pair]

        out = h.store.get_many(asked)
        assert set(out) == set(asked)
        for p in present:
            assert value_of(out[p]) == f"{p}-{h.canary}"
        for m in missing:
            error = out[m]
            assert isinstance(error, SecretNotFound), error
            assert (error.ref, error.store) == (m, h.name)
            h.assert_clean(error)

        gone = {h.ref(m) for m in missing} | {logical_ref(f"{ns}/gone0")}
        refs = [h.ref(x) for x in asked] + [
            logical_ref(f"{ns}/here0"),
            logical_ref(f"{ns}/gone0"),
        ]
        results = h.resolver.get_many(refs, return_exceptions=True)
        assert list(results) == refs
        for ref, outcome in results.items():
            if ref in gone:
                assert isinstance(outcome, SecretNotFound) and outcome.ref == ref, outcome
                h.assert_clean(outcome)
            else:
                assert isinstance(outcome, Secret) and outcome.reveal().endswith(h.canary)
        with h.raises(SecretNotFound) as info:
            h.resolver.get_many(refs)
        assert info.value.ref == refs[0]

    def test_get_many_batch_of_300(self, harness: StoreHarness, ns: str) -> None:
        h = harness
        logical = [f"{ns}/batch/n{i:03d}" for i in range(300)]
        physical = [h.physical(name) for name in logical]
        for i, p in enumerate(physical):
            h.seed(p, f"value-{i}-{h.canary}")
        missing = [h.physical(f"{ns}/batch/missing{i}") for i in range(5)]
        asked = physical[:150] + missing + physical[150:]

        out = h.store.get_many(asked)
        assert len(out) == 305
        for i, p in enumerate(physical):
            assert value_of(out[p]) == f"value-{i}-{h.canary}", p
        assert all(isinstance(out[m], SecretNotFound) for m in missing)

        resolved = h.resolver.get_many([logical_ref(name) for name in logical])
        assert revealed(resolved) == [f"value-{i}-{h.canary}" for i in range(300)]
        assert {s.store for s in resolved.values()} == {h.name}

    # ------------------------------------------------------------------ writes

    def test_put_and_delete_where_writable(self, harness: StoreHarness, ns: str) -> None:
        h = harness
        h.need("writable")
        physical = h.physical(f"{ns}/written")
        first = h.store.put(physical, f"one-{h.canary}")
        second = h.store.put(physical, f"two-{h.canary}")
        got = h.store.get(physical)
        assert got.value == f"two-{h.canary}"
        if h.caps.versions:
            assert first and second and first != second
            assert got.version == second
        assert physical in h.store.list_names(physical)

        h.store.delete(physical)
        with h.raises(SecretNotFound) as info:
            h.store.get(physical)
        assert info.value.store == h.name
        if h.caps.versions:
            with h.raises(SecretNotFound):
                h.store.get(physical, first)
        assert physical not in h.store.list_names(physical)
        with h.raises(SecretNotFound) as info:
            h.store.delete(physical)
        assert (info.value.ref, info.value.store) == (physical, h.name)

        ref = h.ref(physical)
        location = h.resolver.put(ref, f"three-{h.canary}")
        assert (location.store, location.name) == (h.name, physical)
        assert h.resolver.get(ref).reveal() == f"three-{h.canary}"
        h.resolver.delete(ref)
        with h.raises(SecretNotFound):
            h.resolver.get(ref)

        logical = f"{ns}/via_chain"
        location = h.resolver.put(logical, f"four-{h.canary}")
        assert (location.store, location.name) == (h.name, h.physical(logical))
        assert h.resolver.get(logical_ref(logical)).reveal() == f"four-{h.canary}"
        assert h.resolver.delete(logical).store == h.name
        with h.raises(SecretNotFound):
            h.resolver.get(logical_ref(logical))

    def test_read_only_store_refuses_writes(self, harness: StoreHarness, ns: str) -> None:
        h = harness
        h.need("writable", present=False)
        logical = f"{ns}/readonly"
        physical = h.physical(logical)
        h.seed(physical, f"kept-{h.canary}")
        with h.raises(ReadOnlyStore) as info:
            h.store.put(physical, f"new-{h.canary}")
        assert (info.value.ref, info.value.store) == (physical, h.name)
        with h.raises(ReadOnlyStore) as info:
            h.store.delete(physical)
        assert info.value.store == h.name
        with h.raises(ReadOnlyStore):
            h.resolver.put(h.ref(physical), f"new-{h.canary}")
        with h.raises(ReadOnlyStore):
            h.resolver.put(logical, f"new-{h.canary}", store=h.name)
        with h.raises(ReadOnlyStore):
            h.resolver.delete(h.ref(physical))
        assert h.store.get(physical).value == f"kept-{h.canary}"

    # ------------------------------------------------------------------ values

    @pytest.mark.parametrize("kind", list(UNICODE_VALUES))
    def test_unicode_values_round_trip(self, harness: StoreHarness, ns: str, kind: str) -> None:
        h = harness
        value = f"{UNICODE_VALUES[kind]}|{h.canary}"
        logical = f"{ns}/unicode_{kind}"
        physical = h.physical(logical)
        h.seed(physical, value)
        assert h.store.get(physical).value == value
        assert h.resolver.get(h.ref(physical)).reveal() == value
        assert h.resolver.get(logical_ref(logical)).reveal() == value

        doc_name = h.physical(f"{ns}/unicode_{kind}_json")
        h.seed(doc_name, json.dumps({"pw": value}, ensure_ascii=False))
        assert h.resolver.get(h.ref(doc_name, field="pw")).reveal() == value

    def test_binary_values_round_trip(self, harness: StoreHarness, ns: str) -> None:
        h = harness
        h.need("binary")
        value = BINARY + h.canary.encode() + b"\xff"
        physical = h.physical(f"{ns}/blob")
        text = h.physical(f"{ns}/blob_text")
        utf8 = h.physical(f"{ns}/blob_utf8")
        h.seed(physical, value)
        h.seed(text, f"text-{h.canary}")
        h.seed(utf8, "café".encode())

        got = h.store.get(physical)
        assert isinstance(got.value, bytes) and got.value == value
        batch = h.store.get_many([physical, text, utf8])
        assert value_of(batch[physical]) == value
        assert value_of(batch[text]) == f"text-{h.canary}"
        assert value_of(batch[utf8]) == "café".encode()

        for ref in (h.ref(physical), logical_ref(f"{ns}/blob")):
            secret = h.resolver.get(ref)
            assert secret.is_binary and secret.reveal_bytes() == value
            h.assert_clean(secret)
            with h.raises(InvalidSecretValue):
                secret.reveal()
        assert h.resolver.get(h.ref(utf8)).reveal() == "café"

    def test_a_64_kib_value(self, harness: StoreHarness, ns: str) -> None:
        """64 KiB, or the store's documented maximum where that is smaller (SSM, Key Vault)."""
        h = harness
        size = min(64 * 1024, h.caps.max_value_size or 64 * 1024)
        rng = random.Random(64)  # noqa: S311 - reproducible filler, not a secret
        alphabet = string.ascii_letters + string.digits + string.punctuation
        body = "".join(rng.choice(alphabet) for _ in range(size - len(h.canary)))
        value = body + h.canary
        assert len(value.encode()) == size
        logical = f"{ns}/big"
        physical = h.physical(logical)
        h.seed(physical, value)
        assert h.store.get(physical).value == value
        assert h.resolver.get(logical_ref(logical)).reveal() == value

    def test_a_value_over_the_stores_limit_is_refused_before_it_is_sent(
        self, harness: StoreHarness, ns: str
    ) -> None:
        h = harness
        h.need("max_value_size")
        h.need("writable")
        limit = h.caps.max_value_size
        assert limit is not None
        logical = f"{ns}/too-big"
        with h.raises(InvalidSecretValue, match=f"at most {limit}"):
            h.resolver.put(logical, h.canary + "x" * limit, store=h.name)
        with h.raises(SecretNotFound):
            h.resolver.get(h.ref(h.physical(logical)))

    # ------------------------------------------------------------------ names

    @pytest.mark.parametrize("suffix", AWKWARD_NAMES)
    def test_awkward_names(self, harness: StoreHarness, ns: str, suffix: str) -> None:
        h = harness
        logical = f"{ns}/{suffix}"
        try:
            physical = h.physical(logical)
        except InvalidReference as error:
            # The store cannot spell it: the rule says so, and a lookup passes it down the chain.
            assert suffix not in ALWAYS_ACCEPTED, f"every store must accept {suffix!r}: {error}"
            assert error.store == h.name
            h.backstop_put(logical, f"decoy-{h.canary}")
            assert h.resolver.get(logical_ref(logical)).store == BACKSTOP
            return
        value = f"{suffix}-{h.canary}"
        h.seed(physical, value)
        assert h.store.get(physical).value == value
        assert value_of(h.store.get_many([physical])[physical]) == value
        assert physical in h.store.list_names(physical)
        assert h.resolver.get(h.ref(physical)).reveal() == value
        secret = h.resolver.get(logical_ref(logical))
        assert (secret.reveal(), secret.store, secret.name) == (value, h.name, physical)
        back = h.store.naming.to_logical(physical)
        assert back is not None and h.physical(back) == physical

    def test_a_name_that_is_a_prefix_of_another(self, harness: StoreHarness, ns: str) -> None:
        h = harness
        short, longer, deeper = (h.physical(f"{ns}/{n}") for n in ("db", "db_admin", "db/replica"))
        for p in (short, longer, deeper):
            h.seed(p, f"{p}-{h.canary}")
        for p in (short, longer, deeper):
            assert h.store.get(p).value == f"{p}-{h.canary}"
        batch = h.store.get_many([short, longer, deeper])
        assert [value_of(batch[p]) for p in (short, longer, deeper)] == [
            f"{p}-{h.canary}" for p in (short, longer, deeper)
        ]
        assert sorted(h.store.list_names(short)) == sorted([short, longer, deeper])
        assert list(h.store.list_names(longer)) == [longer]
        for absent in (h.physical(f"{ns}/d"), h.physical(f"{ns}/db_admin_x")):
            with h.raises(SecretNotFound):
                h.store.get(absent)
        if h.caps.writable:
            h.store.delete(short)
            assert h.store.get(longer).value == f"{longer}-{h.canary}"
            assert h.store.get(deeper).value == f"{deeper}-{h.canary}"

    # ------------------------------------------------------------------ the chain

    def test_first_store_in_the_chain_wins_and_misses_fall_through(
        self, harness: StoreHarness, ns: str
    ) -> None:
        h = harness
        shared = f"{ns}/shared"
        h.backstop_put(shared, "decoy-from-backstop")
        h.seed(h.physical(shared), f"winner-{h.canary}")
        assert h.resolver.chain_for(shared) == [h.name, BACKSTOP]

        secret = h.resolver.get(f"secret:{shared}")
        assert (secret.reveal(), secret.store, secret.name) == (
            f"winner-{h.canary}",
            h.name,
            h.physical(shared),
        )
        h.backstop_put(f"{ns}/only_behind", "from-backstop")
        behind = h.resolver.get(f"secret:{ns}/only_behind")
        assert (behind.reveal(), behind.store) == ("from-backstop", BACKSTOP)

        both = h.resolver.get_many([f"secret:{shared}", f"secret:{ns}/only_behind"])
        assert [s.store for s in both.values()] == [h.name, BACKSTOP]

    def test_errors_along_the_way_never_carry_the_value(
        self, harness: StoreHarness, ns: str
    ) -> None:
        h = harness
        plain = h.physical(f"{ns}/canary")
        document = h.physical(f"{ns}/canary_json")
        secret = h.resolver.get(h.ref(plain))
        assert secret.reveal() == h.canary
        h.assert_clean(secret, h.store, h.resolver.get(h.ref(document, field="password")))
        with h.raises(InvalidSecretValue):
            h.resolver.get(h.ref(plain, field="password"))
        with h.raises(SecretNotFound):
            h.resolver.get(h.ref(document, field="missing"))
        with h.raises(InvalidSecretValue):
            h.resolver.connection(h.ref(plain))
        with h.raises(InvalidSecretValue):
            h.resolver.connection(h.ref(document))
        with h.raises(TypeError):
            pickle.dumps(secret)
