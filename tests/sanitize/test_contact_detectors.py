"""The email and phone detectors: free text is redacted, identifiers and look-alikes are not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.errors import InputError
from cio_sec.pseudonym import IdentifierKind, PseudonymKey
from cio_sec.sanitize import PiiKind, Policy, SanitizeCounts, sanitize_attributes
from cio_sec.sanitize.detectors import candidate_finder, redact_text

KEY = PseudonymKey(b"k" * 32)
ORDERED = tuple(PiiKind)
EMAIL = "[REDACTED:email]"
PHONE = "[REDACTED:phone]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail ana@example.com today", f"mail {EMAIL} today"),
        ("Bob.Smith+news@mail.co.uk.", f"{EMAIL}."),
        ("<josé@exämple.de>", f"<{EMAIL}>"),
        ("call +1 (555) 123-4567 now", f"call {PHONE} now"),
        ("+44 20 7946 0958", PHONE),
        ("+49 (0) 30 1234567, ask for Eli", f"{PHONE}, ask for Eli"),
        ("+353.1.234.5678", PHONE),
        ("(555) 123-4567", PHONE),
        ("555-123-4567 or 555.123.4567", f"{PHONE} or {PHONE}"),
        ("555 123 4567", PHONE),
        ("020 7946 0958", PHONE),
        ("06 12 34 56 78", PHONE),
        ("+44 20 7946 0958 12345 items", f"{PHONE} 12345 items"),
        ("ref 01 020 7946 0958", f"ref 01 {PHONE}"),
        ("text 15551234567@sms.example.com", f"text {EMAIL}"),
    ],
)
def test_emails_and_phones_in_free_text_are_redacted(text: str, expected: str) -> None:
    assert redact_text(text, ORDERED)[0] == expected
    assert candidate_finder(ORDERED)(text)


#: What looks like a phone or an email to a careless pattern, and must survive.
LOOK_ALIKES = [
    "order 1234567890 shipped",
    "order #0012345678",
    "ORD-2024-000123",
    "2024-01-15",
    "15/01/2024 and 01.02.2024",
    "2024-01-15T10:30:00Z",
    "2024-01-15T10:30:00.123456+02:00",
    "2024-01-15 10:30:00 +0100",
    "$1,234.56",
    "1 234 567,89 €",
    "EUR 12 345 678.90",
    "price 555-123-4567.89",
    "192.168.100.200",
    "v1.2.3 pkg@1.2.3",
    "@mention and user@localhost",
    "ts 1700000000123",
    "1 234 567 890 points",
    "call 555-0100 ext. 12",
    "tracking 1Z999AA10123456784",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_order_numbers_dates_timestamps_and_prices_survive(text: str) -> None:
    assert redact_text(text, ORDERED) == (text, {})
    clean = sanitize_attributes({"notes": text, "orders": [{"comment": text}]}, key=KEY)
    assert clean == {"notes": text, "orders": [{"comment": text}]}


def test_only_the_chosen_detectors_run() -> None:
    text = "ana@example.com, +44 20 7946 0958"
    assert redact_text(text, [PiiKind.EMAIL])[0] == f"{EMAIL}, +44 20 7946 0958"
    assert redact_text(text, [PiiKind.PHONE])[0] == f"ana@example.com, {PHONE}"
    assert not candidate_finder([PiiKind.CARD])("ana@example.com")
    assert candidate_finder([PiiKind.EMAIL])("a@b.co")
    assert not candidate_finder([PiiKind.EMAIL])("a@b.c")  # shorter than any address
    assert candidate_finder(ORDERED)("a@b.co")


def test_free_text_loses_emails_and_phones_while_identifiers_keep_their_rules() -> None:
    counts = SanitizeCounts()
    raw = {
        "id": "ana@example.com",
        "email": "Ana@Example.com",
        "workEmail": "ana@work.example",
        "emails": ["ana@example.com", "ana@work.example"],
        "phone": "+1 (555) 123-4567",
        "fax": "555-123-4567 and 4111 1111 1111 1111",
        "notes": "reach me at ana@example.com or +1 (555) 123-4567",
        "orders": [{"comment": "call 020 7946 0958 before delivery", "total": "$1,234.56"}],
        "created_at": "2024-01-15T10:30:00Z",
    }
    clean = sanitize_attributes(raw, key=KEY, counts=counts)
    assert clean == {
        "id": "ana@example.com",
        "email": "Ana@Example.com",
        "workEmail": "ana@work.example",
        "emails": ["ana@example.com", "ana@work.example"],
        "phone_hash": KEY.pseudonym("+1 (555) 123-4567", IdentifierKind.PHONE),
        "fax": "555-123-4567 and [REDACTED:card]",  # a phone itself: the other detectors run
        "notes": f"reach me at {EMAIL} or {PHONE}",
        "orders": [{"comment": f"call {PHONE} before delivery", "total": "$1,234.56"}],
        "created_at": "2024-01-15T10:30:00Z",
    }
    assert counts.detections == {"email": 1, "phone": 2, "card": 1}
    attributes = {(row["attribute"], row["action"]) for row in counts.to_json()["attributes"]}  # type: ignore[attr-defined]
    assert {("notes", "redact"), ("orders[].comment", "redact"), ("fax", "redact")} <= attributes


def test_identifiers_keep_their_value_on_every_path() -> None:
    """Records of one shape, of mixed rules (key by key) and nested ones agree."""
    policy = Policy.from_rules({"plan": "keep", "bio": "redact-values"})
    text = "ana@example.com"
    mixed = {"plan": text, "bio": text, "email": text, 7: text, "contact": {"email": text}}
    assert sanitize_attributes(mixed, policy, key=KEY) == {
        "bio": EMAIL,
        "plan": text,
        "email": text,
        7: EMAIL,
        "contact": {"email": text},
    }
    beneath = {"emails": {"home": text, "nested": [text, {"bio": text}]}, "note": text}
    assert sanitize_attributes(beneath, policy, key=KEY) == {**beneath, "note": EMAIL}
    assert sanitize_attributes({"email": 4111111111111111}, key=KEY) == {"email": "[REDACTED:card]"}
    # A stale phone_hash next to phone is replaced by the pseudonym, not kept as an identifier.
    clean = sanitize_attributes({"phone_hash": "old", "phone": "+1 555 0100"}, key=KEY)
    assert clean == {"phone_hash": KEY.pseudonym("+1 555 0100", IdentifierKind.PHONE)}


def test_policy_files_switch_email_and_phone_on_and_off(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('detectors = ["email", "phone"]\n')
    policy = Policy.load(path)
    assert policy.detectors == frozenset({PiiKind.EMAIL, PiiKind.PHONE})
    text = "ana@example.com, +44 20 7946 0958, 4111 1111 1111 1111"
    assert sanitize_attributes({"notes": text}, policy, key=KEY) == {
        "notes": f"{EMAIL}, {PHONE}, 4111 1111 1111 1111"
    }
    path.write_text('detectors = ["card", "ssn", "iban"]\n')
    assert sanitize_attributes({"notes": text}, Policy.load(path), key=KEY) == {
        "notes": "ana@example.com, +44 20 7946 0958, [REDACTED:card]"
    }
    path.write_text('extends = "default"\n\ndetectors = ["email", "fax"]\n')
    with pytest.raises(InputError) as raised:
        Policy.load(path)
    assert raised.value.line == 3
    assert "unknown detector (expected some of card, ssn, iban, email, phone)" in str(raised.value)


def _digits(count: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=count, max_size=count)


@st.composite
def international_phones(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from(["1", "33", "44", "49", "61", "353", "852"]))
    rest = draw(_digits(draw(st.integers(9, 15)) - len(country)))
    groups: list[str] = []
    while len(rest) > sum(map(len, groups)):
        start = sum(map(len, groups))
        groups.append(rest[start : start + draw(st.integers(2, 4))])
    separator = draw(st.sampled_from([" ", "-", ".", ""]))
    return f"+{country}{separator}{separator.join(groups)}"


north_american_phones = st.builds(
    lambda area, exchange, line, shape: shape.format(area, exchange, line),
    _digits(3),
    _digits(3),
    _digits(4),
    st.sampled_from(["({}) {}-{}", "({}){}-{}", "{}-{}-{}", "{}.{}.{}", "{} {} {}"]),
)
national_phones = st.builds(
    lambda area, first, second, separator: f"0{area}{separator}{first}{separator}{second}",
    _digits(2),
    _digits(4),
    _digits(4),
    st.sampled_from([" ", "-"]),
)
phones = st.one_of(international_phones(), north_american_phones, national_phones)


@given(st.emails(), st.text(), st.text())
def test_a_generated_email_in_random_text_never_survives(
    email: str, before: str, after: str
) -> None:
    text = f"{before} {email} {after}"
    clean = sanitize_attributes({"notes": text, "orders": [{"comment": text}]}, key=KEY)
    assert email not in clean["notes"]
    assert email not in clean["orders"][0]["comment"]
    assert EMAIL in clean["notes"]


@given(phones, st.text(), st.text())
def test_a_generated_phone_in_random_text_never_survives(
    phone: str, before: str, after: str
) -> None:
    text = f"{before} {phone} {after}"
    clean = sanitize_attributes({"notes": text, "orders": [{"comment": text}]}, key=KEY)
    assert phone not in clean["notes"]
    assert phone not in clean["orders"][0]["comment"]


words = st.sampled_from(["the", "parcel", "order", "paid", "on", "at", "total", "ref", "—"])
look_alikes = st.one_of(
    st.sampled_from(LOOK_ALIKES),
    st.dates().map(str),
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.decimals(0, 10**9, places=2).map(lambda price: f"${price:,}"),
    st.integers(0, 10**15).map(str),
    st.integers(0, 10**6).map(lambda number: f"ORD-{number:08d}"),
)


@given(st.lists(st.one_of(words, look_alikes), max_size=12))
def test_text_without_emails_or_phones_comes_back_unchanged(tokens: list[str]) -> None:
    text = " ".join(tokens)
    attrs: dict[str, Any] = {"notes": text, "orders": [{"comment": text}]}
    policy = Policy.from_rules({}, detectors=["email", "phone"])
    assert sanitize_attributes(attrs, policy, key=KEY) == attrs


@given(st.one_of(st.emails(), phones), st.text(max_size=20), st.text(max_size=20))
def test_the_prefilter_passes_every_email_and_phone(found: str, before: str, after: str) -> None:
    for text in (found, f"{before} {found} {after}"):
        assert candidate_finder(ORDERED)(text)
        assert candidate_finder([PiiKind.EMAIL, PiiKind.PHONE])(text)
