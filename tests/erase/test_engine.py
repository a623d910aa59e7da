"""The engine against the sandbox over real HTTP: paths, batches, faults, stops, signals."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

import pytest

from cio_sec.client import build_async_track_client
from cio_sec.erase.engine import Engine, EngineSettings
from cio_sec.erase.inputs import IdType, Row
from cio_sec.erase.journal import Journal, Outcome, Person
from cio_sec.erase.ratelimit import RateLimiter
from cio_sec.erase.supervisor import EngineResult
from cio_sec.errors import CredentialRejectedError, RedirectError, RemoteUnavailableError
from cio_sec.pseudonym import PseudonymKey
from cio_sec.sandbox import Faults, Sandbox

KEY = PseudonymKey(b"k" * 32)


@dataclass
class ListRecorder:
    journal: Journal
    outcomes: list[Outcome] = field(default_factory=list)
    buffered: list[Outcome] = field(default_factory=list)
    fail_with: Exception | None = None
    after: int = 0
    """Call ``then`` once this many outcomes have come in."""
    then: Callable[[], None] | None = None

    def add(self, people: Sequence[Person], outcomes: Sequence[Outcome]) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        assert [p.n for p in people] == [o.n for o in outcomes]
        self.buffered.extend(outcomes)
        seen = len(self.outcomes) + len(self.buffered)
        if self.then is not None and seen >= self.after:
            self.then()
            self.then = None

    def flush(self) -> None:
        self.journal.record(self.buffered)
        self.outcomes.extend(self.buffered)
        self.buffered = []


def _journal(values: Sequence[tuple[str, IdType]]) -> Journal:
    journal = Journal.open(None)
    rows = [Row(n, value, kind) for n, (value, kind) in enumerate(values, start=1)]
    journal.load(rows, KEY, {})
    return journal


async def _no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


def _run(
    sandbox: Sandbox,
    journal: Journal,
    *,
    rate: float = 1000,
    recorder: ListRecorder | None = None,
    **settings: object,
) -> tuple[EngineResult, ListRecorder]:
    info = sandbox.info
    recorder = recorder or ListRecorder(journal)

    async def main() -> EngineResult:
        async with build_async_track_client(
            info.track_url, info.site_id, info.track_api_key
        ) as client:
            engine = Engine(
                journal,
                client,
                RateLimiter(rate),
                recorder,
                EngineSettings(**settings),  # type: ignore[arg-type]
                sleep=_no_sleep,
            )
            return await engine.run()

    return asyncio.run(main()), recorder


def _suppressed(sandbox: Sandbox) -> set[str]:
    return set(cast("list[str]", sandbox.people()["suppressed"]))


ODD = ["../x", "a/b", "a?b#c", "100%", "with space", "ünïcødé", "😀 emoji", ".", "..", "é" * 75]


@pytest.mark.parametrize("api", ["v1", "batch"])
def test_odd_identifiers_reach_the_sandbox_intact(api: str) -> None:
    people = [(v, IdType.ID) for v in ODD] + [
        ("Ann@Example.com", IdType.EMAIL),
        ("c1", IdType.CIO_ID),
    ]
    with Sandbox() as sandbox:
        for value in [*ODD, "Ann@Example.com"]:  # suppressing nobody changes nothing
            sandbox.add_person(value)
        journal = _journal(people)
        result, recorder = _run(sandbox, journal, api=api, batch_size=4)
        assert result == EngineResult()
        assert journal.counts().erased == len(people)
        # No profile has cio_id c1, so suppressing it blocks nothing.
        assert _suppressed(sandbox) == {*ODD, "ann@example.com"}
        requests = sandbox.requests()
        if api == "v1":
            seen = {r.identifier for r in requests if r.path.endswith("/suppress")}
            assert seen == {*ODD, "Ann@Example.com", "cio_c1"}
            dots = {r.path for r in requests if r.identifier in {".", ".."}}
            assert all("/./" not in p and "/../" not in p and "%2E" in p for p in dots)
        else:
            assert {r.path for r in requests} == {"/api/v2/batch"}
            assert len(requests) == 6  # three batches of at most four, twice
        assert {o.action for o in recorder.outcomes} == {"suppress", "delete"}


@pytest.mark.slow
def test_retries_through_5xx_429_and_dropped_connections() -> None:
    with Sandbox() as sandbox:
        sandbox.set_faults(
            Faults(error_rate=0.1, throttle_rate=0.05, retry_after=0, drop_rate=0.02, seed=7)
        )
        people = [(f"p{n}", IdType.ID) for n in range(120)]
        for value, _ in people:  # suppressing nobody changes nothing
            sandbox.add_person(value)
        journal = _journal(people)
        result, recorder = _run(sandbox, journal, max_attempts=12)
        assert result.error is None
        assert journal.counts().erased == 120
        assert {f"p{n}" for n in range(120)} <= _suppressed(sandbox)
        assert max(o.attempts for o in recorder.outcomes) > 1
        statuses = {r.status for r in sandbox.requests()}
        assert {0, 429, 503, 200} <= statuses


@pytest.mark.parametrize("status", [522, 524])
def test_edge_timeouts_are_retried_within_the_default_attempts(status: int) -> None:
    with Sandbox() as sandbox:
        # 1 in 5 answered with an edge timeout: retries are needed, yet eight failures in a
        # row for one person stay out of reach (3e-6), whatever order requests draw in.
        sandbox.set_faults(Faults(error_rate=0.2, error_status=status, seed=11))
        people = [(f"p{n}", IdType.ID) for n in range(40)]
        journal = _journal(people)
        result, recorder = _run(sandbox, journal)
        assert result.error is None
        assert journal.counts().erased == 40
        assert max(o.attempts for o in recorder.outcomes) > 1
        assert {status, 200} == {r.status for r in sandbox.requests()}


def test_retry_after_is_honoured_within_the_default_attempts() -> None:
    with Sandbox() as sandbox:
        sandbox.set_faults(Faults(throttle_rate=1.0, retry_after=2.0))
        journal = _journal([("a", IdType.ID)])
        waits: list[float] = []

        async def sleep(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 3:
                sandbox.set_faults(Faults())

        limiter = RateLimiter(1000)
        recorder = ListRecorder(journal)

        async def main() -> EngineResult:
            info = sandbox.info
            async with build_async_track_client(
                info.track_url, info.site_id, info.track_api_key
            ) as client:
                engine = Engine(
                    journal,
                    client,
                    limiter,
                    recorder,
                    EngineSettings(),
                    random=lambda: 0.0,
                    sleep=sleep,
                )
                return await engine.run()

        result = asyncio.run(main())
        assert result == EngineResult()
        assert waits == [2.0, 2.0, 2.0]  # what the server asked for, not a shorter back-off
        suppress = next(o for o in recorder.outcomes if o.action == "suppress")
        assert (suppress.done, suppress.attempts) == (True, 4)
        assert limiter.halvings >= 1  # the shared limiter heard of the 429s
        assert journal.counts().erased == 1


def test_batch_item_errors_fail_the_right_person() -> None:
    too_long = "x" * 151  # valid input never holds it; the journal is loaded directly
    people = [("a", IdType.ID), (too_long, IdType.ID), ("b", IdType.ID)]
    with Sandbox() as sandbox:
        journal = _journal(people)
        result, _ = _run(sandbox, journal, api="batch")
        assert result.error is None
        (failed,) = journal.failed()
        assert failed.subject == KEY.pseudonym(too_long)
        assert failed.reason == "too_long: identifiers.id"
        assert failed.status == 207
        assert journal.counts().erased == 2


def test_a_4xx_fails_the_person_without_retry() -> None:
    with Sandbox() as sandbox:
        journal = _journal([("x" * 151, IdType.ID), ("ok", IdType.ID)])
        _run(sandbox, journal)
        (failed,) = journal.failed()
        assert (failed.action, failed.status, failed.reason) == (
            "suppress",
            400,
            "HTTP 400 Bad Request",
        )
        assert len([r for r in sandbox.requests() if r.status == 400]) == 1


def test_a_rejected_batch_fails_every_person_in_it() -> None:
    with Sandbox() as sandbox:
        sandbox.set_faults(Faults(error_rate=1.0, error_status=413))
        journal = _journal([("a", IdType.ID), ("b", IdType.ID)])
        _run(sandbox, journal, api="batch")
        assert [p.reason for p in journal.failed()] == ["HTTP 413 Request Entity Too Large"] * 2


def test_401_stops_everything_and_marks_nothing_undone() -> None:
    with Sandbox() as sandbox:
        journal = _journal([(f"p{n}", IdType.ID) for n in range(100)])

        def revoke() -> None:
            sandbox.revoke_track_keys(sandbox.info.site_id)

        recorder = ListRecorder(journal, after=40, then=revoke)
        result, _ = _run(sandbox, journal, recorder=recorder, concurrency=4)
        assert isinstance(result.error, CredentialRejectedError)
        counts = journal.counts()
        assert 0 < counts.erased < 100
        assert counts.failed == 0
        deleted = set(cast("list[str]", sandbox.people()["deleted"]))
        pending = {p.identifier for p in journal.pending(0, 1000)}
        erased = {f"p{n}" for n in range(100)} - pending
        assert len(erased) == counts.erased
        assert erased <= deleted  # nothing marked done that was not
        statuses = [r.status for r in sandbox.requests()]
        assert statuses.count(401) <= 4  # every worker stopped at once


def test_exhausted_retries_stop_the_job_with_people_pending() -> None:
    with Sandbox() as sandbox:
        sandbox.set_faults(Faults(error_rate=1.0))
        journal = _journal([("a", IdType.ID)])
        result, _ = _run(sandbox, journal, max_attempts=2)
        assert isinstance(result.error, RemoteUnavailableError)
        assert "answered HTTP 503 Service Unavailable 2 times" in result.error.message
        assert journal.counts().left == 1
        sandbox.set_faults(Faults(drop_rate=1.0))
        result, _ = _run(sandbox, journal, max_attempts=2)
        assert isinstance(result.error, RemoteUnavailableError)
        assert "could not be reached (RemoteProtocolError, attempt 2 of 2)" in result.error.message


def test_a_redirect_stops_the_job() -> None:
    with Sandbox() as sandbox:
        journal = _journal([("a", IdType.ID)])
        info = sandbox.info

        async def main() -> EngineResult:
            import httpx

            def redirect(request: httpx.Request) -> httpx.Response:
                return httpx.Response(307, headers={"Location": "https://track-eu.customer.io/x"})

            async with build_async_track_client(
                info.track_url,
                info.site_id,
                info.track_api_key,
                transport=httpx.MockTransport(redirect),
            ) as client:
                engine = Engine(
                    journal, client, RateLimiter(100), ListRecorder(journal), EngineSettings()
                )
                return await engine.run()

        result = asyncio.run(main())
        assert isinstance(result.error, RedirectError)


@pytest.mark.parametrize(
    ("signum", "name"), [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated")]
)
def test_signals_stop_taking_work_and_flush(signum: int, name: str) -> None:
    with Sandbox() as sandbox:
        journal = _journal([(f"p{n}", IdType.ID) for n in range(100)])

        def send() -> None:
            os.kill(os.getpid(), signum)

        recorder = ListRecorder(journal, after=20, then=send)
        result, recorder = _run(sandbox, journal, recorder=recorder, concurrency=4)
        assert result.signal == name
        counts = journal.counts()
        assert 0 < counts.erased < 100
        assert len(recorder.outcomes) >= counts.erased
        assert recorder.buffered == []


def test_a_bug_in_a_worker_is_not_swallowed() -> None:
    with Sandbox() as sandbox:
        journal = _journal([("a", IdType.ID)])
        recorder = ListRecorder(journal, fail_with=RuntimeError("bug"))
        with pytest.raises(RuntimeError, match="bug"):
            _run(sandbox, journal, recorder=recorder)
