"""Whether the App API key can see the people being erased at all: a 404 proves nothing else.

The App API's workspace listing covers the whole account, while its keys read people of
their own workspace. A key of another workspace (or account) answers 404 for everyone, and
every erased person would look verified. So before anything is erased, the first people of
the job are read back: one of them present proves the key reads this workspace. When none
is, the read-backs cannot tell "gone" from "never visible", and every outcome of the job is
recorded ``unverified`` with the reason. The answer is kept in the journal, so a resumed
run (whose first people may be erased already) and ``erase verify`` use the same one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, Protocol

from cio_sec.erase.journal import Person
from cio_sec.errors import CioSecError

SAMPLE: Final = 200
"""People read back before erasing, at most; it stops at the first one present."""
META_KEY: Final = "read_back_reach"
KEY_META_KEY: Final = "read_back_key"
"""The keyed fingerprint of the App API key the answer is about: another key asks again."""
PROVEN: Final = "proven"


class PresenceReader(Protocol):
    """The one App API call this needs (`cio_sec.client.AsyncAppApi` has it)."""

    async def person_present(self, identifier: str, id_type: str) -> bool:
        """Return True while the person exists."""


async def prove_reach(app: PresenceReader, people: Sequence[Person]) -> str | None:
    """Read ``people`` back until one is present; return the journal value, None if unknown.

    None (nothing to store) when there was nobody to read or the App API failed: the
    read-backs after erasing then meet the same failure and record it themselves.
    """
    if not people:
        return None
    try:
        for person in people:
            if await app.person_present(person.identifier, person.id_type.value):
                return PROVEN
    except CioSecError:
        return None
    return f"unproven:{len(people)}"


def kept_answer(meta: Mapping[str, str], key: str) -> dict[str, str]:
    """The journal's answer for the App API key fingerprinted ``key``, if it has one."""
    if META_KEY in meta and meta.get(KEY_META_KEY) == key:
        return {META_KEY: meta[META_KEY], KEY_META_KEY: key}
    return {}


def reason_for_key(meta: Mapping[str, str], key: str) -> str | None:
    """As `unproven_reason`, for a later check with the App API key fingerprinted ``key``.

    The people are erased by then, so another key cannot be shown to see them: its 404s
    prove nothing either. A job from before the check has no answer and is trusted.
    """
    known = meta.get(KEY_META_KEY)
    if known is not None and known != key:
        return (
            "this App API key is not the one shown, when the job ran, to see this "
            "workspace's people; a 404 from it proves nothing"
        )
    return unproven_reason(meta)


def unproven_reason(meta: Mapping[str, str]) -> str | None:
    """The reason every read-back of the job is unverified, or None when reach is proven."""
    value = meta.get(META_KEY, PROVEN)
    if value == PROVEN:
        return None
    tried = value.partition(":")[2] or "the"
    return (
        f"none of the first {tried} people could be read back before erasing: the App API "
        "key may belong to another workspace, where a 404 proves nothing"
    )


__all__ = [
    "KEY_META_KEY",
    "META_KEY",
    "PROVEN",
    "SAMPLE",
    "PresenceReader",
    "kept_answer",
    "prove_reach",
    "reason_for_key",
    "unproven_reason",
]
