"""Proof of erasure: reading each erased person back through the App API until they are gone.

A Track API 2xx proves nothing (deleting an unknown person is not an error; an ID-only
workspace reads an email in a path as an id), so every erased person is read back with
``GET /v1/customers/{id}/attributes?id_type=…``: a 404 means gone. Deletion can lag, so a
person still there is read back again at growing intervals until the window ends. Each
erased person ends ``verified``, ``still-present`` or ``unverified`` (the App API kept
failing, or there was no App key, or ``--no-verify``).

The read-backs run beside the erasing, at the App API's own rate and with their own
limiter, on people the journal already holds as erased. Every result is committed to the
journal before its trail record is written, so a killed run resumes verifying where it
stopped and writes each outcome to the trail once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx

from cio_sec.bounds import DEFAULT_VERIFY_WINDOW
from cio_sec.client import AsyncAppApi, RetryPolicy
from cio_sec.erase.inputs import IdType
from cio_sec.erase.journal import (
    STILL_PRESENT,
    UNVERIFIED,
    VERIFIED,
    Check,
    Journal,
    ToVerify,
    VerifyRecord,
)
from cio_sec.erase.ratelimit import RateLimiter
from cio_sec.erase.trail import JobTrail
from cio_sec.errors import (
    ApiError,
    CioSecError,
    CredentialRejectedError,
    RedirectError,
    RemoteUnavailableError,
)
from cio_sec.trail.records import format_ts

NO_APP_KEY = "no App API key: the erasure could not be read back"
SKIPPED = "read-back skipped (--no-verify)"
_FIRST_INTERVAL = 1.0
_MAX_INTERVAL = 60.0
_POLL = 0.2
_TAKE = 500
_PACING = 0.99
"""Read-backs go out this fraction of the rate, so jitter on the way never brings two
closer than the App API's spacing."""
_THROTTLE_SPAN = 2.0
_THROTTLE_COUNT = 3
_READ_BACK_RETRIES = RetryPolicy(max_attempts=3)
"""Few: a read-back that keeps failing is tried again later in the window anyway."""


@dataclass(frozen=True)
class VerifySettings:
    """How erased people are read back."""

    rate: float = 10.0
    """Read-backs per second (the App API allows 10)."""
    window: float = DEFAULT_VERIFY_WINDOW
    workers: int = 4
    """Read-backs in flight."""
    skip_reason: str | None = None
    """Record every erased person ``unverified`` with this reason instead of reading back."""
    flush_interval: float = 0.2


@dataclass(frozen=True)
class VerifyResult:
    """Why the verifier stopped: None when every erased person has an outcome."""

    signal: str | None = None
    stopped_by: str | None = None
    """The App API problem that ended every read-back early (key rejected, redirect)."""


class VerifyRecorder:
    """Commits read-back results to the journal, then writes final ones to the trail.

    Without a trail (``--no-verify``: nothing was read back) outcomes are only committed.
    """

    def __init__(self, journal: Journal, trail: JobTrail | None) -> None:
        self._journal = journal
        self._trail = trail
        self._checks: list[tuple[ToVerify, Check]] = []
        self.tally: dict[str, int] = {}
        """Final outcomes recorded by this run."""

    def add(self, person: ToVerify, check: Check) -> None:
        """Take a result for the next flush."""
        self._checks.append((person, check))

    def flush(self) -> list[int]:
        """Journal commit, trail records, audited mark; returns the people flushed."""
        checks, self._checks = self._checks, []
        if not checks:
            return []
        self._journal.record_checks([check for _, check in checks])
        records = [
            VerifyRecord(
                check.n,
                person.subject,
                person.id_type.value,
                check.outcome,
                check.reason,
                check.checks,
                check.at,
            )
            for person, check in checks
            if check.outcome is not None
        ]
        if records:
            if self._trail is not None:
                self._trail.verifications(records)
            self._journal.mark_checks_audited(record.n for record in records)
        for record in records:
            self.tally[record.outcome] = self.tally.get(record.outcome, 0) + 1
        return [check.n for _, check in checks]


def next_check(first: float, now: float, checks: int, window: float) -> float | None:
    """When to read a person who is still there back again; None once the window is over.

    Intervals double from a second up to a minute, and the last read-back falls on the end
    of the window, so a deletion that lags by less than the window is seen through.
    """
    end = first + window
    if now >= end:
        return None
    interval = min(_MAX_INTERVAL, _FIRST_INTERVAL * 2.0 ** max(checks - 1, 0))
    return min(now + interval, end)


class Verifier:
    """Reads erased people back until each has a final outcome, or a stop is asked for."""

    def __init__(
        self,
        journal: Journal,
        api: AsyncAppApi | None,
        recorder: VerifyRecorder,
        settings: VerifySettings,
        *,
        identifiers: Mapping[int, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._journal = journal
        self._api = api
        self._recorder = recorder
        self._settings = settings
        self._identifiers = identifiers
        self._clock = clock
        self._busy: set[int] = set()
        self._stop = asyncio.Event()
        self._signal: str | None = None
        self._stopped_by: CioSecError | None = None
        self._failed: CioSecError | None = None
        self.checks_made = 0

    def request_stop(self, reason: str) -> None:
        """Stop reading back (a signal's name); results so far are kept."""
        if self._signal is None:
            self._signal = reason
        self._stop.set()

    async def run(self, erasing: asyncio.Event) -> VerifyResult:
        """Read back until ``erasing`` is set and nobody erased is left without an outcome.

        Raises:
            CioSecError: the journal or the trail could not be written (results committed
                so far are kept; the next run writes what the trail is missing).
        """
        queue: asyncio.Queue[ToVerify] = asyncio.Queue(self._settings.workers)
        tasks = [asyncio.create_task(self._work(queue)) for _ in range(self._settings.workers)]
        tasks.append(asyncio.create_task(self._flush_loop()))
        try:
            await self._feed(queue, erasing)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._flush()
        if self._failed is not None:
            raise self._failed
        stopped_by = None if self._stopped_by is None else self._stopped_by.message
        return VerifyResult(self._signal, stopped_by)

    async def _flush_loop(self) -> None:
        """Commit results while the feeder waits for free workers."""
        while True:
            await asyncio.sleep(self._settings.flush_interval)
            self._flush()

    async def _feed(self, queue: asyncio.Queue[ToVerify], erasing: asyncio.Event) -> None:
        while not self._stop.is_set():
            due = self._journal.to_verify(self._clock(), _TAKE, self._busy)
            for person in due:
                self._busy.add(person.n)
                await queue.put(person)
            if due:
                continue
            if erasing.is_set() and not self._busy and not self._journal.verify_pending():
                return
            await self._pause()

    async def _pause(self) -> None:
        """Wait a poll interval, or less when asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), _POLL)

    def _flush(self) -> None:
        """Commit and record results; a journal or trail that fails stops the read-backs."""
        if self._failed is not None:
            return
        try:
            flushed = self._recorder.flush()
        except CioSecError as exc:
            # NOTE: never lost silently in the flush task: `run` raises it once stopped.
            self._failed = exc
            self._stop.set()
            return
        for n in flushed:
            self._busy.discard(n)

    async def _work(self, queue: asyncio.Queue[ToVerify]) -> None:
        while True:
            person = await queue.get()
            self._recorder.add(person, await self._check(person))

    async def _check(self, person: ToVerify) -> Check:
        reason = self._settings.skip_reason or (
            None if self._stopped_by is None else self._stopped_by.message
        )
        identifier = person.identifier
        if identifier is None and self._identifiers is not None:
            identifier = self._identifiers.get(person.n)
        if identifier is None:
            reason = reason or "the identifier is no longer in the journal (give the job's input)"
        now = self._clock()
        first = now if person.first is None else person.first
        if reason is not None or self._api is None or identifier is None:
            return Check(person.n, person.checks, first, UNVERIFIED, reason=reason, at=_ts(now))
        try:
            present = await self._api.person_present(identifier, person.id_type.value)
        except (CredentialRejectedError, RedirectError) as exc:
            # NOTE: no later read-back can succeed: everyone left ends unverified.
            self._stopped_by = self._stopped_by or exc
            return self._final(person, first, UNVERIFIED, exc.message)
        except RemoteUnavailableError as exc:
            return self._after(person, first, present=None, reason=exc.message)
        except CioSecError as exc:
            # NOTE: e.g. a 400 when the workspace does not use this identifier type: asking
            # again will not change the answer.
            return self._final(person, first, UNVERIFIED, _unreadable(exc, person.id_type))
        finally:
            self.checks_made += 1
        return self._after(person, first, present=present, reason=None)

    def _final(self, person: ToVerify, first: float, outcome: str, reason: str) -> Check:
        now = self._clock()
        return Check(person.n, person.checks + 1, first, outcome, reason=reason, at=_ts(now))

    def _after(
        self, person: ToVerify, first: float, *, present: bool | None, reason: str | None
    ) -> Check:
        now = self._clock()
        checks = person.checks + 1
        if present is False:
            return Check(person.n, checks, first, VERIFIED, at=_ts(now))
        again = next_check(first, now, checks, self._settings.window)
        if again is not None:
            return Check(person.n, checks, first, None, next=again)
        outcome = STILL_PRESENT if present else UNVERIFIED
        return Check(person.n, checks, first, outcome, reason=reason, at=_ts(now))


def _unreadable(exc: CioSecError, id_type: IdType) -> str:
    """Why a read-back was refused for good; for an email in an ID-only workspace, what it means."""
    if isinstance(exc, ApiError) and exc.status == 400 and id_type is IdType.EMAIL:
        return (
            "the workspace does not take emails as identifiers (ID-only): the erase request "
            "read the email as an id, so this person may not have been erased; erase them "
            "by id"
        )
    return exc.message


def _ts(when: float) -> str:
    return format_ts(datetime.fromtimestamp(when, timezone.utc))


def app_limiter(rate: float) -> RateLimiter:
    """The App API's own limiter, paced just under ``rate``.

    NOTE: the App API allows 10 requests/s with little or no burst, so read-backs paced
    at exactly that would now and then arrive too close together and draw a 429.
    """
    return RateLimiter(rate * _PACING)


class _AppLimiterHook:
    """The App API limiter as the client's retry driver sees it.

    Every attempt waits for its slot. A stray 429 (jitter against a bucket that holds one
    request) only delays the request it answered; `_THROTTLE_COUNT` of them within
    `_THROTTLE_SPAN` seconds slow the limiter, since then the rate itself is too high.
    """

    def __init__(self, limiter: RateLimiter, clock: Callable[[], float]) -> None:
        self._limiter = limiter
        self._clock = clock
        self._recent: list[float] = []

    async def acquire(self) -> None:
        """Wait for the next read-back's slot."""
        await self._limiter.acquire()

    def throttled(self, retry_after: float | None) -> None:
        """A 429: slow down only when it is one of a run of them."""
        now = self._clock()
        self._recent = [t for t in self._recent if now - t <= _THROTTLE_SPAN] + [now]
        if len(self._recent) >= _THROTTLE_COUNT:
            self._limiter.throttled(retry_after)
            self._recent = []


def paced_app_api(
    http: httpx.AsyncClient, limiter: RateLimiter, *, clock: Callable[[], float] = time.monotonic
) -> AsyncAppApi:
    """App API wrappers whose every attempt, retries included, waits for the limiter."""
    hook = _AppLimiterHook(limiter, clock)
    return AsyncAppApi(http, policy=_READ_BACK_RETRIES, limiter=hook)
