"""Attribute-name normalisation, policy globs and the value detectors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.sanitize import Action, Policy
from cio_sec.sanitize.detectors import (
    ALL_DETECTORS,
    PiiKind,
    candidate_finder,
    iban_valid,
    luhn_valid,
    redact_text,
)
from cio_sec.sanitize.names import compile_glob, is_glob, normalise_name, normalise_pattern

ORDERED = tuple(PiiKind)


@pytest.mark.parametrize(
    "name",
    ["cardNumber", "Card-Number", "CARD_NUMBER", "card number", " card.number ", "CardNumber"],
)
def test_every_spelling_of_a_name_normalises_alike(name: str) -> None:
    assert normalise_name(name) == "card_number"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("IPAddress", "ip_address"), ("dateOfBirth", "date_of_birth"), ("SSN", "ssn"),
     ("phone2Home", "phone2_home"), ("--", ""), ("e-mail", "e_mail")],
)  # fmt: skip
def test_acronyms_and_digits(name: str, expected: str) -> None:
    assert normalise_name(name) == expected


def test_patterns_keep_their_wildcards() -> None:
    assert normalise_pattern("*Password") == "*password"
    assert normalise_pattern("password-*") == "password_*"
    assert normalise_pattern("card[!x]num") == "card[!x]num"
    assert is_glob("*_password")
    assert not is_glob("password")
    assert compile_glob("*_password").match("db_password")
    assert not compile_glob("*_password").match("password")


def test_ranges_inside_brackets_keep_their_dash() -> None:
    assert normalise_pattern("secret[0-9]") == "secret[0-9]"
    assert normalise_pattern("Token-[a-f]") == "token_[a-f]"
    assert normalise_pattern("card[-_ ]number") == "card[__]number"  # separators, no range
    policy = Policy.from_rules({"secret[0-9]": "drop"}, extends_default=False)
    assert [policy.decide(name).action for name in ("secret5", "SECRET9", "secret_")] == [
        Action.DROP,
        Action.DROP,
        Action.REDACT_VALUES,
    ]


@pytest.mark.parametrize("bad", ["", "   ", "--", "card[num", "a!b", "x]"])
def test_bad_patterns_are_refused(bad: str) -> None:
    assert normalise_pattern(bad) is None


def test_luhn_and_iban_checksums() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("DE89370400440532013000")
    assert iban_valid("gb82west12345698765432")
    assert not iban_valid("DE89370400440532013001")
    assert not iban_valid("1289370400440532013000")
    assert not iban_valid("DE89")


@pytest.mark.parametrize(
    ("text", "expected", "found"),
    [
        ("card 4111 1111 1111 1111 thanks", "card [REDACTED:card] thanks", {"card": 1}),
        ("4111-1111-1111-1111", "[REDACTED:card]", {"card": 1}),
        ("pay 4111111111111111.", "pay [REDACTED:card].", {"card": 1}),
        ("4111 1111 1111 1111 12 and more", "[REDACTED:card] 12 and more", {"card": 1}),
        ("ref 1 4111 1111 1111 1111", "ref 1 [REDACTED:card]", {"card": 1}),
        ("order 4111 1111 1111 1112 kept", "order 4111 1111 1111 1112 kept", {}),
        ("ssn 078-05-1120 here", "ssn [REDACTED:ssn] here", {"ssn": 1}),
        ("ssn 078 05 1120", "ssn [REDACTED:ssn]", {"ssn": 1}),
        ("not 000-12-3456 or 078-05-1120-9", "not 000-12-3456 or 078-05-1120-9", {}),
        ("iban DE89 3704 0044 0532 0130 00 ok", "iban [REDACTED:iban] ok", {"iban": 1}),
        ("iban DE89370400440532013000", "iban [REDACTED:iban]", {"iban": 1}),
        ("GB82 WEST 1234 5698 7654 32 test", "[REDACTED:iban] test", {"iban": 1}),
        ("to BH31BMAGABCDEFGHIJKLMN.", "to [REDACTED:iban].", {"iban": 1}),
        ("GB82 WEST 1234 5698 7654 3298 9999", "GB82 WEST 1234 5698 7654 3298 9999", {}),
        ("hex a4111111111111111b stays", "hex a4111111111111111b stays", {}),
    ],
)
def test_detectors_redact_valid_values_in_place(
    text: str, expected: str, found: dict[str, int]
) -> None:
    redacted, detections = redact_text(text, ORDERED)
    assert redacted == expected
    assert {d.value: n for d, n in detections.items()} == found


def test_detectors_can_be_chosen() -> None:
    text = "4111 1111 1111 1111 and 078-05-1120"
    assert redact_text(text, [PiiKind.SSN])[0] == "4111 1111 1111 1111 and [REDACTED:ssn]"
    assert frozenset(ORDERED) == ALL_DETECTORS


def test_the_prefilter_skips_short_and_digit_poor_text() -> None:
    finder = candidate_finder(ORDERED)
    assert finder("078-05-1120")
    assert not finder("a long sentence with 12 digits 345")
    assert not finder("078-05-112")
    assert not candidate_finder([])("078-05-1120")
    assert finder("BH31BMAGABCDEFGHIJKLMN")
    assert candidate_finder(ORDERED)("pay BH31BMAGABCDEFGHIJKLMN")
    assert not candidate_finder([PiiKind.CARD, PiiKind.SSN])("pay BH31BMAGABCDEFGHIJKLMN")


FINDINGS = [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111111111111111",
    "078-05-1120",
    "078 05 1120",
    "GB82 WEST 1234 5698 7654 32",
    "GB82WEST12345698765432",
    "NL91ABNA0417164300",
    "BH31BMAGABCDEFGHIJKLMN",  # an account part of letters: fewer than nine digits
]
# Near misses: digits, separators and letters, a non-ASCII digit and letter.
_NEAR_MISSES = st.text(alphabet=st.sampled_from("0123456789 -_ABaz.\n\u0663\u00e9"), max_size=30)


@given(
    _NEAR_MISSES,
    st.sampled_from(FINDINGS),
    _NEAR_MISSES,
    st.sets(st.sampled_from(ORDERED), min_size=1),
)
def test_the_candidate_prefilter_passes_all_text_a_detector_would_change(
    before: str, finding: str, after: str, detectors: set[PiiKind]
) -> None:
    chosen = [detector for detector in ORDERED if detector in detectors]
    for text in (finding, f"{before} {finding} {after}", before + finding + after):
        if redact_text(text, chosen)[0] != text:
            assert candidate_finder(chosen)(text)


@given(st.text())
def test_redacting_twice_changes_nothing(text: str) -> None:
    once, _ = redact_text(text, ORDERED)
    assert redact_text(once, ORDERED)[0] == once


@given(st.from_regex(r"4[0-9]{15}", fullmatch=True), st.sampled_from([" ", "-", ""]))
def test_every_luhn_valid_card_is_redacted(digits: str, separator: str) -> None:
    check = next(d for d in "0123456789" if luhn_valid(digits[:15] + d))
    card = digits[:15] + check
    grouped = separator.join(card[i : i + 4] for i in range(0, 16, 4))
    redacted, _ = redact_text(f"my card: {grouped}, exp 12/30", ORDERED)
    assert redacted == "my card: [REDACTED:card], exp 12/30"
