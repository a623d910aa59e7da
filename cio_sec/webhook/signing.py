"""Sign and verify Customer.io webhook deliveries: the one correct recipe, with reasons.

The recipes themselves (headers, schemes, the signed string) are in
:mod:`cio_sec.webhook.recipe`.

Framework-neutral use (``raw_body`` is the bytes as received, never re-serialised JSON)::

    from cio_sec.webhook import verify

    verdict = verify(raw_body, headers.get("X-CIO-Timestamp"),
                     headers.get("X-CIO-Signature"), [signing_key])
    if not verdict.ok:
        return 401, verdict.reason.value
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from cio_sec.errors import ExitCode
from cio_sec.webhook.near_misses import Cause
from cio_sec.webhook.recipe import (
    TIMESTAMP_HEADER,
    Scheme,
    Secret,
    SignedShape,
    as_secrets,
    mac,
    parse_signature,
    parse_timestamp,
    shape_of,
    signed_string,
)

DEFAULT_TOLERANCE = 300


class Reason(str, Enum):
    """Why a delivery was accepted or rejected."""

    VALID = "valid"
    MISSING_HEADER = "missing-header"
    MALFORMED_TIMESTAMP = "malformed-timestamp"
    MALFORMED_SIGNATURE = "malformed-signature"
    STALE = "stale"
    FUTURE = "future"
    MISMATCH = "mismatch"
    NO_SECRET = "no-secret"  # noqa: S105 - a reason code, not a password


def sign(
    body: bytes,
    secret: str | bytes,
    timestamp: int | None = None,
    scheme: Scheme | str = Scheme.REPORTING,
    *,
    now: Callable[[], float] = time.time,
) -> dict[str, str]:
    """Return the headers a sender would attach to ``body`` (for fixtures and probes).

    ``timestamp`` defaults to now; Pipelines deliveries carry no timestamp.

    Raises:
        ValueError: the key is empty or only whitespace.
    """
    scheme = Scheme(scheme)
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not key.strip():
        raise ValueError("refusing to sign with an empty key")
    if scheme is Scheme.PIPELINES:
        return {scheme.signature_header: mac(key, body, scheme).hex()}
    stamp = str(int(now()) if timestamp is None else timestamp)
    digest = mac(key, signed_string(body, stamp, scheme), scheme).hex()
    return {TIMESTAMP_HEADER: stamp, scheme.signature_header: digest}


@dataclass(frozen=True)
class Verification:
    """The verdict on one delivery: a reason code, the skew, and which key matched."""

    reason: Reason
    scheme: Scheme
    detail: str
    secrets_tried: tuple[str, ...] = ()
    matched: Secret | None = None
    skew: int | None = None
    """Seconds between the delivery's timestamp and now: positive when it is in the past."""
    tolerance: int | None = DEFAULT_TOLERANCE
    """None when the age check was switched off (``--allow-stale``)."""
    shape: SignedShape | None = None
    warnings: tuple[str, ...] = ()
    diagnosis: tuple[Cause, ...] = ()
    """Likely causes, looked for only after a rejection (never a way to accept)."""

    @property
    def ok(self) -> bool:
        """True when the delivery is authentic and fresh enough."""
        return self.reason is Reason.VALID

    @property
    def exit_code(self) -> ExitCode:
        """0 valid, 3 when no key was available, 1 for every other rejection."""
        if self.reason is Reason.VALID:
            return ExitCode.OK
        return ExitCode.CONFIG if self.reason is Reason.NO_SECRET else ExitCode.CHECK_FAILED

    @property
    def skew_direction(self) -> str | None:
        """``past``, ``future`` or ``none``; None without a timestamp."""
        if self.skew is None:
            return None
        return "past" if self.skew > 0 else "future" if self.skew < 0 else "none"

    def to_json(self) -> dict[str, object]:
        """The JSON payload: reasons, skew and key labels, never a key."""
        return {
            "verdict": "valid" if self.ok else "invalid",
            "reason": self.reason.value,
            "scheme": self.scheme.value,
            "detail": self.detail,
            "matched_secret": self.matched.label if self.matched else None,
            "matched_previous": bool(self.matched and self.matched.previous),
            "secrets_tried": list(self.secrets_tried),
            "skew_seconds": self.skew,
            "skew_direction": self.skew_direction,
            "tolerance": self.tolerance,
            "signed_string": self.shape.to_json() if self.shape else None,
            "warnings": list(self.warnings),
            "diagnosis": [finding.to_json() for finding in self.diagnosis],
        }


def verify(
    body: bytes,
    timestamp: str | bytes | None,
    signature: str | bytes | None,
    secrets: Iterable[Secret | str | bytes] | Secret | str | bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: Callable[[], float] | float | None = None,
    scheme: Scheme | str = Scheme.REPORTING,
    allow_stale: bool = False,
) -> Verification:
    """Verify one delivery against every active key; never raises on hostile headers.

    The signature is checked before the timestamp, so an authentic but old delivery is
    reported ``stale`` rather than ``mismatch``. A timestamp exactly ``tolerance`` seconds
    away is still accepted. Any matching key passes; the verdict names it and warns when
    only a previous (rotated-out) key matched. ``allow_stale`` skips the age check, for
    replaying captured deliveries.
    """
    scheme = Scheme(scheme)
    keys = as_secrets(secrets)
    labels = tuple(key.label for key in keys)
    verdict = _Verdict(scheme, labels, None if allow_stale else tolerance)
    if not keys:
        return verdict(Reason.NO_SECRET, "no signing key is available to verify with")
    needs_stamp = scheme is Scheme.REPORTING
    if signature is None:
        names = [TIMESTAMP_HEADER] if needs_stamp and timestamp is None else []
        return verdict(
            Reason.MISSING_HEADER, f"missing {' and '.join([*names, scheme.signature_header])}"
        )
    # The signature's shape is checked first: a Pipelines signature without a timestamp
    # is better explained by its length than by the missing header.
    expected, problem = parse_signature(signature, scheme)
    if expected is None:
        return verdict(Reason.MALFORMED_SIGNATURE, problem)
    if needs_stamp and timestamp is None:
        return verdict(Reason.MISSING_HEADER, f"missing {TIMESTAMP_HEADER}")
    stamp = b""
    seconds: int | None = None
    if scheme is Scheme.REPORTING:
        stamp_or_none, seconds = parse_timestamp(timestamp)
        if stamp_or_none is None or seconds is None:
            return verdict(
                Reason.MALFORMED_TIMESTAMP,
                f"{TIMESTAMP_HEADER} must be Unix seconds (ASCII digits only)",
            )
        stamp = stamp_or_none
    current = _now(now)
    skew = None if seconds is None else current - seconds
    shape = shape_of(body, stamp, scheme)
    message = signed_string(body, stamp, scheme)
    matched = next(
        (key for key in keys if hmac.compare_digest(mac(key.key, message, scheme), expected)),
        None,
    )
    if matched is None:
        return verdict(
            Reason.MISMATCH,
            f"no active key ({len(keys)} tried) produces this signature for this body",
            skew=skew,
            shape=shape,
        )
    warnings = _previous_warning(matched)
    if skew is not None and verdict.tolerance is not None and abs(skew) > verdict.tolerance:
        stale = skew > 0
        return verdict(
            Reason.STALE if stale else Reason.FUTURE,
            f"the signature is authentic but the timestamp is {abs(skew)} s in the "
            f"{'past' if stale else 'future'} (tolerance {verdict.tolerance} s)",
            matched=matched,
            skew=skew,
            shape=shape,
            warnings=warnings,
        )
    return verdict(
        Reason.VALID,
        f"signed with {matched.label}",
        matched=matched,
        skew=skew,
        shape=shape,
        warnings=warnings,
    )


@dataclass(frozen=True)
class _Verdict:
    """Builds verdicts that share the scheme, the keys tried and the tolerance."""

    scheme: Scheme
    labels: tuple[str, ...]
    tolerance: int | None

    def __call__(
        self,
        reason: Reason,
        detail: str,
        *,
        matched: Secret | None = None,
        skew: int | None = None,
        shape: SignedShape | None = None,
        warnings: tuple[str, ...] = (),
    ) -> Verification:
        return Verification(
            reason=reason,
            scheme=self.scheme,
            detail=detail,
            secrets_tried=self.labels,
            matched=matched,
            skew=skew,
            tolerance=self.tolerance,
            shape=shape,
            warnings=warnings,
        )


def _previous_warning(matched: Secret) -> tuple[str, ...]:
    if not matched.previous:
        return ()
    return (
        f"only the previous signing key ({matched.label}) matched: the sender still signs "
        "with the old key; finish the rotation before that key is removed",
    )


def _now(now: Callable[[], float] | float | None) -> int:
    if now is None:
        return int(time.time())
    return int(now() if callable(now) else now)
