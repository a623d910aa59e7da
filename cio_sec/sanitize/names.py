"""Attribute-name normalisation and the glob patterns policies match names with.

``cardNumber``, ``Card-Number``, ``CARD_NUMBER`` and ``card number`` all normalise to
``card_number``, so one rule covers every spelling an app or a CSV header may use.
"""

from __future__ import annotations

import re
from fnmatch import translate

# "cardNumber" -> "card_Number"; "IPAddress" -> "IP_Address"; "phone2Home" -> "phone2_Home".
_CAMEL_LOWER_UPPER = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CAMEL_ACRONYM = re.compile(r"(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[^0-9a-z]+")
_PATTERN_SEPARATORS = re.compile(r"[^0-9a-z*?\[\]!]+")
_PATTERN_SHAPE = re.compile(r"(?:[0-9a-z_*?]|\[!?[0-9a-z_-]+\])+")
_GLOB_CHARACTERS = frozenset("*?[")
_CLASS = re.compile(r"\[[^\]]*\]")
_CLASS_SEPARATORS = re.compile(r"[^0-9a-z!-]+")
# A dash that is not a range between two letters or digits separates words, as outside.
_LOOSE_DASH = re.compile(r"(?<![0-9a-z])-|-(?![0-9a-z])")


def normalise_name(name: str) -> str:
    """Return the canonical snake_case form of an attribute name (``""`` if nothing is left)."""
    split = _CAMEL_ACRONYM.sub("_", _CAMEL_LOWER_UPPER.sub("_", name))
    return _SEPARATORS.sub("_", split.lower()).strip("_")


def is_glob(pattern: str) -> bool:
    """Whether a policy pattern has wildcards (``*``, ``?`` or a ``[...]`` class)."""
    return not _GLOB_CHARACTERS.isdisjoint(pattern)


def normalise_pattern(pattern: str) -> str | None:
    """Normalise a policy name or glob like a name, keeping its wildcards.

    Returns None when the pattern is not a usable name or glob: empty, only separators,
    an unbalanced ``[`` or characters that can never occur in a normalised name.
    """
    split = _CAMEL_ACRONYM.sub("_", _CAMEL_LOWER_UPPER.sub("_", pattern.strip())).lower()
    # Inside [...] a range keeps its dash: "secret[0-9]" must not become "secret[0_9]".
    pieces: list[str] = []
    position = 0
    for match in _CLASS.finditer(split):
        pieces.append(_PATTERN_SEPARATORS.sub("_", split[position : match.start()]))
        inside = _LOOSE_DASH.sub("_", _CLASS_SEPARATORS.sub("_", match.group()[1:-1]))
        pieces.append(f"[{inside}]")
        position = match.end()
    pieces.append(_PATTERN_SEPARATORS.sub("_", split[position:]))
    normalised = "".join(pieces).strip("_")
    if not normalised or _PATTERN_SHAPE.fullmatch(normalised) is None:
        return None
    return normalised


def compile_glob(pattern: str) -> re.Pattern[str]:
    """A compiled matcher for a normalised glob, matched against whole normalised names."""
    return re.compile(translate(pattern))
