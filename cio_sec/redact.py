"""Masking of secret values: the process-wide redactor, mask() and fingerprint().

Every secret value cio-sec reads is registered here. Anything that leaves the process as
text (output, log records, error messages, tracebacks) passes through `redact()`, which
replaces registered values with their masked form.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import string
import threading
from urllib.parse import quote

#: Shorter values are not registered: masking every occurrence of "abc" in all output
#: would garble it, and values that short are not credentials Customer.io issues.
MIN_REDACTED_LENGTH = 4

ELLIPSIS = "…"


#: Bits of the public fingerprint (`public_fingerprint`): 4 hex digits.
PUBLIC_FINGERPRINT_BITS = 16

#: What must stay unknown of a credential after everything cio-sec shows or writes about it
#: (issue 15, finding 4): at least 2^64 candidate keys.
UNKNOWN_BITS_REQUIRED = 64

#: Alphabets from the smallest up; a value's bits are counted in the smallest that holds it,
#: so the estimate never overstates what an attacker who knows the format must guess.
_ALPHABETS: tuple[tuple[frozenset[str], int], ...] = tuple(
    (frozenset(chars), len(set(chars)))
    for chars in (
        string.digits,
        string.digits + "abcdef",
        string.digits + "ABCDEF",
        string.digits + string.ascii_lowercase,
        string.digits + string.ascii_uppercase,
        string.digits + string.ascii_letters,
        string.digits + string.ascii_letters + "+/=_-",
        "".join(chr(code) for code in range(0x20, 0x7F)),
    )
)


def estimated_bits(value: str) -> float:
    """Bits of a random value of this length over the smallest alphabet that holds it.

    A 20-hex Track key counts 80 bits, a 32-hex App key 128. Characters outside printable
    ASCII count as 8 bits each.
    """
    chars = set(value)
    for alphabet, size in _ALPHABETS:
        if chars <= alphabet:
            return len(value) * math.log2(size)
    return len(value) * 8.0


def mask(value: str) -> str:
    """Return a display form of a secret that is never length-preserving.

    It keeps the first and last four characters (``a1b2…f9e0``), or two, only when at
    least 64 bits stay unknown after them *and* after the public fingerprint's 16 bits;
    otherwise nothing but the ellipsis. So a 32-hex App key shows ``a1b2…f9e0`` and a
    20-hex Track key or site ID shows ``…`` (see the README's preview computation).
    """
    bits = estimated_bits(value)
    per_char = bits / len(value) if value else 0.0
    reserve = UNKNOWN_BITS_REQUIRED + PUBLIC_FINGERPRINT_BITS
    for shown, shortest in ((4, 16), (2, 10)):
        if len(value) >= shortest and bits - 2 * shown * per_char >= reserve:
            return f"{value[:shown]}{ELLIPSIS}{value[-shown:]}"
    return ELLIPSIS


def fingerprint(value: str) -> str:
    """Return 16 hex digits of HMAC-SHA256 of the value under this machine's key.

    Safe to print and store: without the key (`cio_sec.machine_key`) it says nothing about
    the value. It compares only with fingerprints made on the same machine.
    """
    from cio_sec.machine_key import machine_key

    message = _FINGERPRINT_LABEL + value.encode("utf-8", "surrogatepass")
    return hmac.new(machine_key(), message, hashlib.sha256).hexdigest()[:16]


def public_fingerprint(value: str) -> str:
    """Return the first 4 hex digits of SHA-256 of the value: comparable on any machine.

    For what is shared between machines (a committed ``scan-repo`` baseline): short
    enough that a 20-hex key keeps 64 unknown bits, and the prefix of the 16-digit
    fingerprint earlier versions wrote, so their baselines still apply.
    """
    return legacy_fingerprint(value)[: PUBLIC_FINGERPRINT_BITS // 4]


def legacy_fingerprint(value: str) -> str:
    """The unkeyed 16 hex digits of SHA-256 earlier versions printed (reading old files)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]


_FINGERPRINT_LABEL = b"cio-sec credential fingerprint v2\0"


class Redactor:
    """A set of registered secret values and a function that masks them in text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    def register(self, value: str | None) -> None:
        """Remember a secret value (and its common encodings) so it is masked from now on."""
        if not value or len(value) < MIN_REDACTED_LENGTH:
            return
        variants = {value, value.strip(), quote(value, safe="")}
        with self._lock:
            for variant in variants:
                if len(variant) >= MIN_REDACTED_LENGTH and variant not in self._values:
                    self._values[variant] = mask(value)
                    self._pattern = None

    def register_basic_auth(self, username: str, password: str) -> None:
        """Register the base64 form an HTTP Basic ``Authorization`` header would carry."""
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self.register(token)

    def redact(self, text: str) -> str:
        """Return the text with every registered value replaced by its masked form."""
        pattern = self._compiled()
        if pattern is None:
            return text
        return pattern.sub(lambda match: self._values[match.group(0)], text)

    def clear(self) -> None:
        """Forget every registered value (for tests and long-lived library users)."""
        with self._lock:
            self._values.clear()
            self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                # Longest first, so a value that contains another is masked whole.
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            return self._pattern


#: The process-wide redactor. A module global on purpose: a secret read anywhere must be
#: masked everywhere, including in log records emitted by third-party libraries.
REDACTOR = Redactor()


def register(value: str | None) -> None:
    """Register a secret value with the process-wide redactor."""
    REDACTOR.register(value)


def redact(text: str) -> str:
    """Mask every registered secret value in the text."""
    return REDACTOR.redact(text)
