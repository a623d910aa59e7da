"""What ``verify-webhook`` and ``verify-webhook sign`` do: read the input, verify, diagnose."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cio_sec.errors import ExitCode, InputError
from cio_sec.webhook.capture import MAX_BODY_BYTES, parse_request
from cio_sec.webhook.diagnose import clock_causes, diagnose
from cio_sec.webhook.keys import NO_SECRET_HINT, SigningKeys
from cio_sec.webhook.near_misses import Cause
from cio_sec.webhook.recipe import TIMESTAMP_HEADER, Scheme
from cio_sec.webhook.signing import (
    DEFAULT_TOLERANCE,
    Reason,
    Verification,
    sign,
    verify,
)


@dataclass(frozen=True)
class Delivery:
    """One delivery to check: the raw body and the two header values as received."""

    body: bytes = field(repr=False)
    timestamp: str | bytes | None
    signature: str | bytes | None
    source: str
    warnings: tuple[str, ...] = ()


def read_bytes(path: str, stdin: BinaryIO) -> bytes:
    """Read a file (or ``-`` for stdin) as bytes, never decoded.

    Raises:
        InputError: the file cannot be read or is too large.
    """
    try:
        data = stdin.read(MAX_BODY_BYTES + 1) if path == "-" else _read_file(Path(path))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None
    if len(data) > MAX_BODY_BYTES:
        raise InputError(f"larger than {MAX_BODY_BYTES} bytes", path=path)
    return data


def _read_file(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(MAX_BODY_BYTES + 1)


def read_delivery(
    *,
    body: str | None,
    request: str | None,
    timestamp: str | None,
    signature: str | None,
    scheme: Scheme,
    stdin: BinaryIO,
) -> Delivery:
    """Read ``--body`` (with ``--timestamp``/``--signature``) or a captured ``--request``.

    Header values given as options override those of a captured request.

    Raises:
        InputError: neither or both inputs given, or the input cannot be read or parsed.
    """
    if (body is None) == (request is None):
        raise InputError(
            "give exactly one of --body FILE|- or --request FILE|-",
            hint="cio-sec verify-webhook --body payload.json --timestamp T --signature S",
        )
    if body is not None:
        return Delivery(read_bytes(body, stdin), timestamp, signature, _name(body))
    assert request is not None  # noqa: S101 - exactly one of the two, checked above
    captured = parse_request(read_bytes(request, stdin), source=_name(request))
    return Delivery(
        captured.body,
        timestamp if timestamp is not None else captured.header(TIMESTAMP_HEADER),
        signature if signature is not None else captured.header(scheme.signature_header),
        _name(request),
        captured.warnings,
    )


def _name(path: str) -> str:
    return "<stdin>" if path == "-" else path


@dataclass(frozen=True)
class VerifyOptions:
    """How strictly to check: scheme, tolerance, and the clock."""

    scheme: Scheme = Scheme.REPORTING
    tolerance: int = DEFAULT_TOLERANCE
    allow_stale: bool = False
    now: Callable[[], float] | float | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """The result of ``verify-webhook``: the verdict, plus what the reader asked to see."""

    verification: Verification
    source: str
    explain: bool = False
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the delivery is valid."""
        return self.verification.ok

    @property
    def exit_code(self) -> ExitCode:
        """0 valid, 1 invalid, 3 without any key."""
        return self.verification.exit_code

    @property
    def hint(self) -> str | None:
        """How to make a key available, when none was."""
        return NO_SECRET_HINT if self.verification.reason is Reason.NO_SECRET else None

    @property
    def causes(self) -> tuple[Cause, ...]:
        """The diagnostic checks that reproduced the signature."""
        return tuple(finding for finding in self.verification.diagnosis if finding.matched)

    def to_json(self) -> dict[str, object]:
        """The verdict's JSON plus the input's name, notes and hint."""
        return {
            **self.verification.to_json(),
            "source": self.source,
            "notes": list(self.notes),
            "hint": self.hint,
        }


def check_delivery(
    delivery: Delivery, keys: SigningKeys, options: VerifyOptions, *, explain: bool = False
) -> DeliveryReport:
    """Verify a delivery; after a rejection, diagnose the likely cause (never to accept)."""
    verdict = verify(
        delivery.body,
        delivery.timestamp,
        delivery.signature,
        keys.active,
        tolerance=options.tolerance,
        now=options.now,
        scheme=options.scheme,
        allow_stale=options.allow_stale,
    )
    findings: tuple[Cause, ...] = ()
    if verdict.reason in (Reason.MISMATCH, Reason.MALFORMED_SIGNATURE):
        assert delivery.signature is not None  # noqa: S101 - both reasons imply a header
        findings = diagnose(
            delivery.body,
            delivery.timestamp,
            delivery.signature,
            keys.active,
            scheme=options.scheme,
            inactive=keys.inactive,
        )
    findings += clock_causes(verdict, delivery.timestamp)
    verdict = dataclasses.replace(
        verdict, diagnosis=findings, warnings=delivery.warnings + verdict.warnings
    )
    return DeliveryReport(verdict, delivery.source, explain, keys.notes)


@dataclass(frozen=True)
class SignedDelivery:
    """The result of ``verify-webhook sign``: headers for a test delivery."""

    headers: dict[str, str]
    scheme: Scheme
    secret: str
    """Where the key came from (never the key)."""
    body_length: int

    @property
    def ok(self) -> bool:
        """Signing always succeeds."""
        return True

    @property
    def exit_code(self) -> ExitCode:
        """Always 0: signing either works or raises."""
        return ExitCode.OK

    def to_json(self) -> dict[str, object]:
        """The headers, the scheme and the key's label."""
        return {
            "headers": dict(self.headers),
            "scheme": self.scheme.value,
            "secret": self.secret,
            "body_length": self.body_length,
        }


def sign_delivery(
    body: bytes, keys: SigningKeys, scheme: Scheme, timestamp: int | None
) -> SignedDelivery:
    """Sign a body with the current key.

    Raises:
        SecretMissingError: no key is available.
    """
    key = keys.require()
    headers = sign(body, key.value, timestamp, scheme)
    return SignedDelivery(headers, scheme, key.label, len(body))
