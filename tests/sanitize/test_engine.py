"""sanitize_attributes and sanitize_records: what leaves the process, and the properties."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cio_sec.errors import ConfigError, InputError, SecretMissingError
from cio_sec.pseudonym import IdentifierKind, KeyRing, PseudonymKey
from cio_sec.sanitize import (
    Policy,
    SanitizeCounts,
    keyed_hasher,
    legacy_hasher,
    normalise_name,
    sanitize_attributes,
    sanitize_records,
)
from cio_sec.sanitize.files import output_columns
from cio_sec.sanitize.policy import _DROP_NAMES

KEY = PseudonymKey(b"k" * 32)
OTHER = PseudonymKey(b"o" * 32)
DEFAULT = Policy.default()
DROP_NAMES = [name for name in _DROP_NAMES if "*" not in name]
PSEUDONYM = re.compile(r"[0-9a-f]{8}:[0-9a-f]{64}")


def test_attributes_are_dropped_pseudonymised_and_redacted() -> None:
    raw = {
        "email": "Ana@Example.com",
        "first_name": "Ana",
        "cardNumber": "4111 1111 1111 1111",
        "phoneNumber": "+1 (555) 010-9999",
        "profile": {"SSN": "078-05-1120", "notes": "my card is 4111-1111-1111-1111"},
        "devices": [{"ip": "10.0.0.1", "Password": "hunter2"}, "plain"],
        "plan": "growth",
        "balance": 4111111111111111,
        "visits": 12,
    }
    counts = SanitizeCounts()
    clean = sanitize_attributes(raw, key=KEY, counts=counts)
    assert clean == {
        "email": "Ana@Example.com",
        "first_name": "Ana",
        "phoneNumber_hash": KEY.pseudonym("+1 (555) 010-9999", IdentifierKind.PHONE),
        "profile": {"notes": "my card is [REDACTED:card]"},
        "devices": [{"ip_hash": KEY.pseudonym("10.0.0.1", IdentifierKind.IP)}, "plain"],
        "plan": "growth",
        "balance": "[REDACTED:card]",
        "visits": 12,
    }
    assert clean["phoneNumber_hash"].startswith(f"{KEY.key_id}:")
    assert counts.to_json() == {
        "records": 1,
        "changed_records": 1,
        "invalid": 0,
        "attributes": [
            {"attribute": "balance", "action": "redact", "count": 1},
            {"attribute": "cardNumber", "action": "drop", "count": 1},
            {"attribute": "devices[].Password", "action": "drop", "count": 1},
            {"attribute": "devices[].ip", "action": "pseudonymise", "count": 1},
            {"attribute": "phoneNumber", "action": "pseudonymise", "count": 1},
            {"attribute": "profile.SSN", "action": "drop", "count": 1},
            {"attribute": "profile.notes", "action": "redact", "count": 1},
        ],
        "detections": {"card": 2},
    }
    # The caller's mapping is untouched.
    assert raw["cardNumber"] == "4111 1111 1111 1111"


def test_explicit_keep_turns_the_detectors_off_beneath_it() -> None:
    policy = Policy.from_rules({"ticket": "keep", "body": "redact-values"})
    card = "4111 1111 1111 1111"
    clean = sanitize_attributes(
        {"ticket": {"text": card, "body": card, "ssn": "x"}, "other": card},
        policy,
        key=KEY,
    )
    assert clean == {
        "ticket": {"text": card, "body": "[REDACTED:card]"},
        "other": "[REDACTED:card]",
    }
    quiet = Policy.from_rules({}, default_action="keep")
    assert sanitize_attributes({"n": 4111111111111111}, quiet, key=KEY) == {"n": 4111111111111111}


def test_pseudonymised_values_of_every_shape() -> None:
    policy = Policy.from_rules({"blob": "pseudonymise"})
    clean = sanitize_attributes(
        {
            "phone": ["+1 555 0100", "", None],
            "address": {"street": "1 Main St", "city": "X"},
            "dob": 19800101,
            "blob": True,
            "mobile": None,
            "ip": "",
        },
        policy,
        key=KEY,
    )
    assert clean["phone_hash"] == [KEY.pseudonym("+15550100", IdentifierKind.PHONE), "", None]
    canonical = json.dumps({"city": "X", "street": "1 Main St"}, separators=(",", ":"))
    assert clean["address_hash"] == KEY.pseudonym(canonical, IdentifierKind.TEXT)
    assert clean["dob_hash"] == KEY.pseudonym("19800101", IdentifierKind.TEXT)
    assert clean["blob_hash"] == KEY.pseudonym("true", IdentifierKind.TEXT)
    assert clean["mobile_hash"] is None
    assert clean["ip_hash"] == ""


def test_a_fresh_pseudonym_wins_over_a_stale_copy() -> None:
    fresh = KEY.pseudonym("+1555", IdentifierKind.PHONE)
    for raw in (
        {"phone": "+1555", "phone_hash": "stale"},
        {"phone_hash": "stale", "phone": "+1555"},
    ):
        assert sanitize_attributes(raw, key=KEY) == {"phone_hash": fresh}


def test_non_string_keys_and_other_mappings_and_tuples() -> None:
    from types import MappingProxyType

    clean = sanitize_attributes(
        {1: "x", "nested": MappingProxyType({"ssn": "1"}), "tags": ("a", "078-05-1120")},
        key=KEY,
    )
    assert clean == {1: "x", "nested": {}, "tags": ["a", "[REDACTED:ssn]"]}
    assert sanitize_attributes({2: "y"}, Policy.from_rules({"2": "drop"}), key=KEY) == {}
    proxy = MappingProxyType({"phone": "1", "phone_hash": "stale", "ip_hash": "kept"})
    assert sanitize_attributes({"p": proxy}, key=KEY) == {
        "p": {"phone_hash": KEY.pseudonym("1", IdentifierKind.PHONE), "ip_hash": "kept"}
    }


def test_the_key_can_be_a_ring_or_stored_text_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = {"phone_hash": KEY.pseudonym("1", IdentifierKind.PHONE)}
    assert sanitize_attributes({"phone": "1"}, key=KeyRing(current=KEY)) == expected
    text = "a-stored-key-of-enough-length"
    from_text = sanitize_attributes({"phone": "1"}, key=text)
    assert from_text == {"phone_hash": PseudonymKey.from_text(text).pseudonym("1", "phone")}  # type: ignore[arg-type]
    monkeypatch.setenv("CIO_SEC_PSEUDONYM_KEY", text)
    assert sanitize_attributes({"phone": "1"}) == from_text
    with pytest.raises(ConfigError, match="shorter than"):
        sanitize_attributes({"phone": "1"}, key="short")


def test_without_a_key_only_policies_that_pseudonymise_fail() -> None:
    with pytest.raises(SecretMissingError, match="needs the pseudonym key") as raised:
        sanitize_attributes({"email": "a@b.c"})
    assert raised.value.hint is not None
    assert "load_keys" in raised.value.hint
    drop_only = Policy.from_rules({"ssn": "drop"}, extends_default=False)
    assert sanitize_attributes({"ssn": "1", "a": 1}, drop_only) == {"a": 1}


def test_records_stream_lazily_and_count() -> None:
    seen: list[int] = []

    def produce() -> Any:
        for index in range(3):
            seen.append(index)
            yield {"id": index, "ssn": "1"}

    counts = SanitizeCounts()
    stream = sanitize_records(produce(), key=KEY, counts=counts)
    assert seen == []
    assert next(stream) == {"id": 0}
    assert seen == [0]
    assert counts.changes == {("ssn", "drop"): 1}  # up to date while the stream runs
    assert counts.changes == {("ssn", "drop"): 1}  # and reading twice counts nothing twice
    assert list(stream) == [{"id": 1}, {"id": 2}]
    assert (counts.records, counts.changed_records) == (3, 3)
    assert counts.changes == {("ssn", "drop"): 3}
    unchanged = SanitizeCounts()
    assert list(sanitize_records([{"a": 1}], hasher=legacy_hasher, counts=unchanged)) == [{"a": 1}]
    assert not unchanged.changed
    assert list(sanitize_records([{"phone": "1"}], DEFAULT, key=KEY)) == [
        {"phone_hash": KEY.pseudonym("1", IdentifierKind.PHONE)}
    ]


def test_csv_columns_are_renamed_dropped_and_deduplicated() -> None:
    header = ["id", "Phone", "SSN", "Phone_hash", "email"]
    assert output_columns(header, DEFAULT) == ["id", "Phone_hash", "email"]


# --- properties ---------------------------------------------------------------------

SEPARATORS = st.sampled_from(["_", "-", " ", ".", ""])


@st.composite
def spelling(draw: st.DrawFn, name: str) -> str:
    """``card_number`` as cardNumber, CARD-NUMBER, Card Number, ..."""
    words = name.split("_")
    style = draw(st.sampled_from(["snake", "camel", "upper", "title", "mixed"]))
    if style == "camel":
        return words[0] + "".join(word.capitalize() for word in words[1:])
    separator = draw(SEPARATORS.filter(bool))
    if style == "upper":
        return separator.join(words).upper()
    if style == "title":
        return separator.join(word.capitalize() for word in words)
    return separator.join(words)


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30))
plain_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)


def documents(keys: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=12,
    )
    return st.dictionaries(keys, values, max_size=6)


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in (k, *_keys(v))]
    if isinstance(value, list):
        return [k for item in value for k in _keys(item)]
    return []


sensitive_keys = st.sampled_from(DROP_NAMES).flatmap(spelling)
mixed_keys = st.one_of(plain_keys, sensitive_keys, st.sampled_from(["phone", "IP", "notes"]))


@pytest.mark.slow
@settings(max_examples=150)
@given(documents(mixed_keys))
def test_no_key_matching_a_drop_rule_survives(document: dict[str, Any]) -> None:
    clean = sanitize_attributes(document, key=KEY)
    for key in _keys(clean):
        assert DEFAULT.decide(key).action.value != "drop", key
        assert normalise_name(key) not in DROP_NAMES
    json.dumps(clean)  # still valid JSON


@pytest.mark.slow
@settings(max_examples=150)
@given(documents(mixed_keys | st.text(max_size=8)))
def test_sanitising_twice_equals_sanitising_once(document: dict[str, Any]) -> None:
    once = sanitize_attributes(document, key=KEY)
    assert sanitize_attributes(once, key=KEY) == once


@given(st.text(min_size=1), st.sampled_from(["phone", "ip_address", "dob", "address"]))
def test_pseudonyms_are_deterministic_per_key_and_differ_across_keys(value: str, name: str) -> None:
    first = sanitize_attributes({name: value}, key=KEY)[f"{name}_hash"]
    assert first == sanitize_attributes({name: value}, key=KEY)[f"{name}_hash"]
    assert PSEUDONYM.fullmatch(first)
    other = sanitize_attributes({name: value}, key=OTHER)[f"{name}_hash"]
    assert other != first
    assert other.split(":")[0] == OTHER.key_id


@given(st.text(), st.sampled_from(list(IdentifierKind)))
def test_the_fast_hasher_equals_the_pseudonym_module(value: str, kind: IdentifierKind) -> None:
    long_key = PseudonymKey(b"x" * 100)
    for key in (KEY, long_key):
        assert keyed_hasher(key)(value, kind) == key.pseudonym(value, kind)


@given(
    st.from_regex(
        r"(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|1?[0-9]?[0-9])){3}", fullmatch=True
    )
)
def test_ipv4_fast_path_equals_the_pseudonym_module(address: str) -> None:
    assert keyed_hasher(KEY)(address, IdentifierKind.IP) == KEY.pseudonym(
        address, IdentifierKind.IP
    )


@given(st.text())
def test_legacy_mode_equals_the_unkeyed_formula(value: str) -> None:
    clean = next(iter(sanitize_records([{"phone": value}], hasher=legacy_hasher)))
    expected = hashlib.sha256(value.encode("utf-8")).hexdigest()[:16] if value else value
    assert clean == {"phone_hash": expected}


def test_records_of_many_shapes_and_skipped_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    import cio_sec.sanitize.engine as engine

    monkeypatch.setattr(engine, "_PLAN_CACHE_LIMIT", 1)
    records = [
        {"ssn": 123456789012345, "password": {"a": 1}, "phone_hash": "078-05-1120 stale"},
        {"phone": "1", "phone_hash": "078-05-1120 stale", "n": 4111111111111111},
        {"id": 1, "phone": "2"},
    ]
    counts = SanitizeCounts()
    clean = list(sanitize_records(records, key=KEY, counts=counts))
    assert clean == [
        {"phone_hash": "[REDACTED:ssn] stale"},
        {"phone_hash": KEY.pseudonym("1", IdentifierKind.PHONE), "n": "[REDACTED:card]"},
        {"id": 1, "phone_hash": KEY.pseudonym("2", IdentifierKind.PHONE)},
    ]
    assert counts.changed_records == 3
    assert counts.changes == {
        ("ssn", "drop"): 1,
        ("password", "drop"): 1,
        ("phone_hash", "redact"): 1,
        ("phone", "pseudonymise"): 2,
        ("phone_hash", "overwrite"): 1,
        ("n", "redact"): 1,
    }


def test_one_counts_object_collects_many_calls_in_constant_memory() -> None:
    counts = SanitizeCounts()
    for index in range(2_000):
        sanitize_attributes({"ssn": "1", "id": index}, key=KEY, counts=counts)
    assert counts.changes == {("ssn", "drop"): 2_000}
    assert counts.__eq__({"ssn": 2_000}) is NotImplemented
    assert (counts.records, counts.changed_records) == (2_000, 2_000)
    assert not counts._open  # finished walkers leave nothing behind to settle


def test_an_iban_with_a_letter_account_part_is_redacted_in_free_text() -> None:
    # BH, KW and QA IBANs can carry fewer than nine digits: the prefilter must let them by.
    records = [
        {
            "notes": "pay to BH31BMAGABCDEFGHIJKLMN please",
            "memo": ["QA29DOHBABCDEFGHIJKLMNOPQRSTUVW"],
        }
    ]
    counts = SanitizeCounts()
    assert (
        list(sanitize_records(records * 2, key=KEY, counts=counts))
        == [{"notes": "pay to [REDACTED:iban] please", "memo": ["[REDACTED:iban]"]}] * 2
    )
    assert counts.detections == {"iban": 4}


def test_keys_that_are_data_are_counted_under_other_paths_past_the_limit() -> None:
    # Session ids as keys: one path each would grow the counts (and the report) unbounded.
    records = [{"sessions": {f"s{index:05}": {"ip": "10.0.0.1"}}} for index in range(1_500)]
    records.append({"sessions": {"s00000": {"ssn": "1"}, "s00001": {"ip": "10.0.0.2"}}})
    counts = SanitizeCounts()
    for _ in sanitize_records(records, key=KEY, counts=counts):
        pass
    changes = counts.changes
    assert len(changes) == 1_002  # 1,000 paths and <other paths> for two actions
    assert changes[("sessions.s00001.ip", "pseudonymise")] == 2  # a counted path stays so
    assert changes[("<other paths>", "pseudonymise")] == 500
    assert changes[("<other paths>", "drop")] == 1
    assert sum(changes.values()) == 1_502
    assert "s01499" not in json.dumps(counts.to_json())


def test_a_policy_without_detectors_leaves_card_numbers_in_text() -> None:
    policy = Policy.from_rules({}, detectors=[])
    record = {"notes": "card 4111 1111 1111 1111", "n": 4111111111111111}
    assert sanitize_attributes(record, policy, key=KEY) == record


@given(st.from_regex(r"[ +()0-9x.\-\x1c]{0,20}", fullmatch=True))
def test_the_fast_phone_normalisation_equals_the_pseudonym_module(value: str) -> None:
    assert keyed_hasher(KEY)(value, IdentifierKind.PHONE) == KEY.pseudonym(
        value, IdentifierKind.PHONE
    )


json_values = st.recursive(
    st.one_of(scalars, st.floats()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=12,
)


@given(json_values)
def test_the_reused_encoders_write_what_json_dumps_writes(value: Any) -> None:
    from cio_sec.sanitize.jsontext import compact_encoder

    compact = compact_encoder(ensure_ascii=False, sort_keys=False)
    canonical = compact_encoder(ensure_ascii=True, sort_keys=True)
    assert compact(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert canonical(value) == json.dumps(value, sort_keys=True, separators=(",", ":"))


@given(json_values | st.floats(1e-320, 1e-3) | st.integers() | st.just({1: "not a string key"}))
def test_objects_are_hashed_as_the_text_the_standard_library_writes(value: Any) -> None:
    from cio_sec.sanitize.jsontext import canonical_json

    assert canonical_json(value) == json.dumps(value, sort_keys=True, separators=(",", ":"))


def test_attributes_nested_deeper_than_python_can_walk_are_an_input_error() -> None:
    deep: Any = 1
    for _ in range(5000):
        deep = {"a": [deep]}
    with pytest.raises(InputError, match="record 1 is nested too deeply") as caught:
        sanitize_attributes(deep, key=KEY)
    assert caught.value.exit_code == 2


_detector_text = st.sampled_from(
    ["4111 1111 1111 1111", "078-05-1120", "GB82 WEST 1234 5698 7654 32", "order 12345678901"]
)
_rich_scalars = st.one_of(
    scalars,
    st.integers(min_value=-(10**16), max_value=10**16),
    st.tuples(st.text(max_size=8), _detector_text).map(" ".join),
)
_rich_keys = mixed_keys | st.sampled_from(["address", "ip_address", "phone_hash", "notes"])


#: A glob that pseudonymises a source and its own target ("phone" and "phone_hash").
_PHONE_GLOB = Policy.from_rules({"*phone*": "pseudonymise"})


@pytest.mark.slow
@pytest.mark.parametrize("policy", [DEFAULT, _PHONE_GLOB], ids=["default", "phone-glob"])
@settings(max_examples=150)
@given(st.lists(documents(_rich_keys), min_size=1, max_size=4))
def test_the_per_shape_plans_give_what_the_key_by_key_path_gives(
    policy: Policy, records: list[dict[str, Any]]
) -> None:
    """The cached per-shape plans are an optimisation: outputs and counts must not move."""
    import cio_sec.sanitize.engine as engine

    fast_counts = SanitizeCounts()
    fast = list(sanitize_records(records, policy, key=KEY, counts=fast_counts))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine._Walker, "plan", lambda self, keys, scan, prefix: None)
        slow_counts = SanitizeCounts()
        slow = list(sanitize_records(records, policy, key=KEY, counts=slow_counts))
    assert fast == slow
    assert fast_counts == slow_counts
