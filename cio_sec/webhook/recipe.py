"""The Customer.io signing recipes: schemes, keys, the signed string and header parsing.

Reporting webhooks carry ``X-CIO-Timestamp`` (Unix seconds) and ``X-CIO-Signature``, the
lowercase hex HMAC-SHA256 keyed with the signing key over ``v0:<timestamp>:<raw body>``.
Data Pipelines webhook destinations carry ``X-Signature``, the hex HMAC-SHA1 of the raw
body (no timestamp). The key is used as the UTF-8 bytes of the key string, as in
Customer.io's own example (``[]byte(secret)``). :mod:`cio_sec.webhook.signing` signs and
verifies with these; :mod:`cio_sec.webhook.diagnose` tries near-misses of them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

#: Longest header value looked at; anything longer is malformed, never parsed further.
MAX_HEADER_LENGTH = 256
#: Longest timestamp header (digits) accepted; a millisecond timestamp has 13.
MAX_TIMESTAMP_DIGITS = 15
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
