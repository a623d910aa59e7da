"""Sanitisation policies: which attribute names are dropped, pseudonymised, kept or scanned.

A policy is a table of rules (normalised names or globs → action), an action for names no
rule matches, and the value detectors ``redact-values`` uses. ``Policy.default()`` is the
built-in table; ``Policy.load(path)`` reads a TOML file on top of it (or of nothing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cio_sec.errors import InputError
from cio_sec.pseudonym import IdentifierKind
from cio_sec.sanitize.detectors import ALL_DETECTORS, PiiKind
from cio_sec.sanitize.names import compile_glob, is_glob, normalise_name, normalise_pattern
from cio_sec.sanitize.policy_file import parse_policy
from cio_sec.sanitize.rules import Action, Rule

_CODES = {Action.KEEP: 0, Action.REDACT_VALUES: 0, Action.DROP: 1, Action.PSEUDONYMISE: 2}
#: When several globs match one name, the strictest action wins.
_STRICTNESS = {Action.KEEP: 0, Action.REDACT_VALUES: 1, Action.PSEUDONYMISE: 2, Action.DROP: 3}

_DROP_NAMES = (
    "ssn", "social_security", "social_security_number", "tax_id", "tin", "national_id",
    "national_insurance_number", "credit_card", "credit_card_number", "card_number",
    "cc_number", "cvv", "cvv2", "cvc", "card_verification_code", "password", "password_hash",
    "passwd", "pin", "bank_account", "bank_account_number", "routing_number", "sort_code",
    "iban", "passport_number", "passport", "drivers_license", "drivers_license_number",
    "driver_license", "driving_licence", "*_password", "password_*", "*_ssn",
    "*_card_number", "*_cvv",
)  # fmt: skip
_PSEUDONYMISE_NAMES = (
    "phone", "phone_number", "mobile", "mobile_number", "ip", "ip_address", "address",
    "street_address", "address_line1", "address_line2", "date_of_birth", "dob", "birthdate",
)  # fmt: skip

_PHONE_WORDS = frozenset({"phone", "mobile", "cell", "fax", "msisdn", "tel", "telephone"})
#: Words that make an attribute an email address or a phone number itself, and names that
#: may hold one (a workspace that identifies people by email puts it in ``id``).
_CONTACT_WORDS = _PHONE_WORDS | {"email", "emails", "phones", "mobiles"}
_CONTACT_NAMES = frozenset({"id", "e_mail", "e_mails"})
_NAME_CACHE_LIMIT = 50_000


def is_contact(name: str) -> bool:
    """Whether a normalised name is itself an email address or a phone number (or ``id``)."""
    return name in _CONTACT_NAMES or not _CONTACT_WORDS.isdisjoint(name.split("_"))


def infer_kind(name: str) -> IdentifierKind:
    """How a pseudonymised attribute's value is normalised, guessed from its name."""
    words = set(name.split("_"))
    if words & _PHONE_WORDS:
        return IdentifierKind.PHONE
    if "ip" in words:
        return IdentifierKind.IP
    if "email" in words:
        return IdentifierKind.EMAIL
    return IdentifierKind.TEXT


@dataclass(frozen=True)
class Decision:
    """What the policy decided for one attribute name."""

    action: Action
    kind: IdentifierKind
    explicit: bool
    """A rule named the attribute (an explicit ``keep`` turns the value detectors off)."""
    identifier: bool = field(default=False, compare=False)
    """The attribute is itself an email, a phone or the id: the email and phone detectors
    are off for its value and beneath it (the other detectors still run)."""

    code: int = field(init=False, repr=False, compare=False)
    """0 keeps the attribute, 1 drops it, 2 pseudonymises it (for the engine's hot loop)."""
    scan: bool | None = field(init=False, repr=False, compare=False)
    """Whether values beneath are scanned by the detectors; None inherits the parent's."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", _CODES[self.action])
        scan = self.action is Action.REDACT_VALUES if self.explicit else None
        object.__setattr__(self, "scan", scan)


@dataclass(frozen=True)
class Policy:
    """A rule table; build it with :meth:`default`, :meth:`load` or :meth:`from_rules`."""

    rules: tuple[Rule, ...]
    default_action: Action = Action.REDACT_VALUES
    detectors: frozenset[PiiKind] = ALL_DETECTORS
    source: str = "built-in default"
    _exact: dict[str, Rule] = field(init=False, repr=False, compare=False)
    _globs: tuple[tuple[re.Pattern[str], Rule], ...] = field(init=False, repr=False, compare=False)
    _cache: dict[str, Decision] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        exact = {rule.pattern: rule for rule in self.rules if not is_glob(rule.pattern)}
        globs = tuple((compile_glob(r.pattern), r) for r in self.rules if is_glob(r.pattern))
        object.__setattr__(self, "_exact", exact)
        object.__setattr__(self, "_globs", globs)
        object.__setattr__(self, "_cache", {})

    @classmethod
    def default(cls) -> Policy:
        """The built-in policy (the README shows it as a table)."""
        return cls(_default_rules())

    @classmethod
    def from_rules(
        cls,
        rules: Mapping[str, Action | str],
        *,
        default_action: Action | str = Action.REDACT_VALUES,
        detectors: Iterable[PiiKind | str] = ALL_DETECTORS,
        extends_default: bool = True,
    ) -> Policy:
        """A policy from ``{name or glob: action}``, on top of the default table or alone.

        Raises:
            ValueError: an unknown action or detector, or a pattern that is not a name.
        """
        table = {rule.pattern: rule for rule in _default_rules()} if extends_default else {}
        for pattern, action in rules.items():
            normalised = normalise_pattern(pattern)
            if normalised is None:
                raise ValueError(f"not an attribute name or glob: {pattern!r}")
            table[normalised] = Rule(normalised, Action(action))
        return cls(
            tuple(table.values()),
            default_action=Action(default_action),
            detectors=frozenset(PiiKind(d) for d in detectors),
            source="custom",
        )

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read a TOML policy file (format in the README).

        Raises:
            InputError: unreadable file, invalid TOML, or an invalid rule (names the line).
        """
        path = Path(path)
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise InputError(f"cannot read the policy: {exc.strerror}", path=path) from None
        except UnicodeDecodeError:
            raise InputError("the policy is not valid UTF-8", path=path) from None
        parsed = parse_policy(text, path)
        table = {rule.pattern: rule for rule in _default_rules()} if parsed.extends_default else {}
        table.update((rule.pattern, rule) for rule in parsed.rules)
        return cls(
            tuple(table.values()),
            default_action=parsed.default_action,
            detectors=parsed.detectors,
            source=str(path),
        )

    @property
    def pseudonymises(self) -> bool:
        """Whether any rule pseudonymises (only then is a key needed)."""
        return any(rule.action is Action.PSEUDONYMISE for rule in self.rules) or (
            self.default_action is Action.PSEUDONYMISE
        )

    @property
    def decisions(self) -> dict[str, Decision]:
        """Decisions made so far, by name as written (the engine reads it directly)."""
        return self._cache

    def decide(self, name: str) -> Decision:
        """The decision for an attribute name as written (normalised here, cached)."""
        decision = self._cache.get(name)
        if decision is None:
            if len(self._cache) >= _NAME_CACHE_LIMIT:  # dynamic keys: stay constant-memory
                self._cache.clear()
            decision = self._cache[name] = self._decide(normalise_name(name))
        return decision

    def _decide(self, normalised: str) -> Decision:
        rule = self._exact.get(normalised)
        if rule is None:
            matching = [r for pattern, r in self._globs if pattern.match(normalised)]
            if not matching:
                return Decision(
                    self.default_action,
                    infer_kind(normalised),
                    explicit=False,
                    identifier=is_contact(normalised),
                )
            rule = max(matching, key=lambda r: _STRICTNESS[r.action])
        return Decision(
            rule.action,
            rule.kind or infer_kind(normalised),
            explicit=True,
            identifier=is_contact(normalised),
        )

    def table(self) -> list[dict[str, str]]:
        """The rules as rows (pattern, action, normalisation), for reports and the README."""
        return [
            {
                "pattern": rule.pattern,
                "action": rule.action.value,
                "normalise": (rule.kind or infer_kind(rule.pattern)).value
                if rule.action is Action.PSEUDONYMISE
                else "",
            }
            for rule in self.rules
        ]


def _default_rules() -> tuple[Rule, ...]:
    drops = tuple(Rule(name, Action.DROP) for name in _DROP_NAMES)
    return drops + tuple(Rule(name, Action.PSEUDONYMISE) for name in _PSEUDONYMISE_NAMES)
