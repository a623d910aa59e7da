"""Sign and verify Customer.io webhook deliveries: the one correct recipe, with reasons.

Reporting webhooks carry ``X-CIO-Timestamp`` (Unix seconds) and ``X-CIO-Signature``, the
lowercase hex HMAC-SHA256 keyed with the signing key over ``v0:<timestamp>:<raw body>``.
Data Pipelines webhook destinations carry ``X-Signature``, the hex HMAC-SHA1 of the raw
body (no timestamp). The key is used as the UTF-8 bytes of the key string, as in
Customer.io's own example (``[]byte(secret)``).

Framework-neutral use (``raw_body`` is the bytes as received, never re-serialised JSON)::

    from cio_sec.webhook import verify

    verdict = verify(raw_body, headers.get("X-CIO-Timestamp"),
                     headers.get("X-CIO-Signature"), [signing_key])
    if not verdict.ok:
        return 401, verdict.reason.value
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from cio_sec.errors import ExitCode

if TYPE_CHECKING:
    from cio_sec.webhook.diagnose import Finding

#: Longest header value looked at; anything longer is malformed, never parsed further.
MAX_HEADER_LENGTH = 256
#: Longest timestamp header (digits) accepted; a millisecond timestamp has 13.
MAX_TIMESTAMP_DIGITS = 15
DEFAULT_TOLERANCE = 300
_HEX_DIGITS = b"0123456789abcdefABCDEF"


class Scheme(str, Enum):
    """Which Customer.io signing recipe a delivery follows."""

    REPORTING = "reporting"
    """Reporting webhooks: HMAC-SHA256 over ``v0:<timestamp>:<body>``, hex."""
    PIPELINES = "pipelines"
    """Data Pipelines webhook destinations: HMAC-SHA1 over the body alone, hex."""

    @property
    def digest(self) -> str:
        """The hashlib name of the scheme's HMAC digest."""
        return "sha256" if self is Scheme.REPORTING else "sha1"

    @property
    def hex_length(self) -> int:
        """How many hex digits a signature of this scheme has."""
        return 64 if self is Scheme.REPORTING else 40

    @property
    def signature_header(self) -> str:
        """The header that carries the signature."""
        return "X-CIO-Signature" if self is Scheme.REPORTING else "X-Signature"


TIMESTAMP_HEADER = "X-CIO-Timestamp"


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


@dataclass(frozen=True)
class Secret:
    """One signing key that may have signed a delivery, named by where it came from."""

    label: str
    """Where the key came from (a secret reference, never the value)."""
    value: str | bytes = field(repr=False)
    previous: bool = False
    """True for the value a rotation replaced (accepted during the overlap)."""

    @property
    def key(self) -> bytes:
        """The HMAC key: the UTF-8 bytes of the key string."""
        return self.value.encode("utf-8") if isinstance(self.value, str) else self.value

    @property
    def empty(self) -> bool:
        """No usable key: nothing, or only whitespace (an unset or mangled variable)."""
        return not self.key.strip()


def as_secrets(
    secrets: Iterable[Secret | str | bytes] | Secret | str | bytes,
) -> tuple[Secret, ...]:
    """Accept plain keys from library callers; number them ``secret 1``, ``secret 2`` ...

    A lone key is one key, not a sequence of one-character keys; empty and whitespace-only
    keys are dropped (an unset variable read as ``""`` or ``" "`` must never become a key
    anyone can sign with).
    """
    if isinstance(secrets, (Secret, str, bytes)):
        secrets = [secrets]
    wrapped = (
        item if isinstance(item, Secret) else Secret(f"secret {number}", item)
        for number, item in enumerate(secrets, start=1)
    )
    return tuple(secret for secret in wrapped if not secret.empty)


@dataclass(frozen=True)
class SignedShape:
    """What the signed string looks like, without the body's content or any key."""

    scheme: Scheme
    prefix: str
    """The part before the body: ``v0:<timestamp>:`` (empty for Pipelines)."""
    body_length: int
    body_sha256: str
    """First 16 hex digits of SHA-256 of the body, to compare with the sender's bytes."""
    body_ends_with_newline: bool

    @property
    def total_length(self) -> int:
        """Bytes fed to the HMAC."""
        return len(self.prefix.encode("ascii")) + self.body_length

    def to_json(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "algorithm": f"HMAC-{self.scheme.digest.upper()}",
            "prefix": self.prefix,
            "prefix_length": len(self.prefix),
            "body_length": self.body_length,
            "total_length": self.total_length,
            "body_sha256": self.body_sha256,
            "body_ends_with_newline": self.body_ends_with_newline,
        }


def signed_string(body: bytes, timestamp: bytes | str, scheme: Scheme) -> bytes:
    """The exact bytes the sender feeds to the HMAC."""
    if scheme is Scheme.PIPELINES:
        return body
    stamp = timestamp.encode("ascii") if isinstance(timestamp, str) else timestamp
    return b"v0:" + stamp + b":" + body


def mac(key: bytes, message: bytes, scheme: Scheme) -> bytes:
    """The raw HMAC digest of the scheme."""
    return hmac.new(key, message, scheme.digest).digest()


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
    diagnosis: tuple[Finding, ...] = ()
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


def _ascii(value: str | bytes) -> bytes | None:
    """The header as ASCII bytes without surrounding whitespace; None if not ASCII."""
    try:
        raw = value.encode("ascii") if isinstance(value, str) else value.decode("ascii").encode()
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return raw.strip(b" \t")


def parse_signature(signature: str | bytes, scheme: Scheme) -> tuple[bytes | None, str]:
    """Decode a hex signature header; on failure return None and what is wrong with it."""
    header = scheme.signature_header
    if len(signature) > MAX_HEADER_LENGTH:
        return None, f"{header} is {len(signature)} characters long; expected {scheme.hex_length}"
    raw = _ascii(signature)
    if raw is None:
        return None, f"{header} contains non-ASCII characters"
    if not raw:
        return None, f"{header} is empty"
    if raw.translate(None, _HEX_DIGITS):
        return None, f"{header} is not hexadecimal ({len(raw)} characters)"
    if len(raw) != scheme.hex_length:
        return None, _length_problem(header, len(raw), scheme)
    return bytes.fromhex(raw.decode("ascii")), ""


def _length_problem(header: str, length: int, scheme: Scheme) -> str:
    other = Scheme.PIPELINES if scheme is Scheme.REPORTING else Scheme.REPORTING
    hint = (
        f" (that is the length of a {other.value} signature: --scheme {other.value}?)"
        if length == other.hex_length
        else ""
    )
    return f"{header} has {length} hex digits; expected {scheme.hex_length}{hint}"


def parse_timestamp(timestamp: str | bytes | None) -> tuple[bytes | None, int | None]:
    """The timestamp header's bytes (as signed) and its value, or (None, None)."""
    if timestamp is None or len(timestamp) > MAX_HEADER_LENGTH:
        return None, None
    raw = _ascii(timestamp)
    if raw is None or not raw.isdigit() or len(raw) > MAX_TIMESTAMP_DIGITS:
        return None, None
    return raw, int(raw)


def shape_of(body: bytes, stamp: bytes, scheme: Scheme) -> SignedShape:
    """Describe the signed string: prefix, lengths and a body fingerprint."""
    prefix = "" if scheme is Scheme.PIPELINES else f"v0:{stamp.decode('ascii')}:"
    return SignedShape(
        scheme=scheme,
        prefix=prefix,
        body_length=len(body),
        body_sha256=hashlib.sha256(body).hexdigest()[:16],
        body_ends_with_newline=body.endswith(b"\n"),
    )
