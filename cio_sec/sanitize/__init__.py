"""Policy-driven PII stripping and keyed pseudonymisation of Customer.io attributes.

Call :func:`sanitize_attributes` before ``identify()`` so that highly sensitive data never
reaches Customer.io and quasi-identifiers reach it only as keyed pseudonyms::

    from cio_sec.pseudonym import PseudonymKey
    from cio_sec.sanitize import Policy, sanitize_attributes

    key = PseudonymKey.from_text(os.environ["CIO_SEC_PSEUDONYM_KEY"])
    attributes = sanitize_attributes(raw, Policy.default(), key=key)

:func:`run` is the core of ``cio-sec sanitize`` (files and streams).
"""

from __future__ import annotations

from cio_sec.sanitize.counts import SanitizeCounts
from cio_sec.sanitize.detectors import PiiKind
from cio_sec.sanitize.engine import sanitize_attributes, sanitize_records
from cio_sec.sanitize.files import SanitizeReport, SanitizeRequest, run
from cio_sec.sanitize.hashers import keyed_hasher, legacy_hasher
from cio_sec.sanitize.names import normalise_name
from cio_sec.sanitize.policy import Decision, Policy
from cio_sec.sanitize.rules import Action, Rule

__all__ = [
    "Action",
    "Decision",
    "PiiKind",
    "Policy",
    "Rule",
    "SanitizeCounts",
    "SanitizeReport",
    "SanitizeRequest",
    "keyed_hasher",
    "legacy_hasher",
    "normalise_name",
    "run",
    "sanitize_attributes",
    "sanitize_records",
]
