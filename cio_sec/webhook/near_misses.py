"""The near-misses a rejected signature is checked against, and the cause each one names.

Every check recomputes the MAC of a plausible mistake (a newline added in transit, JSON
re-serialised, escapes undone, the wrong recipe, a stray space in the key ...) and compares
it with the signature: a :class:`Candidate` is one such message, and a :class:`Cause` says
whether it reproduced the signature. :mod:`cio_sec.webhook.diagnose` runs them.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from cio_sec.webhook.recipe import Scheme, Secret, mac, signed_string

#: A header value of at least this many digits is a millisecond timestamp (year 2001+).
MILLISECOND_DIGITS = 12
#: Bodies up to this size get the full millisecond search (1,000 MACs per key).
_FULL_SEARCH_BYTES = 64 * 1024
_ESCAPE = re.compile(
    rb"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})"
)


@dataclass(frozen=True)
class Cause:
    """One possible cause of a rejection, checked: what was tried and whether it matched."""

    check: str
    matched: bool
    explanation: str
    """The likely cause in plain words when matched; otherwise what was tried."""
    secret: str | None = None
    """The label of the key that reproduced the signature."""

    def to_json(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "check": self.check,
            "matched": self.matched,
            "explanation": self.explanation,
            "secret": self.secret,
        }


@dataclass(frozen=True)
class Candidate:
    """One near-miss: the message it would sign, and the cause it names when it matches."""

    check: str
    tried: str
    cause: str
    message: bytes
    scheme: Scheme
    keys: tuple[Secret, ...]


def candidates(
    body: bytes,
    stamp: bytes | None,
    scheme: Scheme,
    keys: tuple[Secret, ...],
    inactive: tuple[Secret, ...],
    *,
    full_clock_search: bool = True,
) -> Iterator[Candidate]:
    """Every single near-miss of one body."""
    yield from _body_candidates(body, stamp, scheme, keys)
    yield from _recipe_candidates(body, stamp, scheme, keys, full_clock_search=full_clock_search)
    yield from _key_candidates(body, stamp, scheme, keys, inactive)


def body_variants(body: bytes, stamp: bytes | None, scheme: Scheme) -> Iterator[tuple[str, bytes]]:
    """Each changed body a body check tries, with the check's name (for pairs of causes)."""
    if scheme is Scheme.REPORTING and stamp is None:
        return
    for check, _, _, variants in _BODY_CHECKS:
        for variant in variants(body):
            if variant != body:
                yield check, variant


def paired(first: str, second: Candidate) -> Candidate:
    """``second`` tried on a body changed by check ``first``: a cause naming both changes."""
    cause = (
        f"two changes together reproduce the signature: {_CHANGE[first]}, and "
        f"{_CHANGE[second.check]}; fix both (verify the raw request bytes as received)"
    )
    return replace(second, check=f"{first}+{second.check}", cause=cause)


def causes_of(candidates: list[Candidate], expected: bytes) -> tuple[Cause, ...]:
    """One cause per check, in order: matched by the first candidate whose MAC is ``expected``."""
    findings: dict[str, Cause] = {}
    for candidate in candidates:
        if candidate.check in findings and findings[candidate.check].matched:
            continue
        matched = next(
            (
                key
                for key in candidate.keys
                if hmac.compare_digest(mac(key.key, candidate.message, candidate.scheme), expected)
            ),
            None,
        )
        if matched is not None:
            findings[candidate.check] = Cause(
                candidate.check, True, candidate.cause.format(key=matched.label), matched.label
            )
        elif candidate.check not in findings:
            findings[candidate.check] = Cause(candidate.check, False, candidate.tried)
    return tuple(findings.values())


# --------------------------------------------------------------------- the body's bytes


def _body_candidates(
    body: bytes, stamp: bytes | None, scheme: Scheme, keys: tuple[Secret, ...]
) -> Iterator[Candidate]:
    if scheme is Scheme.REPORTING and stamp is None:
        return
    stamp = stamp or b""

    def candidate(check: str, tried: str, cause: str, variant: bytes) -> Candidate:
        return Candidate(check, tried, cause, signed_string(variant, stamp, scheme), scheme, keys)

    for check, tried, cause, variants in _BODY_CHECKS:
        for variant in variants(body):
            if variant != body:
                yield candidate(check, tried, cause, variant)


def _without_newline(body: bytes) -> list[bytes]:
    if body.endswith(b"\r\n"):
        return [body[:-2], body[:-1]]
    return [body[:-1]] if body.endswith(b"\n") else []


def _with_newline(body: bytes) -> list[bytes]:
    return [body + b"\n", body + b"\r\n"]


def _json_value(body: bytes) -> tuple[bool, object]:
    try:
        return True, json.loads(body)
    except (ValueError, RecursionError):
        return False, None


def _compact(body: bytes) -> list[bytes]:
    parsed, value = _json_value(body)
    if not parsed:
        return []
    return [
        _utf8(json.dumps(value, separators=(",", ":"), ensure_ascii=ascii_only))
        for ascii_only in (False, True)
    ]


def _pretty(body: bytes) -> list[bytes]:
    parsed, value = _json_value(body)
    if not parsed:
        return []
    variants = [_utf8(json.dumps(value, ensure_ascii=False))]  # Python's default
    for indent in (2, 4):
        text = json.dumps(value, indent=indent, ensure_ascii=False)
        variants += [_utf8(text), _utf8(text + "\n")]
    return variants


def _utf8(text: str) -> bytes:
    # NOTE: JSON may carry lone surrogates (\ud800); keep them rather than fail.
    return text.encode("utf-8", "surrogatepass")


def _escapes_undone(body: bytes) -> list[bytes]:
    def undo(match: re.Match[bytes]) -> bytes:
        if match.group(3) is not None:
            code = int(match.group(3), 16)
            if code < 0x20 or chr(code) in '"\\' or 0xD800 <= code <= 0xDFFF:
                return match.group(0)  # JSON must keep these escaped
            return chr(code).encode("utf-8")
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)).encode("utf-8")

    return [_ESCAPE.sub(undo, body)]


def _escapes_applied(body: bytes) -> list[bytes]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return []
    return [_json_escaped(text, hex_format) for hex_format in ("04x", "04X")]


def _json_escaped(text: str, hex_format: str) -> bytes:
    r"""Every non-ASCII character as JSON ``\uXXXX`` escapes (surrogate pairs above U+FFFF)."""
    parts: list[str] = []
    for char in text:
        code = ord(char)
        if code < 0x80:
            parts.append(char)
            continue
        units = (
            [code]
            if code < 0x10000
            else [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + (code & 0x3FF)]
        )
        parts.extend(f"\\u{unit:{hex_format}}" for unit in units)
    return "".join(parts).encode("ascii")


_BODY_CHECKS = (
    (
        "trailing-newline-removed",
        "the body without its trailing newline",
        "the signature matches the body WITHOUT its trailing newline: a newline was added "
        "after signing (an editor, `echo`, or the capture); verify the bytes exactly as sent",
        _without_newline,
    ),
    (
        "trailing-newline-added",
        "the body with a trailing newline added",
        "the signature matches the body WITH a trailing newline: the final newline was lost "
        "after signing (strip(), a text-mode read); verify the bytes exactly as received",
        _with_newline,
    ),
    (
        "json-compact",
        "the same JSON serialised compactly",
        "the signature matches the same JSON serialised compactly: the body was parsed and "
        "serialised again after signing (request.json() then json.dumps()?); verify the raw "
        "request bytes",
        _compact,
    ),
    (
        "json-pretty",
        "the same JSON pretty-printed or with Python's default separators",
        "the signature matches the same JSON pretty-printed or serialised with other "
        "spacing: the body was re-serialised between signing and verifying; verify the raw "
        "request bytes",
        _pretty,
    ),
    (
        "unicode-escapes-undone",
        "the body with \\uXXXX escapes turned into UTF-8 characters",
        "the signature matches the body with its \\uXXXX escapes turned back into UTF-8: the "
        "sender signed unescaped text and something escaped it afterwards (ensure_ascii=True?)",
        _escapes_undone,
    ),
    (
        "unicode-escapes-applied",
        "the body with non-ASCII characters written as \\uXXXX escapes",
        "the signature matches the body with non-ASCII characters written as \\uXXXX escapes: "
        "the sender signed escaped JSON and something decoded the escapes afterwards",
        _escapes_applied,
    ),
)


# --------------------------------------------------------------------- recipe and clock


def _recipe_candidates(
    body: bytes,
    stamp: bytes | None,
    scheme: Scheme,
    keys: tuple[Secret, ...],
    *,
    full_clock_search: bool = True,
) -> Iterator[Candidate]:
    if scheme is Scheme.PIPELINES:
        if stamp is not None:
            yield Candidate(
                "scheme-reporting",
                "the reporting-webhook recipe (HMAC-SHA256 of v0:<timestamp>:<body>)",
                "the signature is a reporting-webhook one (HMAC-SHA256 of "
                "v0:<timestamp>:<body>): verify with --scheme reporting",
                signed_string(body, stamp, Scheme.REPORTING),
                Scheme.REPORTING,
                keys,
            )
        return
    yield Candidate(
        "body-only",
        "an HMAC-SHA256 of the body alone, without the v0:<timestamp>: prefix",
        "the signature is an HMAC-SHA256 of the body ALONE, without the `v0:<timestamp>:` "
        "prefix: whoever signed it used the common wrong recipe; Customer.io signs "
        "v0:<timestamp>:<body>",
        body,
        Scheme.REPORTING,
        keys,
    )
    yield Candidate(
        "scheme-pipelines",
        "the Data Pipelines recipe (HMAC-SHA1 of the body)",
        "the signature is a Data Pipelines one (HMAC-SHA1 of the body, no timestamp): "
        "verify with --scheme pipelines",
        body,
        Scheme.PIPELINES,
        keys,
    )
    if stamp is not None:
        yield from _clock_candidates(body, stamp, keys, full_search=full_clock_search)


def _clock_candidates(
    body: bytes, stamp: bytes, keys: tuple[Secret, ...], *, full_search: bool
) -> Iterator[Candidate]:
    value = int(stamp)
    if len(stamp) >= MILLISECOND_DIGITS:
        variants = [value // 1000]
        cause = (
            "the signature matches the timestamp in SECONDS: the header carries milliseconds "
            "but the delivery was signed over seconds"
        )
    else:
        # Signed over milliseconds, sent as seconds: any of the 1,000 milliseconds of
        # that second. Large bodies get the round value only, to stay quick.
        spread = range(1000) if full_search and len(body) <= _FULL_SEARCH_BYTES else range(1)
        variants = [value * 1000 + millisecond for millisecond in spread]
        cause = (
            "the signature matches the timestamp in MILLISECONDS: the delivery was signed "
            "over a millisecond timestamp but the header carries seconds"
        )
    for variant in variants:
        yield Candidate(
            "timestamp-milliseconds",
            "the timestamp in milliseconds instead of seconds (or the reverse)",
            cause,
            signed_string(body, str(variant), Scheme.REPORTING),
            Scheme.REPORTING,
            keys,
        )


# --------------------------------------------------------------------- the keys


def _key_candidates(
    body: bytes,
    stamp: bytes | None,
    scheme: Scheme,
    keys: tuple[Secret, ...],
    inactive: tuple[Secret, ...],
) -> Iterator[Candidate]:
    if scheme is Scheme.REPORTING and stamp is None:
        return
    message = signed_string(body, stamp or b"", scheme)
    if inactive:
        yield Candidate(
            "previous-secret",
            "the previous signing key",
            "the signature matches {key}, which is no longer accepted: the sender still "
            "signs with the rotated-out key",
            message,
            scheme,
            inactive,
        )
    variants = tuple(
        Secret(key.label, value, key.previous)
        for key in keys
        for value in {key.key.strip(), key.key.strip() + b"\n"} - {key.key}
    )
    yield Candidate(
        "secret-whitespace",
        "each key with surrounding whitespace removed or a trailing newline added",
        "the signature matches {key} only with whitespace removed or added around it: the "
        "signer's copy of the key and yours differ by surrounding whitespace (a pasted "
        "newline?); store the key again without it",
        message,
        scheme,
        variants,
    )


#: Each cause in a few words, for a diagnosis that names two of them.
_CHANGE = {
    "trailing-newline-removed": "a trailing newline was added after signing",
    "trailing-newline-added": "the final newline was lost after signing",
    "json-compact": "the JSON was re-serialised (it was signed compact)",
    "json-pretty": "the JSON was re-serialised (it was signed with other spacing)",
    "unicode-escapes-undone": "\\uXXXX escapes were added after signing",
    "unicode-escapes-applied": "\\uXXXX escapes were decoded after signing",
    "body-only": "the signer left out the v0:<timestamp>: prefix",
    "scheme-pipelines": "it is a Data Pipelines signature (--scheme pipelines)",
    "scheme-reporting": "it is a reporting-webhook signature (--scheme reporting)",
    "timestamp-milliseconds": "the timestamp was signed in one unit and sent in the other",
    "previous-secret": "it was signed with {key}, which is no longer accepted",
    "secret-whitespace": "the signer's copy of {key} differs by surrounding whitespace",
}
