"""Applying a policy to attribute mappings, one record or a stream of them, with counts.

Pure functions over data: the only inputs are the attributes, the policy and a hasher
(keyed HMAC, or the unkeyed legacy form for migrations). Counts name attributes by path
and action, never values, so a report can be printed anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from cio_sec.errors import InputError
from cio_sec.pseudonym import KeyRing, PseudonymKey
from cio_sec.sanitize.counts import OVERWRITE, Note, SanitizeCounts, Tally
from cio_sec.sanitize.detectors import (
    CONTACT_DETECTORS,
    PiiKind,
    candidate_finder,
    redact_text,
)
from cio_sec.sanitize.hashers import Hasher, KindHasher, for_kind, resolve_hasher
from cio_sec.sanitize.jsontext import canonical_json
from cio_sec.sanitize.policy import Decision, Policy
from cio_sec.sanitize.rules import Action

__all__ = ["HASH_SUFFIX", "sanitize_attributes", "sanitize_records"]

HASH_SUFFIX = "_hash"
_LARGE_INT = 10**12  # an integer this large may be a card number written without quotes
_MINUS_LARGE_INT = -_LARGE_INT  # computed once: negating a large int allocates a new one
#: ``json.dumps(value, sort_keys=True, separators=(",", ":"))``, the text objects are hashed as.
_CANONICAL_JSON = canonical_json
_INERT = frozenset({float, bool, type(None)})  # values the detectors never change
_DROP = 1
_PLAN_CACHE_LIMIT = 1_000
#: Redacted texts remembered per walker, and the longest remembered (bounded memory).
_REMEMBERED_TEXTS = 4_096
_REMEMBERED_LENGTH = 256
#: A text's redaction: the new text and what was found, by detector.
_Redaction = tuple[str, dict[PiiKind, int]]
#: Each kind → its name in the counts (an enum member's ``value`` is a Python descriptor).
_DETECTOR_NAMES = {detector: detector.value for detector in PiiKind}
#: How values are scanned: not at all, by every detector, or by all but the email and phone
#: detectors (beneath an attribute that is itself an email, a phone or the id).
_OFF, _ALL, _NO_CONTACT = 0, 1, 2


#: Keys to delete (dropped and pseudonymised); (key, hasher, new key) to pseudonymise; keys
#: the value loop skips (empty when nothing is dropped, pseudonymised or an identifier);
#: how values are scanned (``_OFF``, ``_ALL`` or ``_NO_CONTACT``); the plan's tally, None
#: when the plan changes no key; the identifier keys scanned without the contact detectors.
_Plan = tuple[
    tuple[str, ...],
    tuple[tuple[str, KindHasher, str], ...],
    frozenset[str],
    int,
    Tally | None,
    tuple[str, ...],
]
_UNPLANNED: _Plan = ((), (), frozenset(), _OFF, None, ())


class _Walker:
    """One policy, hasher and counter applied to nested attributes."""

    def __init__(self, policy: Policy, hasher: Hasher, counts: SanitizeCounts) -> None:
        self.decide = policy.decide
        self.plans: dict[tuple[Any, ...], _Plan | None] = {}
        detectors = tuple(d for d in PiiKind if d in policy.detectors)
        plain = tuple(d for d in detectors if d not in CONTACT_DETECTORS)
        self.scanners = ((), detectors, plain)
        self.redactions: tuple[dict[str, _Redaction], ...] = ({}, {}, {})
        self.candidate = candidate_finder(detectors)
        self.candidates = (self.candidate, self.candidate, candidate_finder(plain))
        # Without detectors, scanning could never change a value: switch it off.
        scans = policy.default_action is Action.REDACT_VALUES and self.candidate.active
        self.scan_by_default = _ALL if scans else _OFF
        self.hasher = hasher
        self.counts = counts
        self.changed = False
        self.tallies: list[Tally] = []
        counts._watch(self.tallies)

    def finish(self) -> None:
        """Hand the counts over; the walker is not used again."""
        self.counts._release(self.tallies)

    def record(self, attrs: Mapping[Any, Any]) -> dict[Any, Any]:
        self.changed = False
        try:
            out = self.mapping(attrs, self.scan_by_default, "")
        except RecursionError:
            raise InputError(
                f"record {self.counts.records + 1} is nested too deeply to sanitise"
            ) from None
        self.counts.records += 1
        if self.changed:
            self.counts.changed_records += 1
        return out

    def note(self, path: str, action: str) -> None:
        self.changed = True
        self.counts._add((path, action), 1)

    def mapping(self, attrs: Mapping[Any, Any], scan: int, prefix: str) -> dict[Any, Any]:
        if type(attrs) is not dict:
            return self.any_mapping(attrs, scan, prefix)
        keys = (scan, prefix, *attrs)
        plan = self.plans.get(keys, _UNPLANNED)
        if plan is _UNPLANNED:
            if len(self.plans) >= _PLAN_CACHE_LIMIT:  # many shapes of record: stay constant-memory
                self.plans.clear()
                for tally in self.tallies:
                    tally.settle(self.counts)
                self.tallies.clear()
            plan = self.plans[keys] = self.plan(keys[2:], scan, prefix)
        if plan is None:
            return self.any_mapping(attrs, scan, prefix)
        deletes, pseudonyms, skip, scan_here, changes, identifiers = plan
        candidate = self.candidates[scan_here]
        quick, digits, min_length = candidate.quick, candidate.digits, candidate.min_length
        # NOTE: the hot path of every run: copy in C, then touch only what needs it.
        out = attrs.copy()
        if changes is not None:
            self.changed = True
            changes.uses += 1
            # Every source goes before any target is set: a target may be another source
            # ("phone" -> "phone_hash" while "phone_hash" -> "phone_hash_hash").
            for key in deletes:
                del out[key]
            for key, hash_value, target in pseudonyms:
                value = attrs[key]
                if type(value) is str and value:
                    out[target] = hash_value(value)
                else:
                    out[target] = self.pseudonymise(value, hash_value)
        for key, value in attrs.items():
            kind = type(value)
            if kind is str:
                if (
                    scan_here
                    and len(value) >= min_length
                    and not (skip and key in skip)
                    and not value.isalpha()
                    and (quick(value) is not None or not value.isascii())
                    and digits(value) is not None
                ):
                    out[key] = self.text(value, prefix + key, scan_here)
            elif kind is int:
                if scan_here and not _MINUS_LARGE_INT < value < _LARGE_INT and key not in skip:
                    out[key] = self.value(value, scan_here, prefix, key)
            elif kind in _INERT or (skip and key in skip):
                continue
            elif kind is dict:
                out[key] = self.mapping(value, scan_here, prefix + key + ".")
            elif kind is list:
                out[key] = self.sequence(value, scan_here, prefix + key + "[]")
            else:
                out[key] = self.value(value, scan_here, prefix, key)
        if identifiers:
            self.identifiers(out, attrs, identifiers, prefix)
        return out

    def identifiers(
        self, out: dict[Any, Any], attrs: dict[Any, Any], keys: tuple[str, ...], prefix: str
    ) -> None:
        """Scan identifiers (an id, an email) without the email and phone detectors."""
        plain = self.candidates[_NO_CONTACT]
        for key in keys:
            value = attrs[key]
            if type(value) is not str:
                out[key] = self.value(value, _NO_CONTACT, prefix, key)
            elif plain(value):  # most ids and addresses: ruled out without a Python call more
                out[key] = self.text(value, prefix + key, _NO_CONTACT)

    def plan(self, keys: tuple[Any, ...], scan: int, prefix: str) -> _Plan | None:
        """What to do with a mapping of exactly these keys (records mostly share a shape)."""
        drops: list[str] = []
        pseudonyms: list[tuple[str, KindHasher, str]] = []
        notes: list[Note] = []
        scans: set[bool] = set()
        contacts: list[str] = []
        for key in keys:
            if type(key) is not str:
                return None
            decision = self.decide(key)
            if decision.code == _DROP:
                drops.append(key)
                notes.append((prefix + key, "drop"))
            elif decision.code:
                hash_value = for_kind(self.hasher, decision.kind)
                pseudonyms.append((key, hash_value, key + HASH_SUFFIX))
                notes.append((prefix + key, "pseudonymise"))
            else:
                scans.add(bool(scan) if decision.scan is None else decision.scan)
                if decision.identifier:
                    contacts.append(key)
        if len(scans) > 1:
            return None  # explicit keep and redact-values side by side: key by key
        sources = {p[0] for p in pseudonyms}
        notes.extend(
            (prefix + target, OVERWRITE)
            for _, _, target in pseudonyms
            if target in keys and target not in sources and target not in drops
        )
        changed = frozenset(drops) | sources | {p[2] for p in pseudonyms}
        on = (scans.pop() if scans else bool(scan)) and self.candidate.active
        scan_here = (_NO_CONTACT if scan == _NO_CONTACT else _ALL) if on else _OFF
        # Identifiers are scanned after the loop, without the email and phone detectors
        # (a target being overwritten by a pseudonym is not kept, so not scanned).
        identifiers = tuple(k for k in contacts if k not in changed) if scan_here == _ALL else ()
        tally = Tally(tuple(map(self.counts._admit, notes))) if notes else None
        if tally is not None:
            self.tallies.append(tally)
        deletes = (*drops, *(p[0] for p in pseudonyms))
        skip = changed | frozenset(identifiers)
        return deletes, tuple(pseudonyms), skip, scan_here, tally, identifiers

    def sequence(self, items: list[Any], scan: int, path: str) -> list[Any]:
        """A list's items, each sanitised under ``path`` (``name[]``)."""
        out: list[Any] = []
        item_prefix = path + "."
        for item in items:
            kind = type(item)
            if kind is dict:
                out.append(self.mapping(item, scan, item_prefix))
            elif kind is str:
                changed = scan and self.candidates[scan](item)
                out.append(self.text(item, path, scan) if changed else item)
            elif kind is list:
                out.append(self.sequence(item, scan, path + "[]"))
            else:
                out.append(self.value(item, scan, path, ""))
        return out

    def any_mapping(self, attrs: Mapping[Any, Any], scan: int, prefix: str) -> dict[Any, Any]:
        """Key by key: any mapping, any keys, rules that differ in scanning."""
        out: dict[Any, Any] = {}
        named = [
            (key, value, key if type(key) is str else str(key)) for key, value in attrs.items()
        ]
        decisions = [self.decide(name) for _, _, name in named]
        # A pseudonym computed here wins over a stale copy, wherever either comes in the order.
        replaced = {
            name + HASH_SUFFIX
            for (_, _, name), decision in zip(named, decisions, strict=True)
            if decision.code not in (0, _DROP)
        }
        for (key, value, name), decision in zip(named, decisions, strict=True):
            if decision.code == _DROP:
                self.note(prefix + name, "drop")
                continue
            if decision.code:
                target = name + HASH_SUFFIX
                out[target] = self.pseudonymise(value, for_kind(self.hasher, decision.kind))
                self.note(prefix + name, "pseudonymise")
                continue
            if key in replaced:
                self.note(prefix + name, OVERWRITE)
                continue
            out[key] = self.value(value, self.child_scan(scan, decision), prefix, name)
        return out

    def child_scan(self, scan: int, decision: Decision) -> int:
        """How the value of an attribute with this decision is scanned, under ``scan``."""
        if decision.scan is None:
            mode = scan
        elif decision.scan and self.candidate.active:
            mode = _NO_CONTACT if scan == _NO_CONTACT else _ALL
        else:
            mode = _OFF
        return _NO_CONTACT if mode == _ALL and decision.identifier else mode

    def value(self, value: Any, scan: int, prefix: str, name: str) -> Any:
        kind = type(value)
        if kind is str:
            changed = scan and self.candidates[scan](value)
            return self.text(value, prefix + name, scan) if changed else value
        if kind is dict or isinstance(value, Mapping):
            return self.mapping(value, scan, f"{prefix}{name}.")
        if kind is list or kind is tuple:
            return [self.value(item, scan, prefix, name + "[]") for item in value]
        if scan and kind is int and abs(value) >= _LARGE_INT:
            text = str(value)
            redacted = self.text(text, prefix + name, scan)
            return value if redacted == text else redacted
        return value

    def text(self, text: str, path: str, scan: int) -> str:
        # Values repeat (a template's comment, a status line): each short text is redacted
        # once per scan mode, and a bounded cache keeps memory constant.
        redactions = self.redactions[scan]
        redaction = redactions.get(text)
        if redaction is None:
            redaction = redact_text(text, self.scanners[scan])
            if len(text) <= _REMEMBERED_LENGTH:
                if len(redactions) >= _REMEMBERED_TEXTS:
                    redactions.clear()
                redactions[text] = redaction
        redacted, found = redaction
        if found:
            self.note(path, "redact")
            for detector, count in found.items():
                self.counts.detections[_DETECTOR_NAMES[detector]] += count
        return redacted

    def pseudonymise(self, value: Any, hash_value: KindHasher) -> Any:
        if type(value) is dict:  # the usual non-text value: an address object
            return hash_value(_CANONICAL_JSON(value))
        if value is None or value == "":
            return value
        if isinstance(value, str):
            return hash_value(value)
        if isinstance(value, (list, tuple)):
            return [self.pseudonymise(item, hash_value) for item in value]
        # Numbers, booleans and objects: their JSON text (an object as one canonical value).
        return hash_value(_CANONICAL_JSON(value))


def sanitize_attributes(
    attrs: Mapping[Any, Any],
    policy: Policy | None = None,
    *,
    key: PseudonymKey | KeyRing | str | None = None,
    counts: SanitizeCounts | None = None,
) -> dict[Any, Any]:
    """Return a sanitised copy of ``attrs``: dropped, pseudonymised and redacted per policy.

    ``policy`` defaults to :meth:`Policy.default`. ``key`` is the pseudonym key (see
    :func:`resolve_hasher` for what None means). Pass ``counts`` to collect what changed.

    Raises:
        SecretMissingError: a key is needed and none was given or found.
        ConfigError: the key text is too short.
        InputError: the attributes are nested deeper than Python can recurse.
    """
    policy = policy or _DEFAULT.policy()
    walker = _Walker(policy, resolve_hasher(key, policy), counts or SanitizeCounts())
    try:
        return walker.record(attrs)
    finally:
        walker.finish()


def sanitize_records(
    records: Iterable[Mapping[Any, Any]],
    policy: Policy | None = None,
    *,
    key: PseudonymKey | KeyRing | str | None = None,
    hasher: Hasher | None = None,
    counts: SanitizeCounts | None = None,
) -> Iterator[dict[Any, Any]]:
    """Sanitise a stream of records lazily, one at a time (constant memory).

    ``hasher`` replaces the key, e.g. :func:`legacy_hasher` for migrations.

    Raises:
        SecretMissingError: a key is needed and none was given or found.
        ConfigError: the key text is too short.
    """
    policy = policy or _DEFAULT.policy()
    walker = _Walker(policy, hasher or resolve_hasher(key, policy), counts or SanitizeCounts())
    return _stream(walker, records)


def _stream(walker: _Walker, records: Iterable[Mapping[Any, Any]]) -> Iterator[dict[Any, Any]]:
    try:
        yield from map(walker.record, records)
    finally:
        walker.finish()


class _DefaultPolicy:
    """The default policy, built once per process on first use (its name cache is shared)."""

    _policy: Policy | None = None

    @classmethod
    def policy(cls) -> Policy:
        if cls._policy is None:
            cls._policy = Policy.default()
        return cls._policy


_DEFAULT = _DefaultPolicy
