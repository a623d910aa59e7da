"""The purge engine: one identify request per person, rate-limited, retried, stoppable.

Workers take people from the journal and send ``PUT /api/v1/customers/{id}`` with each
attribute the person held set to the empty value. Every attempt goes through the client's
retry driver and waits for the shared rate limiter. Outcomes are committed to the journal,
then written to the trail, by `PurgeRecorder`. A 401/403 or a redirect stops the job at
once, as do exhausted retries (the people left stay pending); SIGINT and SIGTERM stop it
gracefully. Removing an attribute twice changes nothing, so a request repeated after a
crash is harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from cio_sec.client import (
    RetryPolicy,
    TransportFailedError,
    asend_counted,
    check_response,
    unset_attributes_call,
)
from cio_sec.erase.ratelimit import RateLimiter
from cio_sec.erase.supervisor import EngineResult, Supervised
from cio_sec.errors import CioSecError, RemoteUnavailableError
from cio_sec.purge.journal import Outcome, Person, PurgeJournal
from cio_sec.purge.trail import PurgeTrail

_TRACK = "the Track API credentials (site ID and API key)"
_RESUME = "the job is saved; run the same command again to resume"


def path_identifier(person: Person) -> str:
    """The identifier as a v1 path names the person (a cio_id carries its prefix)."""
    identifier = person.identifier or ""
    return f"cio_{identifier}" if person.id_type == "cio_id" else identifier


@dataclass
class PurgeRecorder:
    """Commits outcomes to the journal, then the trail; then reports progress."""

    journal: PurgeJournal
    trail: PurgeTrail
    on_progress: Callable[[int, int], None] = lambda purged, failed: None
    purged: int = 0
    failed: int = 0
    _taken: list[tuple[Person, Outcome]] = field(default_factory=list)

    def add(self, person: Person, outcome: Outcome) -> None:
        """Take an outcome for the next flush."""
        self._taken.append((person, outcome))

    def flush(self) -> None:
        """Journal commit, trail append, audited mark, progress."""
        taken, self._taken = self._taken, []
        if not taken:
            return
        self.journal.record([outcome for _, outcome in taken])
        self.trail.actions(taken)
        self.journal.mark_audited(outcome.n for _, outcome in taken)
        for _, outcome in taken:
            if outcome.done:
                self.purged += 1
            else:
                self.failed += 1
        self.on_progress(self.purged, self.failed)


@dataclass(frozen=True)
class PurgeSettings:
    """How the engine sends."""

    concurrency: int = 16
    max_attempts: int = 8
    empty: object = ""
    """The value that removes an attribute."""
    grace: float = 3.0
    flush_interval: float = 0.2


class PurgeEngine(Supervised):
    """Runs one purge job's pending people against the Track API."""

    def __init__(
        self,
        journal: PurgeJournal,
        client: httpx.AsyncClient,
        limiter: RateLimiter,
        recorder: PurgeRecorder,
        settings: PurgeSettings,
    ) -> None:
        self._journal = journal
        self._client = client
        self._limiter = limiter
        self._recorder = recorder
        self._settings = settings
        self._policy = RetryPolicy(max_attempts=settings.max_attempts)
        super().__init__(
            flush=recorder.flush, grace=settings.grace, flush_interval=settings.flush_interval
        )

    async def run(self) -> EngineResult:
        """Purge every pending person, or stop early; outcomes are flushed before return."""
        queue: asyncio.Queue[Person] = asyncio.Queue()
        for person in self._journal.pending():
            queue.put_nowait(person)
        workers = [self._work(queue) for _ in range(self._settings.concurrency)]
        return await self._supervise(workers)

    async def _work(self, queue: asyncio.Queue[Person]) -> None:
        while not self._stop.is_set():
            try:
                person = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                self._recorder.add(person, await self._purge(person))
            except CioSecError as exc:
                self._fail(exc)
                return

    async def _purge(self, person: Person) -> Outcome:
        call = unset_attributes_call(
            self._client, path_identifier(person), person.attributes, self._settings.empty
        )
        try:
            sent = await asend_counted(
                self._client, call.request, policy=self._policy, limiter=self._limiter
            )
        except TransportFailedError as exc:
            raise RemoteUnavailableError(
                f"{call.what} failed: Customer.io could not be reached "
                f"({type(exc.__cause__).__name__}, attempt {exc.attempts} of "
                f"{self._policy.max_attempts})",
                hint=_RESUME,
            ) from exc.__cause__
        response = sent.response
        status = response.status_code
        if status in (401, 403) or 300 <= status < 400:
            check_response(response, what=call.what, credential=_TRACK)
        if self._policy.should_retry_status(status):
            raise RemoteUnavailableError(
                f"{call.what} failed: Customer.io answered HTTP {status} {sent.attempts} times",
                hint=_RESUME,
            )
        reason = None if response.is_success else _status_text(status)
        return Outcome(person.n, response.is_success, status, reason, sent.attempts)


def _status_text(status: int) -> str:
    return f"HTTP {status} {httpx.codes.get_reason_phrase(status)}".strip()
