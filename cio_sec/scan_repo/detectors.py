"""Every Customer.io credential detector, over raw bytes.

Stable interface (``audit`` reuses it): `scan_bytes(data) -> list[Match]`. A `Match` names
its rule (`rules`), its 1-based line, a public `fingerprint` (first 4 hex digits of
SHA-256 of the secret; for a Track key pair of ``site_id:track_api_key``) and a masked
`preview`.

The order of work is what keeps a full-history scan fast. `scan_bytes` first asks the
one-pass Hyperscan gate (`prefilter`, the ``fast`` extra) whether the blob holds any
anchor, and nearly every blob stops there; without the extra it looks for the anchors
one by one (`anchors.find_anchors`). Only the detectors an anchor names then run.

Hex candidates must carry Customer.io context (a keyword within
`text.CONTEXT_LINES` lines) and a label saying what they are; a Track key is paired with
the nearest site ID rather than with every 20-character token in sight (trufflehog's
cross product, see the reference notes §6).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from cio_sec.redact import fingerprint, mask, public_fingerprint
from cio_sec.scan_repo.anchors import find_anchors
from cio_sec.scan_repo.prefilter import fast_gate
from cio_sec.scan_repo.rules import (
    APP_API_KEY,
    PAIR_LINES,
    SERVICE_ACCOUNT_TOKEN,
    TRACK_API_KEY,
    TRACK_BASIC_AUTH,
    TRACK_KEY_PAIR,
    WEBHOOK_SIGNING_KEY,
    LeakRule,
)
from cio_sec.scan_repo.text import Text


@dataclass(frozen=True)
class Match:
    """One credential found in a byte string; the secret itself stays out of repr."""

    rule: str
    line: int
    """1-based line of the secret (of the key, for a pair)."""
    fingerprint: str
    """Public: 4 hex digits, the same on every machine (baselines are shared)."""
    preview: str
    """Masked with `cio_sec.redact.mask`: no character where 64 bits could not stay unknown."""
    secret: str = field(repr=False, compare=False)
    """The value (``site_id:key`` for Track pairs); only `verify` ever uses it."""
    identity: str = field(repr=False, compare=False)
    """Tells secrets apart inside one run (keyed, 16 hex); 4 public digits can collide."""


_HEX20 = re.compile(rb"(?<![0-9A-Za-z_])[0-9a-f]{20}(?![0-9A-Za-z_])")
_HEX32 = re.compile(rb"(?<![0-9A-Za-z_])[0-9a-f]{32}(?![0-9A-Za-z_])")
_SITE_LABEL = rb"site[ _-]?id|siteid|user(?:name)?"
_KEY_LABEL = rb"(?<![a-z])(?:api[ _-]?|track[ _-]?)?key(?![a-z])|apikey|secret|passw(?:or)?d|token"
_TRACK_LABEL = re.compile(rb"(" + _SITE_LABEL + rb")|(" + _KEY_LABEL + rb")")
_APP_LABEL = re.compile(
    rb"app[ _-]?(?:api[ _-]?)?key|(?<![a-z])(?:api[ _-]?)?key(?![a-z])|apikey|token|bearer"
)
_NOT_A_CREDENTIAL = re.compile(rb"sha\d*|hash|integrity|checksum|commit|digest|uuid")
_CONSTRUCTOR = re.compile(
    rb"(?:customerio|trackclient|customerio::client\.new|newtrackclient)\s*\(", re.IGNORECASE
)
_BASIC_PREFIX = re.compile(rb"basic\s+")
_BASE64_TOKEN = re.compile(rb"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{54}[A-Za-z0-9+/_=-]{2}")
_USERINFO = re.compile(
    rb"(?:https?://|(?:-u|--user)[\s=]+[\"']?)([0-9a-f]{20}):([0-9a-f]{20})(?![0-9A-Za-z_])"
)
_PAIR_TEXT = re.compile(r"([0-9a-f]{20}):([0-9a-f]{20})")
_WEBHOOK_KEY = re.compile(
    rb"(?i)(?:webhook[ _-]?(?:signing[ _-]?)?(?:secret|key)|signing[ _-]?(?:secret|key))"
    rb"[\"']?\s*(?:=>|[:=]|,)\s*[\"']?([A-Za-z0-9+/_=-]{16,200})"
)
_IDENTIFIER = re.compile(rb"[A-Z_]+|[a-z_]+")
_SERVICE_TOKEN = re.compile(rb"(?<![A-Za-z0-9_])sa_(?:live|sandbox)_[A-Za-z0-9_-]{16,200}")
_LABEL_WINDOW = 80


def surely_clean(data: bytes) -> bool:
    """Whether the one-pass gate (the ``fast`` extra) already says ``data`` holds nothing.

    Also true of ``data``'s ASCII runs (`archives.ascii_runs`): they only turn bytes into
    NUL, which no anchor needs. False without the gate: then `scan_bytes` decides.
    """
    gate = fast_gate()
    return gate is not None and not gate(data)


def scan_bytes(data: bytes) -> list[Match]:
    """Return every Customer.io credential in ``data``, ordered by line.

    Text may use any line ending; line numbers count line feeds. Binary data should first go
    through `archives.scannable_parts` (ASCII runs); this function treats it as text.
    """
    gate = fast_gate()
    if gate is not None and not gate(data):
        return []
    lowered = data.lower()
    anchors = find_anchors(lowered)
    text = Text(data, lowered)
    found: list[Match] = []
    if anchors.context:
        found += [*_track_keys(text), *_app_keys(text), *_webhook_keys(text)]
        found += _basic_auth(text)
    elif anchors.basic_token:
        found += _basic_auth(text, after_basic=True)
    if anchors.service_prefix:
        found += _service_tokens(text)
    unique = {(m.rule, m.identity, m.line): m for m in found}
    return sorted(unique.values(), key=lambda m: (m.line, m.rule))


def _is_random_hex(value: bytes) -> bool:
    """Keys are random: all digits or all letters is a counter, a word or a placeholder."""
    return any(c in b"0123456789" for c in value) and any(c in b"abcdef" for c in value)


@dataclass(frozen=True)
class _Candidate:
    value: str
    line: int
    role: str  # "site" or "key"


def _label_segment(text: Text, start: int, previous_end: int) -> bytes:
    """The text between the previous value on the line (or its start) and this value."""
    begin = max(text.line_start(start), previous_end, start - _LABEL_WINDOW)
    return text.lowered[begin:start]


def _track_candidates(text: Text) -> list[_Candidate]:
    candidates: list[_Candidate] = []
    previous_end = 0
    positional: dict[int, int] = {}  # line start -> values already placed in a constructor
    values = (m for span in text.context_spans() for m in _HEX20.finditer(text.data, *span))
    for match in values:
        value, start = match.group(), match.start()
        label_from, previous_end = previous_end, match.end()
        if not _is_random_hex(value):
            continue
        line = text.line_of(start)  # in context: the spans hold nothing else
        role = _track_role(_label_segment(text, start, label_from))
        if role is None:
            role = _constructor_role(text, start, positional)
        if role is not None:
            candidates.append(_Candidate(value.decode("ascii"), line, role))
    return candidates


def _track_role(segment: bytes) -> str | None:
    labels = list(_TRACK_LABEL.finditer(segment))
    if not labels or _NOT_A_CREDENTIAL.search(segment[labels[-1].end() :]):
        return None
    return "site" if labels[-1].group(1) else "key"


def _constructor_role(text: Text, start: int, positional: dict[int, int]) -> str | None:
    """``TrackClient(site, key)``: unlabelled values inside the call, by position."""
    line_start = text.line_start(start)
    if not _CONSTRUCTOR.search(text.data, line_start, start):
        return None
    index = positional.get(line_start, 0)
    positional[line_start] = index + 1
    return ("site", "key")[index] if index < 2 else None


def _track_keys(text: Text) -> list[Match]:
    candidates = _track_candidates(text)
    sites = [c for c in candidates if c.role == "site"]
    matches = []
    for key in (c for c in candidates if c.role == "key"):
        site = _nearest_site(key, sites)
        if site is None:
            matches.append(_match(TRACK_API_KEY, key.line, key.value, mask(key.value)))
        else:
            secret = f"{site.value}:{key.value}"
            matches.append(_match(TRACK_KEY_PAIR, key.line, secret, _mask_pair(secret)))
    return matches


def _nearest_site(key: _Candidate, sites: list[_Candidate]) -> _Candidate | None:
    near = [s for s in sites if abs(s.line - key.line) <= PAIR_LINES and s.value != key.value]
    # Closest first; at equal distance the site above the key (how configs are written).
    return min(near, key=lambda s: (abs(s.line - key.line), s.line > key.line), default=None)


def _basic_auth(text: Text, *, after_basic: bool = False) -> list[Match]:
    """Basic-auth tokens and URL userinfo; with ``after_basic`` only tokens after ``Basic``."""
    matches = []
    tokens = (
        (
            _BASE64_TOKEN.match(text.data, word.end())
            for word in _BASIC_PREFIX.finditer(text.lowered)
        )
        if after_basic
        else _BASE64_TOKEN.finditer(text.data)
    )
    for match in filter(None, tokens):
        decoded = _decode_base64(match.group())
        pair = _PAIR_TEXT.fullmatch(decoded) if decoded is not None else None
        if decoded is not None and pair and _is_random_hex(pair.group(2).encode()):
            line = text.line_of(match.start())
            matches.append(_match(TRACK_BASIC_AUTH, line, decoded, _mask_pair(decoded)))
    for match in _USERINFO.finditer(text.data):
        secret = f"{match.group(1).decode()}:{match.group(2).decode()}"
        if _is_random_hex(match.group(2)):
            line = text.line_of(match.start(1))
            matches.append(_match(TRACK_BASIC_AUTH, line, secret, _mask_pair(secret)))
    return matches


def _decode_base64(token: bytes) -> str | None:
    """Standard or URL-safe alphabet (Customer.io's Go client uses the latter)."""
    alphabet = b"-_" if b"-" in token or b"_" in token else None
    try:
        raw = base64.b64decode(token, altchars=alphabet, validate=True)
        return raw.decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _app_keys(text: Text) -> list[Match]:
    matches = []
    previous_end = 0
    values = (m for span in text.context_spans() for m in _HEX32.finditer(text.data, *span))
    for match in values:
        value, start = match.group(), match.start()
        label_from, previous_end = previous_end, match.end()
        if not _is_random_hex(value):
            continue
        segment = _label_segment(text, start, label_from)
        labels = list(_APP_LABEL.finditer(segment))
        line = text.line_of(start)
        if labels and not _NOT_A_CREDENTIAL.search(segment[labels[-1].end() :]):
            secret = value.decode("ascii")
            matches.append(_match(APP_API_KEY, line, secret, mask(secret)))
    return matches


def _webhook_keys(text: Text) -> list[Match]:
    if b"webhook" not in text.lowered and b"signing" not in text.lowered:
        return []  # the label needs one of these words: no need to run the regex
    matches = []
    for match in _WEBHOOK_KEY.finditer(text.data):
        value = match.group(1)
        line = text.line_of(match.start(1))
        if not _IDENTIFIER.fullmatch(value) and text.in_context(line):
            secret = value.decode("ascii")
            matches.append(_match(WEBHOOK_SIGNING_KEY, line, secret, mask(secret)))
    return matches


def _service_tokens(text: Text) -> list[Match]:
    matches = []
    for match in _SERVICE_TOKEN.finditer(text.data):
        secret = match.group().decode("ascii")
        prefix = secret[: secret.index("_", 3) + 1]
        preview = f"{prefix}{mask(secret[len(prefix) :])}"
        matches.append(_match(SERVICE_ACCOUNT_TOKEN, text.line_of(match.start()), secret, preview))
    return matches


def _match(rule: LeakRule, line: int, secret: str, preview: str) -> Match:
    return Match(rule.id, line, public_fingerprint(secret), preview, secret, fingerprint(secret))


def _mask_pair(secret: str) -> str:
    site, key = secret.split(":", 1)
    return f"{mask(site)}:{mask(key)}"
