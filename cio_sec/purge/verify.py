"""Proving a purge: each purged person is read back through the App API.

Verified when none of the purged attributes is left with a value (an attribute left with an
empty value holds nothing); still-present when one is, after re-reading until the window
ends (Customer.io applies identify calls asynchronously). A person the App API does not know
is unverified: nothing can be proved about them. Outcomes are committed to the journal,
then written to the trail.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cio_sec.purge.journal import STILL_PRESENT, UNVERIFIED, VERIFIED, Check, Person, PurgeJournal
from cio_sec.trail.records import format_ts, utc_now

if TYPE_CHECKING:
    from cio_sec.client import AsyncAppApi
    from cio_sec.purge.trail import PurgeTrail

_WORKERS = 8
_FIRST_PAUSE = 1.0
_MAX_PAUSE = 30.0
NOT_FOUND = "the App API does not know this person (404)"


def remaining(attributes: dict[str, object], names: tuple[str, ...]) -> list[str]:
    """The names still holding a value."""
    return [name for name in names if attributes.get(name) not in (None, "")]


@dataclass
class PurgeVerifier:
    """Reads purged people back until each has a final outcome or the window ends."""

    journal: PurgeJournal
    app: AsyncAppApi
    trail: PurgeTrail
    window: float
    clock: Callable[[], float] = time.monotonic
    stopped: str | None = None

    def request_stop(self, reason: str) -> None:
        """Stop after the reads in flight (a signal's name)."""
        self.stopped = reason

    async def run(self) -> None:
        """Read everyone back; a signal stops it with the people left still to verify.

        Raises:
            CredentialRejectedError, RedirectError, RemoteUnavailableError, ApiError: the
                App API failed; outcomes so far are kept.
        """
        deadline = self.clock() + self.window
        people = self.journal.to_verify()
        pause = _FIRST_PAUSE
        while people and self.stopped is None:
            present = await self._round(people, final=self.clock() >= deadline)
            people = present
            if people:
                await asyncio.sleep(min(pause, max(0.0, deadline - self.clock())))
                pause = min(pause * 2, _MAX_PAUSE)

    async def _round(self, people: list[Person], *, final: bool) -> list[Person]:
        """Read each person once; return those whose attributes are still there."""
        queue: asyncio.Queue[Person] = asyncio.Queue()
        for person in people:
            queue.put_nowait(person)
        present: list[Person] = []
        checks: list[tuple[Person, Check]] = []

        async def work() -> None:
            while self.stopped is None:
                try:
                    person = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                check = await self._check(person, final=final)
                if check is None:
                    present.append(person)
                else:
                    checks.append((person, check))

        try:
            await asyncio.gather(*(work() for _ in range(_WORKERS)))
        finally:
            self._commit(checks)
        return present

    async def _check(self, person: Person, *, final: bool) -> Check | None:
        attributes = await self.app.person_attributes(person.identifier or "", person.id_type)
        at = format_ts(utc_now())
        if attributes is None:
            return Check(person.n, UNVERIFIED, NOT_FOUND, at)
        left = remaining(attributes, person.attributes)
        if not left:
            return Check(person.n, VERIFIED, None, at)
        if not final:
            return None
        return Check(person.n, STILL_PRESENT, f"still holds: {', '.join(left)}", at)

    def _commit(self, checks: list[tuple[Person, Check]]) -> None:
        if not checks:
            return
        self.journal.record_checks([check for _, check in checks])
        self.trail.verifications(checks)
        self.journal.mark_checks_audited(check.n for _, check in checks)
