"""Value detectors for free text: cards, US SSNs, IBANs, emails and phones, redacted in place.

Each detector validates what its pattern finds (Luhn, SSN number ranges, IBAN mod-97, a
phone's digit count and written shape), so order numbers, dates, timestamps and prices are
left alone. Before any detector runs, :class:`CandidateFinder` decides whether one could
match (a length, a run of digits, an IBAN's start or an ``@``): most attribute values are
short or have few digits, and the regular expressions would only cost time. The engine's
hot loop inlines the finder's checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from enum import Enum

# A card run: 13 or more digits, single spaces or dashes allowed between them, not glued
# to letters or digits (so hex digests and long ids are not read as card numbers).
_CARD_RUN = re.compile(r"(?<![0-9A-Za-z_])\d(?:[ -]?\d){12,}(?![0-9A-Za-z_])")
_CARD_DIGITS = (13, 19)
_SSN = re.compile(
    r"(?<![0-9A-Za-z_-])(?!000|666|9\d\d)\d{3}(?P<ssn_separator>[- ])(?!00)\d{2}(?P=ssn_separator)"
    r"(?!0000)\d{4}(?![0-9A-Za-z_-])"
)
# An IBAN: country, check digits, then the rest either unbroken or in groups of four.
_IBAN_RUN = re.compile(
    r"(?<![0-9A-Za-z_])[A-Za-z]{2}\d{2}"
    r"(?:[A-Za-z0-9]{11,30}|(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,4})?)"
    r"(?![0-9A-Za-z_])"
)
_IBAN_LENGTH = (15, 34)
# An email address: RFC 5322 atoms (any letters) before the @, a dotted domain after it
# whose last label starts with a letter ("pkg@1.2.3" is a version, not an address). The
# look-behind lets a match start only where a run of address characters starts, so a long
# run without a valid domain is tried once, not from each of its characters.
_EMAIL_CHARACTERS = r"\w!#$%&'*+/=?^`{|}~.-"
_EMAIL = re.compile(
    rf"(?<![{_EMAIL_CHARACTERS}])[{_EMAIL_CHARACTERS}]+@(?:[\w-]+\.)+[^\W\d_][\w-]*"
)
# A phone number as people write one: international (+ and a country code of one to three
# digits, then groups split by single separators and at most one bracketed area code; or
# + and 9 to 15 digits unbroken: "+0100" and "+1100 ..." are UTC offsets), North American
# ("(555) 123-4567", "555-123-4567", "555.123.4567", "555 123 4567") or national with a
# trunk zero and one separator throughout ("020 7946 0958", "06 12 34 56 78"). A bare
# run of digits is an order number, and dates, times and prices have other shapes.
_PHONE = re.compile(
    r"(?:(?<![\w+])\+(?:[1-9]\d{0,2}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]\d+)+|[1-9]\d{8,14})"
    r"|(?<![\w.,/:+$-])(?:\(\d{3}\) ?\d{3}[ .-]\d{4}"
    r"|\d{3}(?P<phone_separator>[ .-])\d{3}(?P=phone_separator)\d{4}"
    r"|0\d{1,4}(?P<trunk_separator>[ -])\d{2,4}(?:(?P=trunk_separator)\d{2,4}){1,3}))"
    r"(?![\w/:]|[.,-]\d)"
)
#: Digits in a valid phone: E.164 allows 15 with the country code; fewer than 9 is a short
#: code or an extension. National forms (no "+") hold 10 to 12 with the trunk zero.
_PHONE_DIGITS = (9, 15)
_NATIONAL_DIGITS = (10, 12)
_DIGIT_GROUP = re.compile(r"\d+")
# Nine ASCII digits anywhere; one C-level match instead of counting in Python.
_NINE_DIGITS = r"(?:[^0-9]*[0-9]){9}"
# Or the start of an IBAN (country and check digits): some countries' IBANs (BH, KW, QA)
# have a BBAN of letters and so fewer than nine digits.
_IBAN_START = r".*?(?<![0-9A-Za-z_])[A-Za-z]{2}\d{2}"
_AT = r"[^@]*@"
# In ASCII text (where \d is [0-9]) every card run and SSN is a digit and then ten or more
# digits, spaces or dashes, and every IBAN has two check digits and then nine or more
# letters, digits or spaces: text without either run cannot match any detector. The
# search skips to digits at C speed and never backtracks far.
_DIGIT_RUN = r"[0-9](?:[0-9 -]{10}|[0-9][A-Za-z0-9 ]{9})"
# A phone's first digit is followed by at least eight more digits, spaces, dots, dashes
# and brackets; this also covers the card and SSN run above.
_PHONE_RUN = r"[0-9](?:[0-9 ().-]{8}|[0-9][A-Za-z0-9 ]{9})"
#: The shortest text each detector redacts: "a@b.co", "+123456789", "123-45-6789".
_SHORTEST = {
    "card": 13,
    "ssn": 11,
    "iban": 15,
    "email": 6,
    "phone": 10,
}
MIN_LENGTH = min(_SHORTEST.values())
# Where a detector's match may start, found by a search that skips to a digit in C: the
# detectors' own patterns open with a look-behind, which makes the regex engine try every
# position of the text. A seed is no match; the detector's search starts at (or, for the
# "+" or "(" of a phone, one before) the first seed.
_CARD_SEED = re.compile(r"\d[\d -]{12}")
_SSN_SEED = re.compile(r"\d{3}[- ]\d\d[- ]\d{4}")
_IBAN_SEED = re.compile(r"\d\d(?<=[A-Za-z]{2}\d\d)")
_PHONE_SEED = re.compile(r"\d[\d ().-]{8}")


class PiiKind(str, Enum):
    """The kinds of PII found in free text: one value detector each, switched on by policy."""

    CARD = "card"
    """Luhn-valid payment card numbers of 13 to 19 digits, with or without separators."""
    SSN = "ssn"
    """US social security numbers written ``123-45-6789`` or ``123 45 6789``."""
    IBAN = "iban"
    """IBANs with a valid mod-97 checksum, unbroken or in groups of four."""
    EMAIL = "email"
    """Email addresses (``name@example.com``)."""
    PHONE = "phone"
    """Phone numbers: ``+`` and 9 to 15 digits, North American and trunk-zero national forms."""

    @property
    def replacement(self) -> str:
        """What a detected value is replaced with."""
        return f"[REDACTED:{self.value}]"


ALL_DETECTORS = frozenset(PiiKind)
#: Each detector's replacement, looked up once: an enum member's ``value`` is a Python-level
#: descriptor, and redaction asks for it for every value it changes.
_REPLACEMENTS = {detector: detector.replacement for detector in PiiKind}
_SSN_REPLACEMENT = _REPLACEMENTS[PiiKind.SSN]
_EMAIL_REPLACEMENT = _REPLACEMENTS[PiiKind.EMAIL]
_PHONE_REPLACEMENT = _REPLACEMENTS[PiiKind.PHONE]
#: The detectors that are off for attributes that are themselves an email, phone or id.
CONTACT_DETECTORS = frozenset({PiiKind.EMAIL, PiiKind.PHONE})


class CandidateFinder:
    """Whether a text could hold anything the detectors redact: :meth:`quick`, then :meth:`digits`.

    ``min_length`` is the shortest text an active detector redacts. ``quick`` is None for
    ASCII text without a run any detector's match starts with (or an ``@``, when the email
    detector is on); ``digits`` is None for text without nine ASCII digits and, when the
    IBAN detector is on, without an IBAN's start (two letters, two digits: an IBAN's
    account part may be all letters), and without an ``@`` for the email detector. Text
    either rules out comes back from :func:`redact_text` unchanged, so it is never
    redacted. The engine's hot loop calls the two itself, so it spends no extra call per
    value; ``digits`` only runs on the rare text ``quick`` let through.
    """

    def __init__(self, detectors: Iterable[PiiKind]) -> None:
        detectors = frozenset(detectors)
        self.active = bool(detectors & ALL_DETECTORS)
        self.min_length = min((_SHORTEST[d.value] for d in detectors), default=MIN_LENGTH)
        runs = [_PHONE_RUN if PiiKind.PHONE in detectors else _DIGIT_RUN]
        digits = [_NINE_DIGITS]
        if PiiKind.IBAN in detectors:
            digits.append(_IBAN_START)
        if PiiKind.EMAIL in detectors:
            runs.append("@")
            digits.append(_AT)
        quick = re.compile("|".join(runs)).search
        self.quick: Callable[[str], object] = quick if self.active else _never
        self.digits: Callable[[str], object] = re.compile("|".join(digits), re.DOTALL).match

    def __call__(self, text: str) -> bool:
        """Whether a detector could match ``text``."""
        # NOTE: a search for the run skips to digits at C speed; the digit count must walk
        # every character, so it only runs on text the search could not rule out.
        # Letters alone (a name, a plan, a word in any script) hold no digit and no @.
        if len(text) < self.min_length or text.isalpha():
            return False
        if text.isascii() and self.quick(text) is None:
            return False
        return self.active and self.digits(text) is not None


def _never(text: str) -> None:
    return None


def candidate_finder(detectors: Iterable[PiiKind]) -> CandidateFinder:
    """The :class:`CandidateFinder` for these detectors."""
    return CandidateFinder(detectors)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum payment card numbers carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(compact: str) -> bool:
    """ISO 13616 check: length, country letters, check digits and mod-97 remainder 1."""
    compact = compact.upper()
    low, high = _IBAN_LENGTH
    if not (low <= len(compact) <= high and compact[:2].isalpha() and compact[2:4].isdigit()):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _longest_valid_span(
    groups: list[str], start: int, valid: Callable[[str], bool], lengths: tuple[int, int]
) -> int:
    """The end (exclusive) of the longest run of groups from ``start`` that is valid, or -1."""
    low, high = lengths
    best = -1
    joined = ""
    for end in range(start, len(groups)):
        joined += groups[end]
        if len(joined) > high:
            break
        if len(joined) >= low and valid(joined):
            best = end + 1
    return best


def _redact_runs(
    text: str,
    run: re.Pattern[str],
    detector: PiiKind,
    valid: Callable[[str], bool],
    lengths: tuple[int, int],
    *,
    anchored: bool,
) -> tuple[str, int]:
    """Replace valid group-aligned spans inside each run the pattern finds.

    A run may hold more than one candidate, or a candidate plus neighbouring digits
    ("4111 1111 1111 1111 12"); trying spans aligned to the separators finds the card
    inside without redacting whole sentences.
    """
    found = 0
    pieces: list[str] = []
    position = 0
    seed = _IBAN_SEED.search(text) if anchored else _CARD_SEED.search(text)
    if seed is None:
        return text, 0
    start = seed.start() - 2 if anchored else seed.start()  # an IBAN's country letters
    for match in run.finditer(text, max(start, 0)):
        groups = re.split(r"[ -]", match.group())
        separators = re.findall(r"[ -]", match.group())
        out: list[str] = []
        index = 0
        while index < len(groups):
            end = -1 if anchored and index else _longest_valid_span(groups, index, valid, lengths)
            if end < 0:
                out.append(groups[index])
                if index < len(separators):
                    out.append(separators[index])
                index += 1
                continue
            found += 1
            out.append(_REPLACEMENTS[detector])
            if end - 1 < len(separators):
                out.append(separators[end - 1])
            index = end
        pieces.extend((text[position : match.start()], "".join(out)))
        position = match.end()
    if not found:
        return text, 0
    pieces.append(text[position:])
    return "".join(pieces), found


def _redact_cards(text: str) -> tuple[str, int]:
    return _redact_runs(text, _CARD_RUN, PiiKind.CARD, luhn_valid, _CARD_DIGITS, anchored=False)


def _redact_ssns(text: str) -> tuple[str, int]:
    if _SSN_SEED.search(text) is None:
        return text, 0
    return _SSN.subn(_SSN_REPLACEMENT, text)


def _redact_ibans(text: str) -> tuple[str, int]:
    return _redact_runs(text, _IBAN_RUN, PiiKind.IBAN, iban_valid, _IBAN_LENGTH, anchored=True)


def _redact_emails(text: str) -> tuple[str, int]:
    if "@" not in text:
        return text, 0
    return _EMAIL.subn(_EMAIL_REPLACEMENT, text)


def _valid_phone_end(written: str) -> int:
    """Where the longest valid phone at the start of a match ends (0: none is valid).

    A match may run on into other numbers ("+44 20 7946 0958 12 items"); ending it at a
    digit group keeps the phone and leaves the rest.
    """
    low, high = _PHONE_DIGITS if written.startswith("+") else _NATIONAL_DIGITS
    digits = 0
    end = 0
    for group in _DIGIT_GROUP.finditer(written):
        digits += len(group.group())
        if digits > high:
            break
        if digits >= low:
            end = group.end()  # never inside brackets: they hold at most 7 digits with "+"
    return end


def _redact_phones(text: str) -> tuple[str, int]:
    """Replace each valid phone; a match that is none is tried again one character on.

    "00 020 7946 0958" first matches as a whole, too long for a phone: the phone after the
    leading number is found by the next search.
    """
    seed = _PHONE_SEED.search(text)
    if seed is None:
        return text, 0
    found = 0
    pieces: list[str] = []
    position = 0
    start = max(seed.start() - 1, 0)
    while (match := _PHONE.search(text, start)) is not None:
        end = _valid_phone_end(match.group())
        if not end:
            start = match.start() + 1
            continue
        found += 1
        pieces.extend((text[position : match.start()], _PHONE_REPLACEMENT))
        position = start = match.start() + end
    if not found:
        return text, 0
    pieces.append(text[position:])
    return "".join(pieces), found


_REDACTORS: dict[PiiKind, Callable[[str], tuple[str, int]]] = {
    PiiKind.CARD: _redact_cards,
    PiiKind.SSN: _redact_ssns,
    PiiKind.IBAN: _redact_ibans,
    PiiKind.EMAIL: _redact_emails,
    PiiKind.PHONE: _redact_phones,
}


def redact_text(text: str, detectors: Iterable[PiiKind]) -> tuple[str, dict[PiiKind, int]]:
    """Redact what the detectors find; returns the text and what was found, by detector.

    Callers rule text out with :class:`CandidateFinder` first; this function does not,
    so tests can drive the detectors directly.
    """
    found: dict[PiiKind, int] = {}
    for detector in detectors:
        text, count = _REDACTORS[detector](text)
        if count:
            found[detector] = count
    return text, found
