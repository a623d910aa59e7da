"""The purge's parts on their own, over real HTTP to the sandbox and real SQLite files."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any, cast

import pytest

from cio_sec import client
from cio_sec.erase.journal import JournalError
from cio_sec.erase.ratelimit import RateLimiter
from cio_sec.erase.verify import app_limiter, paced_app_api
from cio_sec.errors import CredentialRejectedError, RemoteUnavailableError
from cio_sec.pseudonym import PseudonymKey
from cio_sec.purge import PurgeStatusRequest, status
from cio_sec.purge.engine import PurgeEngine, PurgeRecorder, PurgeSettings
from cio_sec.purge.job import _Purge
from cio_sec.purge.journal import Check, PurgeJournal, Target
from cio_sec.purge.plan import PurgeRequest
from cio_sec.purge.trail import PurgeTrail, reconcile
from cio_sec.purge.verify import PurgeVerifier
from cio_sec.sandbox import Faults, Sandbox
from cio_sec.trail import TrailWriter, read_lines
from tests.conftest import CANARY
from tests.support.apps import load_profile, write_config
from tests.support.hostile import fill, full_filesystem

KEY = PseudonymKey.from_text(CANARY)


def _journal(path: Path | None, *identifiers: str) -> PurgeJournal:
    journal = PurgeJournal.open(path)
    targets = [Target("id", value, "id", KEY.pseudonym(value), ("ssn",)) for value in identifiers]
    journal.load(targets, {"run": "r1", "ticket": ""})
    return journal


def _trail(tmp_path: Path) -> PurgeTrail:
    return PurgeTrail(TrailWriter(tmp_path / "audit.jsonl", KEY), "job1", None, run="r1")


async def _engine_run(
    sandbox: Sandbox, journal: PurgeJournal, trail: PurgeTrail, *, key: str | None = None
) -> Any:
    info = sandbox.info
    async with client.build_async_track_client(
        info.track_url, info.site_id, key or info.track_api_key
    ) as http:
        engine = PurgeEngine(
            journal,
            http,
            RateLimiter(1000),
            PurgeRecorder(journal, trail),
            PurgeSettings(concurrency=2, max_attempts=1),
        )
        return await engine.run()


def test_a_bug_in_the_recorder_is_raised_not_swallowed(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = _journal(None, "a", "b")
    sandbox.set_faults(Faults(latency_ms=300))  # the flush fails while "b" is in flight

    def broken(purged: int, failed: int) -> None:
        raise RuntimeError("a bug")

    async def run() -> Any:
        info = sandbox.info
        async with client.build_async_track_client(
            info.track_url, info.site_id, info.track_api_key
        ) as http:
            recorder = PurgeRecorder(journal, _trail(tmp_path), broken)
            settings = PurgeSettings(concurrency=1, flush_interval=0.01)
            return await PurgeEngine(journal, http, RateLimiter(1000), recorder, settings).run()

    with pytest.raises(RuntimeError, match="a bug"):
        asyncio.run(run())


def test_a_stop_in_the_middle_of_the_read_backs(sandbox: Sandbox, tmp_path: Path) -> None:
    names = [f"p{n}" for n in range(40)]
    for name in names:
        sandbox.add_person(name, {"plan": "pro"})
    journal = _journal(None, *names)
    journal.record([_outcome(n) for n in range(1, 41)])

    async def run() -> None:
        info = sandbox.info
        async with client.build_async_app_client(info.app_url, info.app_api_key) as http:
            verifier = PurgeVerifier(
                journal, paced_app_api(http, app_limiter(1000)), _trail(tmp_path), window=0
            )
            asyncio.get_running_loop().call_later(0.02, verifier.request_stop, "interrupted")
            await verifier.run()

    asyncio.run(run())
    assert 0 < journal.counts().to_verify < 40


def test_a_refused_request_fails_that_person_only(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.add_person("a", {"ssn": "900-00-0001"})
    journal = _journal(None, "a", "x" * 151)  # the Track API refuses ids over 150 bytes
    result = asyncio.run(_engine_run(sandbox, journal, _trail(tmp_path)))
    assert result.error is None
    counts = journal.counts()
    assert (counts.purged, counts.failed) == (1, 1)
    records = [line.record for line in read_lines(tmp_path / "audit.jsonl") if line.record]
    failed = [r for r in records if r["outcome"] == "failed"]
    assert failed[0]["reason"] == "HTTP 400 Bad Request"


def test_rejected_credentials_stop_the_job(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = _journal(None, "a")
    result = asyncio.run(_engine_run(sandbox, journal, _trail(tmp_path), key="wrong"))
    assert isinstance(result.error, CredentialRejectedError)
    assert journal.counts().left == 1


def test_an_unreachable_track_api_stops_the_job(tmp_path: Path) -> None:
    journal = _journal(None, "a")

    async def run() -> Any:
        async with client.build_async_track_client("http://127.0.0.1:9", "s", "k") as http:
            engine = PurgeEngine(
                journal,
                http,
                RateLimiter(1000),
                PurgeRecorder(journal, _trail(tmp_path)),
                PurgeSettings(max_attempts=1),
            )
            return await engine.run()

    result = asyncio.run(run())
    assert isinstance(result.error, RemoteUnavailableError)
    assert "could not be reached" in result.error.message


def test_a_journal_that_cannot_be_written_stops_the_job(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = _journal(None, "a")
    trail = _trail(tmp_path)
    (tmp_path / "audit.jsonl").mkdir()  # the trail cannot be appended to
    result = asyncio.run(_engine_run(sandbox, journal, trail))
    assert result.error is not None
    assert "audit trail" in result.error.message


def test_a_stop_request_is_the_reported_signal(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = _journal(None, "a")

    async def run() -> Any:
        info = sandbox.info
        async with client.build_async_track_client(
            info.track_url, info.site_id, info.track_api_key
        ) as http:
            engine = PurgeEngine(
                journal, http, RateLimiter(1000), PurgeRecorder(journal, _trail(tmp_path)),
                PurgeSettings(),
            )  # fmt: skip
            engine.request_stop("terminated")
            return await engine.run()

    assert asyncio.run(run()).signal == "terminated"
    assert journal.counts().left == 1


def test_reconcile_writes_only_what_the_trail_lacks(tmp_path: Path) -> None:
    journal = _journal(None, "a", "b")
    trail = _trail(tmp_path)
    journal.record([_outcome(1), _outcome(2)])
    trail.actions([(journal.unaudited()[0][0], _outcome(1))])  # killed before marking
    assert reconcile(journal, trail) == 1
    assert reconcile(journal, trail) == 0
    assert reconcile(_journal(None, "c"), trail) == 0  # nothing unaudited
    other = _journal(None, "c")
    other.record([_outcome(1)])
    fresh = PurgeTrail(TrailWriter(tmp_path / "fresh.jsonl", KEY), "job2", None, run="r1")
    assert reconcile(other, fresh) == 1  # no trail yet
    other.record_checks([Check(1, "verified", None, "2026-12-07T00:00:00Z")])
    PurgeTrail(fresh.log, "job3", None, run="r1").start({})  # another job's record
    assert reconcile(other, fresh) == 1  # the trail holds another kind of record only


def _outcome(n: int) -> Any:
    from cio_sec.purge.journal import Outcome

    return Outcome(n, True, 200, None, 1)


def test_reads_back_until_the_window_ends(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.add_person("a", {"ssn": "900-00-0001"})
    sandbox.add_person("b", {"plan": "pro"})
    journal = _journal(None, "a", "b", "ghost")
    journal.record([_outcome(1), _outcome(2), _outcome(3)])

    async def run(stop: bool) -> None:
        info = sandbox.info
        async with client.build_async_app_client(info.app_url, info.app_api_key) as http:
            verifier = PurgeVerifier(
                journal, paced_app_api(http, app_limiter(1000)), _trail(tmp_path), window=0.5
            )
            if stop:
                verifier.request_stop("interrupted")
            await verifier.run()

    asyncio.run(run(stop=True))
    assert journal.counts().to_verify == 3
    asyncio.run(run(stop=False))
    counts = journal.counts()
    assert (counts.verified, counts.still_present, counts.unverified) == (1, 1, 1)


def test_a_read_back_failure_ends_the_run_with_that_error(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.add_person("a", {"ssn": "900-00-0001"})
    journal = _journal(None, "a")
    info = sandbox.info
    write_config(Path.home(), "[profiles.default]\n")
    settings, _ = load_profile()
    request = PurgeRequest(("ssn",), None, rate=1000, verify_rate=1000)
    run = _Purge(request, settings, cast("Any", None), cast("Any", None), None)

    async def go() -> Any:
        async with (
            client.build_async_track_client(info.track_url, info.site_id, info.track_api_key) as t,
            client.build_async_app_client(info.app_url, "not-the-key") as a,
        ):
            app = paced_app_api(a, app_limiter(1000))
            return await run._send_and_verify(journal, _trail(tmp_path), app, t)

    error, signal = asyncio.run(go())
    assert isinstance(error, CredentialRejectedError)
    assert signal is None
    assert journal.counts().purged == 1


def test_a_policy_that_does_not_load_adds_no_note(tmp_path: Path) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text("[rules\n")
    write_config(Path.home(), f'[profiles.default]\nsanitize_policy = "{bad}"\n')
    settings, _ = load_profile()
    run = _Purge(PurgeRequest(("x",), None), settings, cast("Any", None), cast("Any", None), None)
    assert run._outside_policy() == ()


def test_a_journal_without_its_meta_table_is_listed_as_damaged(tmp_path: Path) -> None:
    write_config(Path.home(), "[profiles.default]\n")
    settings, _ = load_profile()
    directory = settings.state_dir / "purges"
    directory.mkdir(parents=True)
    path = directory / "0123456789abcdef.sqlite"
    _journal(path, "a").close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE meta")
    (job,) = status(PurgeStatusRequest(), settings).jobs
    assert job.status == "damaged"


def test_a_full_disk_is_a_journal_error_naming_the_file(tmp_path: Path) -> None:
    with full_filesystem(tmp_path / "full", size_kib=256) as mount:
        path = mount / "purges" / "job.sqlite"
        journal = _journal(path, "a")
        fill(mount)
        targets = [
            Target("id", f"p-{n:06d}-{'x' * 100}", "id", f"s{n}", ("ssn",)) for n in range(5000)
        ]
        with pytest.raises(JournalError, match=r"job\.sqlite"):
            journal.load(targets, {})
        assert journal.counts().people == 1  # rolled back: the committed state is intact
        journal.close()
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(JournalError, match="cannot use the job journal"):
        PurgeJournal.open(blocked / "job.sqlite")
