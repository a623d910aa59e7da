"""The never-send attribute names, and the spellings under which each may have been sent.

The names are the sanitize policy's exact ``drop`` rules (the built-in defaults included,
unless the policy replaced them). Customer.io attribute names are case-sensitive, so each
name is searched under every spelling the policy's name normalisation folds into it:
``ssn`` and ``SSN``, ``card_number`` and ``cardNumber``. The spellings are derived from the
normaliser itself: a candidate is kept only when `normalise_name` turns it back into the
name.
"""

from __future__ import annotations

from cio_sec.sanitize import Action, Policy
from cio_sec.sanitize.names import is_glob, normalise_name


def never_send_names(policy: Policy) -> tuple[str, ...]:
    """The attribute names the policy drops by an exact rule, in the policy's order."""
    return tuple(
        rule.pattern
        for rule in policy.rules
        if rule.action is Action.DROP and not is_glob(rule.pattern)
    )


def never_send_globs(policy: Policy) -> tuple[str, ...]:
    """The policy's ``drop`` globs: a search cannot enumerate the names they match."""
    return tuple(
        rule.pattern
        for rule in policy.rules
        if rule.action is Action.DROP and is_glob(rule.pattern)
    )


def spellings(name: str) -> tuple[str, ...]:
    """The common spellings of a normalised name that normalise back to it, sorted.

    ``social_security_number`` gives ``SOCIAL_SECURITY_NUMBER``, ``Social Security
    Number``, ``SocialSecurityNumber``, ``social-security-number``, ``socialSecurityNumber``
    and the name itself, among others.
    """
    words = [word for word in name.split("_") if word]
    if not words:
        return ()
    capitalised = [word.capitalize() for word in words]
    candidates = {
        "_".join(words),
        "_".join(words).upper(),
        "-".join(words),
        "-".join(words).upper(),
        " ".join(words),
        " ".join(capitalised),
        "_".join(capitalised),
        "".join(capitalised),
        words[0] + "".join(capitalised[1:]),
    }
    return tuple(sorted(c for c in candidates if normalise_name(c) == name))


def exists_filter(fields: tuple[str, ...] | list[str]) -> dict[str, object]:
    """An App API search filter: people holding any of ``fields``.

    Raises:
        ValueError: no field.
    """
    if not fields:
        raise ValueError("a search needs at least one attribute name")
    return {"or": [{"attribute": {"field": field, "operator": "exists"}} for field in fields]}
