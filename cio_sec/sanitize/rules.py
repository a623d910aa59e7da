"""The words a sanitisation policy is written in: actions, and rules naming attributes.

Both :mod:`cio_sec.sanitize.policy` (the rule table) and
:mod:`cio_sec.sanitize.policy_file` (the TOML file format) build on these.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from cio_sec.pseudonym import IdentifierKind


class Action(str, Enum):
    """What happens to an attribute."""

    DROP = "drop"
    """Removed: the attribute never leaves the process."""
    PSEUDONYMISE = "pseudonymise"
    """Replaced by ``<name>_hash`` = ``<key id>:<hex HMAC-SHA256>`` of the normalised value."""
    REDACT_VALUES = "redact-values"
    """Kept, with card numbers, SSNs, IBANs, emails and phones in its text redacted in place.

    An attribute that is itself an email address, a phone number or the ``id`` keeps its
    value: the email and phone detectors are off for it (see :attr:`Decision.identifier`).
    """
    KEEP = "keep"
    """Kept exactly as it is; the value detectors are off for it."""


@dataclass(frozen=True)
class Rule:
    """One policy line: a normalised name or glob and what happens to matching attributes."""

    pattern: str
    action: Action
    kind: IdentifierKind | None = None
    """Normalisation of pseudonymised values; None means inferred from the name."""
    line: int | None = None
    """Where the rule was written (policy files only)."""
