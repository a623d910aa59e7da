"""Applying a policy to attribute mappings, one record or a stream of them, with counts.

Pure functions over data: the only inputs are the attributes, the policy and a hasher
(keyed HMAC, or the unkeyed legacy form for migrations). Counts name attributes by path
and action, never values, so a report can be printed anywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cio_sec.pseudonym import IdentifierKind, KeyRing, PseudonymKey, legacy_sha256, normalise
from cio_sec.sanitize.detectors import MIN_LENGTH, Detector, could_match, redact_text
from cio_sec.sanitize.policy import Action, Policy

#: Turns a value and its normalisation into the text that replaces it.
Hasher = Callable[[str, IdentifierKind], str]
HASH_SUFFIX = "_hash"
_LARGE_INT = 10**12  # an integer this large may be a card number written without quotes
_SHA256_BLOCK = 64
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_SCALARS = frozenset({int, float, bool, type(None)})
_DROP = 1
_PLAN_CACHE_LIMIT = 1_000
#: Keys to drop; (key, normalisation, new key) to pseudonymise; keys the value loop skips;
#: whether values are scanned.
_Plan = tuple[tuple[str, ...], tuple[tuple[str, IdentifierKind, str], ...], frozenset[str], bool]
_UNPLANNED: _Plan = ((), (), frozenset(), False)


def keyed_hasher(key: PseudonymKey) -> Hasher:
    """``key.pseudonym(value, kind)`` (``<key id>:<hex>``), computed faster for bulk use.

    HMAC-SHA256 per RFC 2104 with the padded key states hashed once, and canonical IPv4
    addresses recognised without parsing; tests check both equal ``key.pseudonym``.
    """
    prefix = f"{key.key_id}:"
    secret = key.secret
    if len(secret) > _SHA256_BLOCK:
        secret = hashlib.sha256(secret).digest()
    padded = secret.ljust(_SHA256_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in padded))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in padded))
    canonical_ipv4 = _CANONICAL_IPV4.fullmatch

    def pseudonym(value: str, kind: IdentifierKind) -> str:
        if kind is not IdentifierKind.IP or canonical_ipv4(value) is None:
            value = normalise(value, kind)
        digest = inner.copy()
        digest.update(value.encode("utf-8"))
        mac = outer.copy()
        mac.update(digest.digest())
        return prefix + mac.hexdigest()

    return pseudonym


def legacy_hasher(value: str, kind: IdentifierKind) -> str:
    """The unkeyed ``sha256(value)[:16]`` of the value as written (reversible; migrations only).

    Not normalised: the integrations this reproduces hashed the raw value.
    """
    return legacy_sha256(value)


def placeholder_hasher(value: str, kind: IdentifierKind) -> str:
    """For ``--check``: no key is needed to know that a value would be replaced."""
    return "<pseudonym>"


def resolve_hasher(key: PseudonymKey | KeyRing | str | None, policy: Policy) -> Hasher:
    """The hasher for a key given as a key, a key ring, stored key text, or None.

    With None the key is read from ``CIO_SEC_PSEUDONYM_KEY`` (never from the keyring);
    a policy that pseudonymises nothing needs no key at all.

    Raises:
        SecretMissingError: the policy pseudonymises, no key was given and the variable
            is unset.
        ConfigError: the key text is too short.
    """
    if isinstance(key, KeyRing):
        return keyed_hasher(key.current)
    if isinstance(key, PseudonymKey):
        return keyed_hasher(key)
    if isinstance(key, str):
        return keyed_hasher(PseudonymKey.from_text(key))
    import os

    text = os.environ.get("CIO_SEC_PSEUDONYM_KEY")
    if text:
        return keyed_hasher(PseudonymKey.from_text(text))
    if not policy.pseudonymises:
        return placeholder_hasher
    from cio_sec.errors import SecretMissingError

    raise SecretMissingError(
        "sanitize_attributes needs the pseudonym key: the policy pseudonymises attributes",
        hint="pass key=cio_sec.pseudonym.load_keys(settings, opener).current (or the key "
        "text), or set CIO_SEC_PSEUDONYM_KEY",
    )


@dataclass
class SanitizeCounts:
    """What sanitising changed, by attribute path and action; never any value."""

    records: int = 0
    changed_records: int = 0
    invalid: int = 0
    """Records skipped as malformed (``--skip-invalid``)."""
    changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(attribute path, ``drop``/``pseudonymise``/``redact``) → how many times."""
    detections: Counter[str] = field(default_factory=Counter)
    """Detector name → values redacted."""

    @property
    def changed(self) -> bool:
        """Whether anything was (or would be) changed."""
        return bool(self.changes)

    def to_json(self) -> dict[str, object]:
        """Counts for the JSON report."""
        return {
            "records": self.records,
            "changed_records": self.changed_records,
            "invalid": self.invalid,
            "attributes": [
                {"attribute": path, "action": action, "count": count}
                for (path, action), count in sorted(self.changes.items())
            ],
            "detections": dict(sorted(self.detections.items())),
        }


class _Walker:
    """One policy, hasher and counter applied to nested attributes."""

    def __init__(self, policy: Policy, hasher: Hasher, counts: SanitizeCounts) -> None:
        self.decide = policy.decide
        self.scanning_plans: dict[tuple[Any, ...], _Plan | None] = {}
        self.plain_plans: dict[tuple[Any, ...], _Plan | None] = {}
        self.detectors = tuple(d for d in Detector if d in policy.detectors)
        self.scan_by_default = policy.default_action is Action.REDACT_VALUES
        self.hasher = hasher
        self.counts = counts
        self.changed = False

    def record(self, attrs: Mapping[Any, Any]) -> dict[Any, Any]:
        self.changed = False
        out = self.mapping(attrs, self.scan_by_default, "")
        self.counts.records += 1
        if self.changed:
            self.counts.changed_records += 1
        return out

    def note(self, path: str, action: str) -> None:
        self.changed = True
        self.counts.changes[(path, action)] += 1

    def mapping(self, attrs: Mapping[Any, Any], scan: bool, prefix: str) -> dict[Any, Any]:
        if type(attrs) is not dict:
            return self.any_mapping(attrs, scan, prefix)
        plans = self.scanning_plans if scan else self.plain_plans
        keys = tuple(attrs)
        plan = plans.get(keys, _UNPLANNED)
        if plan is _UNPLANNED:
            if len(plans) >= _PLAN_CACHE_LIMIT:  # many shapes of record: stay constant-memory
                plans.clear()
            plan = plans[keys] = self.plan(keys, scan)
        if plan is None:
            return self.any_mapping(attrs, scan, prefix)
        drops, pseudonyms, skip, scan_here = plan
        # NOTE: the hot path of every run: copy in C, then touch only what needs it.
        out = attrs.copy()
        for key in drops:
            del out[key]
            self.note(prefix + key, "drop")
        for key, normalisation, target in pseudonyms:
            del out[key]
            out[target] = self.pseudonymise(attrs[key], normalisation)
            self.note(prefix + key, "pseudonymise")
        for key, value in attrs.items():
            kind = type(value)
            if kind is str:
                if scan_here and len(value) >= MIN_LENGTH and could_match(value):
                    if skip and key in skip:
                        continue
                    out[key] = self.text(value, prefix + key)
            elif kind in _SCALARS:
                if scan_here and kind is int and (value >= _LARGE_INT or value <= -_LARGE_INT):
                    if skip and key in skip:
                        continue
                    out[key] = self.value(value, scan_here, prefix, key)
            elif not (skip and key in skip):
                out[key] = self.value(value, scan_here, prefix, key)
        return out

    def plan(self, keys: tuple[Any, ...], scan: bool) -> _Plan | None:
        """What to do with a record of exactly these keys (records mostly share a shape)."""
        drops: list[str] = []
        pseudonyms: list[tuple[str, IdentifierKind, str]] = []
        scans: set[bool] = set()
        for key in keys:
            if type(key) is not str:
                return None
            decision = self.decide(key)
            if decision.code == _DROP:
                drops.append(key)
            elif decision.code:
                pseudonyms.append((key, decision.kind, key + HASH_SUFFIX))
            else:
                scans.add(scan if decision.scan is None else decision.scan)
        if len(scans) > 1:
            return None  # explicit keep and redact-values side by side: key by key
        skip = frozenset(drops) | {key for _, _, key in pseudonyms} | {k for k, _, _ in pseudonyms}
        return tuple(drops), tuple(pseudonyms), skip, scans.pop() if scans else scan

    def any_mapping(self, attrs: Mapping[Any, Any], scan: bool, prefix: str) -> dict[Any, Any]:
        """Key by key: any mapping, any keys, rules that differ in scanning."""
        out: dict[Any, Any] = {}
        hashed: set[str] = set()
        for key, value in attrs.items():
            name = key if type(key) is str else str(key)
            decision = self.decide(name)
            if decision.code == _DROP:
                self.note(prefix + name, "drop")
                continue
            if decision.code:
                target = name + HASH_SUFFIX
                out[target] = self.pseudonymise(value, decision.kind)
                hashed.add(target)
                self.note(prefix + name, "pseudonymise")
                continue
            if key in hashed:
                continue  # a pseudonym computed from the value wins over a stale copy
            scan_here = scan if decision.scan is None else decision.scan
            out[key] = self.value(value, scan_here, prefix, name)
        return out

    def value(self, value: Any, scan: bool, prefix: str, name: str) -> Any:
        kind = type(value)
        if kind is str:
            return self.text(value, prefix + name) if scan and could_match(value) else value
        if kind is dict or isinstance(value, Mapping):
            return self.mapping(value, scan, f"{prefix}{name}.")
        if kind is list or kind is tuple:
            return [self.value(item, scan, prefix, name + "[]") for item in value]
        if scan and kind is int and abs(value) >= _LARGE_INT:
            text = str(value)
            redacted = self.text(text, prefix + name)
            return value if redacted == text else redacted
        return value

    def text(self, text: str, path: str) -> str:
        redacted, found = redact_text(text, self.detectors)
        if found:
            self.note(path, "redact")
            for detector, count in found.items():
                self.counts.detections[detector.value] += count
        return redacted

    def pseudonymise(self, value: Any, kind: IdentifierKind) -> Any:
        if value is None or value == "":
            return value
        if isinstance(value, str):
            return self.hasher(value, kind)
        if isinstance(value, (list, tuple)):
            return [self.pseudonymise(item, kind) for item in value]
        # Numbers, booleans and objects: their JSON text (an object as one canonical value).
        return self.hasher(json.dumps(value, sort_keys=True, separators=(",", ":")), kind)


def output_columns(header: list[str], policy: Policy) -> list[str]:
    """The CSV header after sanitising: dropped columns gone, pseudonymised ones renamed."""
    renamed = {
        name: name + HASH_SUFFIX
        for name in header
        if policy.decide(name).action is Action.PSEUDONYMISE
    }
    targets = set(renamed.values())
    columns: list[str] = []
    for name in header:
        action = policy.decide(name).action
        if action is Action.DROP or (name in targets and name not in renamed):
            continue
        columns.append(renamed.get(name, name))
    return columns


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
    """
    policy = policy or _DEFAULT.policy()
    walker = _Walker(policy, resolve_hasher(key, policy), counts or SanitizeCounts())
    return walker.record(attrs)


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
    return map(walker.record, records)


class _DefaultPolicy:
    """The default policy, built once per process on first use (its name cache is shared)."""

    _policy: Policy | None = None

    @classmethod
    def policy(cls) -> Policy:
        if cls._policy is None:
            cls._policy = Policy.default()
        return cls._policy


_DEFAULT = _DefaultPolicy
