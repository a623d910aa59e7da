"""Masking of secret values: the process-wide redactor, mask() and fingerprint().

Every secret value cio-sec reads is registered here. Anything that leaves the process as
text (output, log records, error messages, tracebacks) passes through `redact()`, which
replaces registered values with their masked form.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from urllib.parse import quote

#: Shorter values are not registered: masking every occurrence of "abc" in all output
#: would garble it, and values that short are not credentials Customer.io issues.
MIN_REDACTED_LENGTH = 4

ELLIPSIS = "…"


def mask(value: str) -> str:
    """Return a display form of a secret that is never length-preserving.

    Long values keep their first and last four characters (``a1b2…f9e0``) so that an
    operator can tell two keys apart; short ones keep less, very short ones nothing.
    """
    if len(value) >= 16:
        return f"{value[:4]}{ELLIPSIS}{value[-4:]}"
    if len(value) >= 10:
        return f"{value[:2]}{ELLIPSIS}{value[-2:]}"
    return ELLIPSIS


def fingerprint(value: str) -> str:
    """Return the first 16 hex digits of SHA-256 of the value: safe to print and store."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


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
