"""After a rejection, find the likely cause: which near-miss would have produced the signature.

The near-misses are in :mod:`cio_sec.webhook.near_misses`; this module runs them, one at a
time and then in pairs. A match explains the failure; it never makes the delivery valid.
"""

from __future__ import annotations

from collections.abc import Iterable

from cio_sec.webhook.near_misses import (
    MILLISECOND_DIGITS,
    Cause,
    body_variants,
    candidates,
    causes_of,
    paired,
)
from cio_sec.webhook.recipe import MAX_HEADER_LENGTH, Scheme, Secret, as_secrets, parse_timestamp
from cio_sec.webhook.signing import Reason, Verification

#: Two-cause checks search every millisecond only for bodies up to this size (each of the
#: dozen body variants costs 1,000 MACs per key).
_PAIR_CLOCK_SEARCH_BYTES = 4 * 1024
#: Larger bodies get no two-cause search: a dozen re-serialisations of each would be slow.
_PAIR_SEARCH_BYTES = 1024 * 1024


def diagnose(
    body: bytes,
    timestamp: str | bytes | None,
    signature: str | bytes,
    secrets: Iterable[Secret | str | bytes],
    *,
    scheme: Scheme | str = Scheme.REPORTING,
    inactive: Iterable[Secret] = (),
) -> tuple[Cause, ...]:
    """Run every check that applies; return them in order, matched or not.

    ``inactive`` are keys that were not accepted (a previous key after the overlap); a
    match with one of them is reported as the cause, never as a pass. Returns nothing
    when the signature is not hexadecimal (there is nothing to compare with).
    """
    scheme = Scheme(scheme)
    expected = _hex(signature)
    if expected is None:
        return ()
    keys = as_secrets(secrets)
    stamp, _ = parse_timestamp(timestamp)
    single = causes_of(list(candidates(body, stamp, scheme, keys, tuple(inactive))), expected)
    if any(finding.matched for finding in single):
        return single
    return single + _pair_causes(body, stamp, scheme, keys, tuple(inactive), expected)


def _pair_causes(
    body: bytes,
    stamp: bytes | None,
    scheme: Scheme,
    keys: tuple[Secret, ...],
    inactive: tuple[Secret, ...],
    expected: bytes,
) -> tuple[Cause, ...]:
    """Two causes at once: undo one change to the body, then try every single near-miss.

    A delivery signed with a trailing newline and pretty-printed later matches neither
    check alone. Only the matches are reported, or one line saying what was tried.
    """
    if len(body) > _PAIR_SEARCH_BYTES:
        return (Cause("two-causes", False, "no pairs of changes: the body is over 1 MiB"),)
    matches: dict[str, Cause] = {}
    small = len(body) <= _PAIR_CLOCK_SEARCH_BYTES
    for first, variant in body_variants(body, stamp, scheme):
        seconds = candidates(variant, stamp, scheme, keys, inactive, full_clock_search=small)
        pairs = [paired(first, second) for second in seconds if second.check != first]
        for finding in causes_of(pairs, expected):
            if finding.matched:
                matches.setdefault(finding.check, finding)
    if matches:
        return tuple(matches.values())
    return (Cause("two-causes", False, "every pair of the changes above"),)


def clock_causes(verification: Verification, timestamp: str | bytes | None) -> tuple[Cause, ...]:
    """Explain a stale or future verdict whose timestamp is in milliseconds."""
    _, seconds = parse_timestamp(timestamp)
    if verification.reason not in (Reason.STALE, Reason.FUTURE) or seconds is None:
        return ()
    if len(str(seconds)) < MILLISECOND_DIGITS:
        return ()
    return (
        Cause(
            "timestamp-milliseconds",
            True,
            "the timestamp has 13 digits: it is in milliseconds, but Customer.io signs and "
            "sends Unix seconds; whoever signed this delivery used milliseconds",
        ),
    )


def _hex(signature: str | bytes) -> bytes | None:
    if len(signature) > MAX_HEADER_LENGTH:
        return None
    try:
        text = signature.decode("ascii") if isinstance(signature, bytes) else signature
        return bytes.fromhex(text.strip()) if text.strip().isalnum() else None
    except (UnicodeDecodeError, ValueError):
        return None
