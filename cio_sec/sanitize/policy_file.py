"""Parsing TOML policy files, with every error naming the file and the line.

tomllib reports positions only for syntax errors, so rules are located by a scan of the
text for their keys.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cio_sec.errors import InputError
from cio_sec.pseudonym import IdentifierKind
from cio_sec.sanitize.detectors import ALL_DETECTORS, PiiKind
from cio_sec.sanitize.names import normalise_pattern
from cio_sec.sanitize.rules import Action, Rule
from cio_sec.settings import TOO_MANY_DIGITS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

TOMLDecodeError = tomllib.TOMLDecodeError

_Fail = Callable[[str, tuple[str, str]], InputError]
_TOP_LEVEL = frozenset({"extends", "default", "detectors", "rules"})
_RULE_KEYS = frozenset({"action", "normalise"})
_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")
_ACTIONS = ", ".join(action.value for action in Action)
_DETECTORS = ", ".join(detector.value for detector in PiiKind)
_KINDS = ", ".join(kind.value for kind in IdentifierKind)


@dataclass(frozen=True)
class ParsedPolicy:
    """What a policy file says, before it is merged with the default table."""

    rules: tuple[Rule, ...]
    default_action: Action
    detectors: frozenset[PiiKind]
    extends_default: bool


def parse_policy(text: str, path: Path) -> ParsedPolicy:
    """Parse and validate a policy file's text.

    Raises:
        InputError: invalid TOML, an unknown key, action, detector or normalisation, a bad
            pattern, or two spellings of one name with conflicting rules.
    """
    try:
        data = toml_loads(text)
    except TOMLDecodeError as exc:
        message = str(exc)
        line = re.search(r"at line (\d+)", message)
        raise InputError(
            "invalid TOML: " + re.sub(r"\s*\(at line \d+, column \d+\)", "", message),
            path=path,
            line=int(line.group(1)) if line else None,
        ) from None
    except ValueError:  # NOTE: an integer of more digits than Python will convert
        raise InputError(f"invalid TOML: {TOO_MANY_DIGITS}", path=path) from None
    lines = _key_lines(text)

    def fail(message: str, key: tuple[str, str]) -> InputError:
        return InputError(message, path=path, line=lines.get(key, lines.get(("", key[0]))))

    for key in data:
        if key not in _TOP_LEVEL:
            raise fail(f"unknown key {key!r} (expected one of {sorted(_TOP_LEVEL)})", ("", key))
    extends = data.get("extends", "default")
    if extends not in ("default", "none"):
        raise fail('extends must be "default" or "none"', ("", "extends"))
    default = _action(data.get("default", Action.REDACT_VALUES.value))
    if default is None:
        raise fail(f"unknown default action (expected one of {_ACTIONS})", ("", "default"))
    return ParsedPolicy(
        rules=_rules(data.get("rules", {}), fail, lines),
        default_action=default,
        detectors=_detectors(data.get("detectors", [d.value for d in ALL_DETECTORS]), fail),
        extends_default=extends == "default",
    )


def _action(value: object) -> Action | None:
    try:
        return Action(value)
    except ValueError:
        return None


def _detectors(value: object, fail: _Fail) -> frozenset[PiiKind]:
    if not isinstance(value, list):
        raise fail(f"detectors must be a list, e.g. [{_DETECTORS}]", ("", "detectors"))
    try:
        return frozenset(PiiKind(name) for name in value)
    except ValueError:
        raise fail(f"unknown detector (expected some of {_DETECTORS})", ("", "detectors")) from None


def _rules(table: object, fail: _Fail, lines: dict[tuple[str, str], int]) -> tuple[Rule, ...]:
    if not isinstance(table, dict):
        raise fail("rules must be a table: [rules]", ("", "rules"))
    seen: dict[str, tuple[str, Rule]] = {}
    for written, spec in table.items():
        where = ("rules", written)
        rule = _rule(written, spec, where, fail, lines.get(where))
        earlier = seen.get(rule.pattern)
        if earlier is not None and (earlier[1].action, earlier[1].kind) != (rule.action, rule.kind):
            raise fail(
                f"rule {written!r} conflicts with rule {earlier[0]!r}: both mean "
                f"{rule.pattern!r} but say {rule.action.value} and {earlier[1].action.value}",
                where,
            )
        seen[rule.pattern] = (written, rule)
    return tuple(rule for _, rule in seen.values())


def _rule(
    written: str, spec: object, where: tuple[str, str], fail: _Fail, line: int | None
) -> Rule:
    pattern = normalise_pattern(written)
    if pattern is None:
        raise fail(
            f"bad pattern {written!r}: use an attribute name or a glob of letters, digits, "
            "separators, *, ? and [...]",
            where,
        )
    if isinstance(spec, str):
        spec = {"action": spec}
    if not isinstance(spec, dict) or not set(spec) <= _RULE_KEYS or "action" not in spec:
        raise fail(
            f"rule {written!r} must be an action or {{ action = ..., normalise = ... }}", where
        )
    action = _action(spec["action"])
    if action is None:
        raise fail(f"unknown action {spec['action']!r} (expected one of {_ACTIONS})", where)
    kind = None
    if "normalise" in spec:
        if action is not Action.PSEUDONYMISE:
            raise fail(f"rule {written!r}: normalise applies to pseudonymise only", where)
        try:
            kind = IdentifierKind(spec["normalise"])
        except ValueError:
            raise fail(
                f"unknown normalise {spec['normalise']!r} (expected {_KINDS})", where
            ) from None
    return Rule(pattern, action, kind, line=line)


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """(table, key) → the line a key is written on; ("", table) → its header line."""
    found: dict[tuple[str, str], int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = header.group(1)
            found.setdefault(("", table), number)
            continue
        key = _KEY.match(line)
        if key:
            try:
                name = next(iter(toml_loads(f"{key.group(1)} = 0")))
            except TOMLDecodeError:  # pragma: no cover - the file parsed, so its keys do
                continue
            found.setdefault((table, name), number)
    return found


def toml_loads(text: str) -> dict[str, Any]:
    """``tomllib.loads`` (``tomli`` on Python 3.10)."""
    return tomllib.loads(text)
