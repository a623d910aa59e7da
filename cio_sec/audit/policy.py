"""Does the sanitisation policy drop every never-send category?

The policy file is read only as far as this question needs: every ``name = "action"`` pair,
every ``action = [names]`` list and every table with an ``action`` and a ``name``/``key``/
``match``/``attribute`` (or their plurals), at any depth. Names are compared normalised
(``cardNumber``, ``Card-Number`` and ``CARD_NUMBER`` are all ``card_number``); glob
patterns such as ``*password*`` count for every alias they match.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from cio_sec.audit.report import CheckResult, Status, passed

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    from cio_sec.settings import Settings

#: The never-send categories and the attribute names that mean them.
NEVER_SEND: dict[str, frozenset[str]] = {
    "ssn": frozenset({"ssn", "social_security_number", "social_security"}),
    "tax id": frozenset({"tax_id", "taxid", "tin", "taxpayer_id", "tax_number"}),
    "card number": frozenset(
        {"card_number", "credit_card", "credit_card_number", "cc_number", "pan"}
    ),
    "cvv": frozenset({"cvv", "cvc", "cvv2", "cvc2", "card_verification_value", "security_code"}),
    "password": frozenset({"password", "passwd", "pwd"}),
    "bank account": frozenset({"bank_account", "bank_account_number", "account_number"}),
    "routing number": frozenset({"routing_number", "aba_routing_number", "aba"}),
    "iban": frozenset({"iban"}),
    "passport": frozenset({"passport", "passport_number"}),
    "driver's license": frozenset(
        {
            "drivers_license",
            "driver_license",
            "drivers_licence",
            "driving_licence",
            "drivers_license_number",
            "driver_license_number",
        }
    ),
}
ACTIONS = frozenset({"drop", "pseudonymise", "pseudonymize", "hash", "keep", "redact"})
_NAME_FIELDS = ("name", "names", "key", "keys", "match", "attribute", "attributes", "field")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^a-z0-9*?\[\]]+")
TITLE = "Sanitisation policy covers the never-send categories"


def normalise_name(name: str) -> str:
    """``cardNumber``, ``Card-Number``, ``driver's license`` → ``card_number`` ..."""
    snake = _CAMEL.sub("_", name.replace("'", "")).lower()
    return _SEPARATORS.sub("_", snake).strip("_")


def check_sanitize_policy(settings: Settings) -> CheckResult:
    """PASS for the built-in default or a policy dropping every category; FAIL otherwise."""
    path = settings.sanitize_policy
    if path is None:
        return passed(
            "sanitize-policy",
            TITLE,
            "no sanitize_policy configured: the built-in default policy, which drops every "
            "never-send category, is in use",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        return _fail(f"cannot read the policy {path}: {reason}", path)
    rules = dict(_rules(data))
    missing = [category for category, aliases in NEVER_SEND.items() if not _drops(rules, aliases)]
    if missing:
        return _fail(f"{path} has no drop rule for: {', '.join(missing)}", path)
    return passed("sanitize-policy", TITLE, f"{path} drops all {len(NEVER_SEND)} categories")


def _fail(evidence: str, path: object) -> CheckResult:
    return CheckResult(
        "sanitize-policy",
        TITLE,
        Status.FAIL,
        evidence,
        f'add action "drop" rules for them to {path}, or remove sanitize_policy from the '
        "profile to use the built-in default",
    )


def _drops(rules: dict[str, str], aliases: frozenset[str]) -> bool:
    return any(
        action == "drop" and any(fnmatchcase(alias, pattern) for alias in aliases)
        for pattern, action in rules.items()
    )


def _rules(node: Any) -> Iterator[tuple[str, str]]:
    """Every (normalised name pattern, action) pair the parsed policy states."""
    if isinstance(node, list):
        for item in node:
            yield from _rules(item)
        return
    if not isinstance(node, dict):
        return
    action = node.get("action")
    if isinstance(action, str):
        for field in _NAME_FIELDS:
            for name in _strings(node.get(field)):
                yield normalise_name(name), action.lower()
    for key, value in node.items():
        if isinstance(value, str) and value.lower() in ACTIONS and key != "action":
            yield normalise_name(key), value.lower()
        elif key.lower() in ACTIONS:
            for name in _strings(value):
                yield normalise_name(name), key.lower()
        else:
            yield from _rules(value)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []
