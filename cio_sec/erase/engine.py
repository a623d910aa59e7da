"""The erasure engine: bounded-concurrency async requests, retries, stops and signals.

Workers take units of work (one person for ``--api v1``, a batch of people for ``--api
batch``), suppress then delete, and hand each final outcome to a `Recorder`, which commits
it to the journal before anything reports it. Retries (408, 429, 500, 502-504, 522, 524,
timeouts and connection failures) go through the client's one retry driver,
`cio_sec.client.asend_counted`: jittered exponential back-off that honours ``Retry-After``,
each attempt waiting for the shared rate limiter, which hears of every 429. Any other 4xx
fails that person (or that batch item) without a retry. A 401/403 or a redirect stops the
whole job at once; exhausted retries stop it too (Customer.io is unreachable: the people
stay pending).

Batches are retried whole: every operation in them (suppress, delete) is idempotent, so
sending an accepted item again changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import random as _random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from cio_sec.client import (
    RetryPolicy,
    TransportFailedError,
    asend_counted,
    batch_call,
    check_response,
    delete_call,
    suppress_call,
)
from cio_sec.erase.inputs import AMBIGUOUS_IN_V1, IdType, ambiguous_in_v1_path
from cio_sec.erase.journal import TO_DELETE, TO_SUPPRESS, Journal, Outcome, Person
from cio_sec.erase.plan import Api
from cio_sec.erase.ratelimit import RateLimiter
from cio_sec.erase.supervisor import EngineResult, Supervised
from cio_sec.errors import CioSecError, RemoteUnavailableError

MAX_BATCH_BYTES = 450 * 1024
"""Below Customer.io's 500 KB per batch, with room for the envelope."""
_PENDING_CHUNK = 1000
_TRACK = "the Track API credentials (site ID and API key)"
_RESUME = "the job is saved; run the same command again to resume"


@dataclass(frozen=True)
class EngineSettings:
    """How the engine sends."""

    api: Api = Api.V1
    concurrency: int = 16
    max_attempts: int = 8
    batch_size: int = 100
    """People per batch request (``--api batch``)."""
    grace: float = 3.0
    """Seconds in-flight requests may take to finish after a stop is asked for."""
    flush_interval: float = 0.2


class Recorder(Protocol):
    """Where final outcomes go: committed to the journal, then reported."""

    def add(self, people: Sequence[Person], outcomes: Sequence[Outcome]) -> None:
        """Take outcomes (with the people they belong to) for the next flush."""

    def flush(self) -> None:
        """Commit and report everything taken so far."""


class _GaveUpError(RemoteUnavailableError):
    pass


def _status_text(status: int) -> str:
    phrase = httpx.codes.get_reason_phrase(status)
    return f"HTTP {status} {phrase}".strip()


def path_identifier(person: Person) -> str:
    """The identifier as a v1 path names the person (a cio_id carries its prefix)."""
    return f"cio_{person.identifier}" if person.id_type is IdType.CIO_ID else person.identifier


def batch_operation(person: Person, action: str) -> dict[str, object]:
    """One ``/api/v2/batch`` item: explicit identifier type, so nothing is guessed."""
    return {
        "type": "person",
        "identifiers": {person.id_type.value: person.identifier},
        "action": action,
    }


class Engine(Supervised):
    """Runs one job's pending work against Customer.io."""

    def __init__(
        self,
        journal: Journal,
        client: httpx.AsyncClient,
        limiter: RateLimiter,
        recorder: Recorder,
        settings: EngineSettings,
        *,
        random: Callable[[], float] = _random.random,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._journal = journal
        self._client = client
        self._limiter = limiter
        self._recorder = recorder
        self._settings = settings
        self._policy = RetryPolicy(max_attempts=settings.max_attempts)
        self._random = random
        self._sleep = sleep
        super().__init__(
            flush=recorder.flush, grace=settings.grace, flush_interval=settings.flush_interval
        )

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> EngineResult:
        """Erase every pending person, or stop early; outcomes are flushed before return.

        A flush that fails (journal or trail not writable) stops the job at once, as an
        error: no request is sent after it, and the unflushed outcomes stay pending.
        """
        queue: asyncio.Queue[list[Person] | None] = asyncio.Queue(self._settings.concurrency)
        workers = [self._work(queue) for _ in range(self._settings.concurrency)]
        return await self._supervise(workers, producer=self._produce(queue))

    async def _produce(self, queue: asyncio.Queue[list[Person] | None]) -> None:
        try:
            await self._queue_pending(queue)
        except CioSecError as exc:  # a damaged journal: nobody may wait for work forever
            self._fail(exc)
        except Exception:
            self.request_stop("error")  # a bug: stop the workers; run() raises it
            raise

    async def _queue_pending(self, queue: asyncio.Queue[list[Person] | None]) -> None:
        after = 0
        while True:
            people = self._journal.pending(after, _PENDING_CHUNK)
            if not people:
                break
            after = people[-1].n
            for unit in self._units(people):
                await queue.put(unit)
        for _ in range(self._settings.concurrency):
            await queue.put(None)

    def _units(self, people: list[Person]) -> list[list[Person]]:
        if self._settings.api == Api.V1:
            return [[person] for person in people]
        units: list[list[Person]] = []
        unit: list[Person] = []
        size = 0
        for person in people:
            item = len(json.dumps(batch_operation(person, "suppress")).encode()) + 1
            if unit and (len(unit) >= self._settings.batch_size or size + item > MAX_BATCH_BYTES):
                units.append(unit)
                unit, size = [], 0
            unit.append(person)
            size += item
        units.append(unit)
        return units

    async def _work(self, queue: asyncio.Queue[list[Person] | None]) -> None:
        while not self._stop.is_set():
            unit = await queue.get()
            if unit is None or self._stop.is_set():
                return
            try:
                await self._erase(unit)
            except CioSecError as exc:
                self._fail(exc)
                return

    # ------------------------------------------------------------------ one unit of work

    async def _erase(self, unit: list[Person]) -> None:
        to_suppress = [person for person in unit if person.stage == TO_SUPPRESS]
        to_delete = [person for person in unit if person.stage == TO_DELETE]
        if to_suppress:
            outcomes = await self._act("suppress", to_suppress)
            self._recorder.add(to_suppress, outcomes)
            to_delete += [p for p, o in zip(to_suppress, outcomes, strict=True) if o.done]
        if to_delete and not self._stop.is_set():
            self._recorder.add(to_delete, await self._act("delete", to_delete))

    async def _act(self, action: str, people: list[Person]) -> list[Outcome]:
        if self._settings.api == Api.V1:
            (person,) = people
            if ambiguous_in_v1_path(person.identifier, person.id_type):
                # NOTE: a job loaded for --api batch may hold such ids; as a path they would
                # name another person, so they fail here and are never sent.
                return [Outcome(person.n, action, False, None, AMBIGUOUS_IN_V1, 0)]
            builder = suppress_call if action == "suppress" else delete_call
            call = builder(self._client, path_identifier(person))
            response, attempts = await self._send(call.request, call.what)
            done = response.is_success
            reason = None if done else _status_text(response.status_code)
            return [Outcome(person.n, action, done, response.status_code, reason, attempts)]
        return await self._batch(action, people)

    async def _batch(self, action: str, people: list[Person]) -> list[Outcome]:
        call = batch_call(self._client, [batch_operation(person, action) for person in people])
        response, attempts = await self._send(call.request, call.what)
        status = response.status_code
        if not response.is_success:
            text = _status_text(status)
            return [Outcome(p.n, action, False, status, text, attempts) for p in people]
        result = call.parse(response)
        errors = {error.batch_index: error for error in result.errors}
        outcomes = []
        for index, person in enumerate(people):
            error = errors.get(index)
            # NOTE: only the error's code and field are kept: its message may quote the value.
            reason: str | None = (
                None if error is None else f"{error.reason or 'rejected'}: {error.field}"
            )
            outcomes.append(Outcome(person.n, action, error is None, status, reason, attempts))
        return outcomes

    async def _send(self, request: httpx.Request, what: str) -> tuple[httpx.Response, int]:
        """Send through the client's retry driver, each attempt paced by the shared limiter.

        Return the final response (2xx or a non-retryable 4xx) and the attempts it took.

        Raises:
            CredentialRejectedError: 401/403.
            RedirectError: a redirect (wrong region or base URL).
            RemoteUnavailableError: retries exhausted on 429/5xx or transport failures.
        """
        try:
            sent = await asend_counted(
                self._client,
                request,
                policy=self._policy,
                sleep=self._sleep,
                random=self._random,
                limiter=self._limiter,
            )
        except TransportFailedError as exc:
            cause = type(exc.__cause__).__name__
            raise _GaveUpError(
                f"{what} failed: Customer.io could not be reached "
                f"({cause}, attempt {exc.attempts} of {self._policy.max_attempts})",
                hint=_RESUME,
            ) from exc.__cause__
        response = sent.response
        status = response.status_code
        if status in (401, 403) or 300 <= status < 400:
            check_response(response, what=what, credential=_TRACK)
        if self._policy.should_retry_status(status):
            raise _GaveUpError(
                f"{what} failed: Customer.io answered {_status_text(status)} {sent.attempts} times",
                hint=_RESUME,
            )
        return response, sent.attempts
