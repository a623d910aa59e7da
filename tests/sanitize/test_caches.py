"""The engine's caches (plans per record shape, redacted texts) and the candidate prefilter.

The caches are optimisations: outputs and counts must be what an uncached run gives, and
memory must stay bounded however many shapes or distinct texts a file holds.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cio_sec.pseudonym import IdentifierKind, PseudonymKey
from cio_sec.sanitize import PiiKind, Policy, SanitizeCounts, keyed_hasher, sanitize_records
from cio_sec.sanitize.detectors import candidate_finder, redact_text
from cio_sec.sanitize.engine import (
    _PLAN_CACHE_LIMIT,
    _REMEMBERED_LENGTH,
    _REMEMBERED_TEXTS,
    _Walker,
)

KEY = PseudonymKey(b"k" * 32)
ORDERED = tuple(PiiKind)
CARD = "4111 1111 1111 1111"


def _walker(counts: SanitizeCounts) -> _Walker:
    return _Walker(Policy.default(), keyed_hasher(KEY), counts)


def test_a_file_whose_shape_changes_every_record_is_sanitised_in_bounded_memory() -> None:
    counts = SanitizeCounts()
    walker = _walker(counts)
    records = 3 * _PLAN_CACHE_LIMIT
    for number in range(records):
        clean = walker.record(
            {"phone": f"+1 555 {number:07d}", f"note_{number}": f"card {CARD}", "n": number}
        )
        assert clean == {
            "phone_hash": KEY.pseudonym(f"+1 555 {number:07d}", IdentifierKind.PHONE),
            f"note_{number}": "card [REDACTED:card]",
            "n": number,
        }
        assert len(walker.plans) <= _PLAN_CACHE_LIMIT
        assert len(walker.tallies) <= _PLAN_CACHE_LIMIT
    walker.finish()
    assert counts.changes[("phone", "pseudonymise")] == records
    assert counts.detections == {"card": records}
    assert counts.changed_records == records


def test_a_repeated_text_is_counted_every_time_it_is_redacted() -> None:
    counts = SanitizeCounts()
    clean = list(sanitize_records([{"notes": f"paid with {CARD}"}] * 5, key=KEY, counts=counts))
    assert clean == [{"notes": "paid with [REDACTED:card]"}] * 5
    assert counts.detections == {"card": 5}
    assert counts.changes == {("notes", "redact"): 5}


def test_remembered_texts_stay_bounded_and_long_texts_are_not_kept() -> None:
    walker = _walker(SanitizeCounts())
    for number in range(2 * _REMEMBERED_TEXTS + 1):
        walker.record({"notes": f"order {number} paid with {CARD}"})
        assert sum(map(len, walker.redactions)) <= _REMEMBERED_TEXTS
    long_text = "x" * _REMEMBERED_LENGTH + f" {CARD}"
    assert walker.record({"notes": long_text}) == {
        "notes": "x" * _REMEMBERED_LENGTH + " [REDACTED:card]"
    }
    assert all(long_text not in remembered for remembered in walker.redactions)
    walker.finish()


def test_identifiers_remember_their_own_redaction() -> None:
    """The same text is redacted differently as an id (no email detector) and as free text."""
    text = f"ana@example.com {CARD}"
    clean = list(sanitize_records([{"id": text, "notes": text}] * 2, key=KEY))
    assert (
        clean
        == [{"id": "ana@example.com [REDACTED:card]", "notes": "[REDACTED:email] [REDACTED:card]"}]
        * 2
    )


# Digits (ASCII and Arabic-Indic), the separators the detectors know, letters and an @.
_DETECTOR_ALPHABET = st.sampled_from("0123456789 -.()+@_/:,$ABGWTaxz\u0663\u00e9")


@given(
    st.text(alphabet=_DETECTOR_ALPHABET, max_size=40),
    st.sets(st.sampled_from(ORDERED), min_size=1),
)
def test_every_text_a_detector_changes_passes_the_prefilter(
    text: str, detectors: set[PiiKind]
) -> None:
    chosen = [detector for detector in ORDERED if detector in detectors]
    if redact_text(text, chosen)[0] != text:
        assert candidate_finder(chosen)(text)


@given(st.text(max_size=60), st.sets(st.sampled_from(ORDERED), min_size=1))
def test_every_arbitrary_text_a_detector_changes_passes_the_prefilter(
    text: str, detectors: set[PiiKind]
) -> None:
    chosen = [detector for detector in ORDERED if detector in detectors]
    if redact_text(text, chosen)[0] != text:
        assert candidate_finder(chosen)(text)
