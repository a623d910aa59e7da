"""Read-backs: the schedule, the recorder, reconciling a killed run, the verifier's edges.

The verifier runs against the sandbox over real HTTP; only time and the journal's state are
arranged by hand.
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec import client
from cio_sec.erase.inputs import IdType, Row
from cio_sec.erase.journal import (
    STILL_PRESENT,
    UNVERIFIED,
    VERIFIED,
    Check,
    Journal,
    Outcome,
)
from cio_sec.erase.journal.schema import SCHEMA
from cio_sec.erase.ratelimit import RateLimiter
from cio_sec.erase.recheck import RecheckReport, RecheckRequest, recheck, upper_bound
from cio_sec.erase.trail import JobTrail, reconcile
from cio_sec.erase.verify import (
    Verifier,
    VerifyRecorder,
    VerifyResult,
    VerifySettings,
    next_check,
    paced_app_api,
)
from cio_sec.errors import ExitCode, InputError
from cio_sec.pseudonym import PseudonymKey, load_keys
from cio_sec.render import Streams, register_renderers, render_text
from cio_sec.sandbox import Faults, Sandbox
from cio_sec.settings import CliFlags, load_settings
from cio_sec.trail import TrailWriter, read_lines
from tests.support.apps import load_profile

KEY = PseudonymKey(b"k" * 32)


def _erased(values: list[str], path: Path | None = None) -> Journal:
    journal = Journal.open(path)
    rows = [Row(n, value, IdType.ID) for n, value in enumerate(values, start=1)]
    journal.load(rows, KEY, {"job": "j"})
    people = journal.pending(0, len(values))
    journal.record([Outcome(p.n, "suppress", True, 200, None, 1) for p in people])
    journal.record([Outcome(p.n, "delete", True, 200, None, 1) for p in people])
    return journal


@given(
    first=st.floats(0, 1e6),
    elapsed=st.floats(0, 2000),
    checks=st.integers(1, 40),
    window=st.floats(0, 86400),
)
def test_read_backs_never_outlast_the_window_and_intervals_grow(
    first: float, elapsed: float, checks: int, window: float
) -> None:
    now = first + elapsed
    again = next_check(first, now, checks, window)
    if now >= first + window:
        assert again is None
    else:
        assert again is not None
        assert now < again <= first + window
        assert again - now <= 60.0 + 1e-9  # a minute apart at most (float sums)
        later = next_check(first, now, checks + 1, window)
        assert later is not None
        assert later >= again


@pytest.mark.parametrize(("checked", "bound"), [(1, 0.95), (10, 0.2589), (300, 0.00994)])
def test_the_sample_bound(checked: int, bound: float) -> None:
    assert upper_bound(checked) == pytest.approx(bound, abs=1e-4)
    assert upper_bound(0) is None


def test_reconcile_writes_the_read_back_outcomes_a_killed_run_left_out(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    journal = _erased(["a", "b", "c"])
    trail = JobTrail(TrailWriter(path, KEY), "j", None, run="r1")
    reconcile(journal, trail)  # the action records
    journal.record_checks([])
    journal.record_checks(
        [Check(n, 1, 0.0, VERIFIED, at="2026-12-07T00:00:00.000000Z") for n in (1, 2, 3)]
    )
    trail.verifications(list(journal.unaudited_checks())[:1])  # killed before the mark
    assert reconcile(journal, trail) == 2
    assert list(journal.unaudited_checks()) == []
    written = Counter(
        line.record["subject"]
        for line in read_lines(path)
        if line.record and line.record["type"] == "verification"
    )
    assert written == {KEY.pseudonym(v): 1 for v in ("a", "b", "c")}


def test_an_old_journal_gets_the_read_back_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)  # a journal written before read-backs existed
        db.execute("INSERT INTO people (id_type, subject, stage) VALUES ('id', 's', 2)")
    db.close()
    journal = Journal.open(path)
    assert journal.verify_pending() == 1
    assert journal.counts().to_verify == 1
    journal.close()


def _verify(
    sandbox: Sandbox,
    journal: Journal,
    trail: JobTrail,
    *,
    window: float,
    identifiers: dict[int, str] | None = None,
) -> tuple[Verifier, VerifyResult]:
    async def run() -> tuple[Verifier, VerifyResult]:
        info = sandbox.info
        async with client.build_async_app_client(info.app_url, info.app_api_key) as http:
            limiter = RateLimiter(200)
            verifier = Verifier(
                journal,
                paced_app_api(http, limiter),
                VerifyRecorder(journal, trail),
                VerifySettings(rate=200, window=window),
                identifiers=identifiers,
            )
            done = asyncio.Event()
            done.set()
            return verifier, await verifier.run(done)

    return asyncio.run(run())


def test_a_refused_id_type_is_final_at_once_and_a_missing_identifier_unverified(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.add_person("p-1")
    journal = Journal.open(None)
    rows = [Row(1, "x@y.com", IdType.EMAIL), Row(2, "p-1", IdType.ID)]
    journal.load(rows, KEY, {})
    for person in journal.pending(0, 10):
        journal.record([Outcome(person.n, "delete", True, 200, None, 1)])
    journal.purge()  # a completed job: no identifiers any more
    trail = JobTrail(TrailWriter(tmp_path / "audit.jsonl", KEY), "j", None)
    sandbox.set_faults(Faults(error_rate=1.0, error_status=400))
    _verify(sandbox, journal, trail, window=30.0, identifiers={1: "x@y.com"})
    outcomes = {
        line.record["id_type"]: (
            line.record["outcome"],
            line.record["checks"],
            line.record["reason"],
        )
        for line in read_lines(trail.log.path)
        if line.record and line.record["type"] == "verification"
    }
    assert outcomes["email"][:2] == (UNVERIFIED, 1)  # a 400 does not change by asking again
    assert outcomes["id"][0] == UNVERIFIED
    assert "no longer in the journal" in outcomes["id"][2]


def test_429s_slow_the_read_backs_down(sandbox: Sandbox, tmp_path: Path) -> None:
    values = [f"t-{n}" for n in range(6)]
    for value in values:
        sandbox.add_person(value)
    journal = _erased(values)
    sandbox.set_faults(Faults(throttle_rate=0.5, retry_after=0, seed=3))
    trail = JobTrail(TrailWriter(tmp_path / "audit.jsonl", KEY), "j", None)
    verifier, _ = _verify(sandbox, journal, trail, window=0.0)
    assert verifier.checks_made >= 6
    assert journal.counts().still_present + journal.counts().unverified == 6


def test_a_stop_keeps_what_was_read_back(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = _erased(["s-1"])
    trail = JobTrail(TrailWriter(tmp_path / "audit.jsonl", KEY), "j", None)

    async def run() -> VerifyResult:
        verifier = Verifier(journal, None, VerifyRecorder(journal, None), VerifySettings())
        verifier.request_stop("terminated")
        verifier.request_stop("interrupted")  # the first reason stands
        return await verifier.run(asyncio.Event())

    result = asyncio.run(run())
    assert result.signal == "terminated"
    assert journal.counts().to_verify == 1
    assert trail.last_hash is None


def test_a_stopped_recheck_says_how_to_go_on() -> None:
    report = RecheckReport(
        "j", 5, 5, False, {VERIFIED: 2, STILL_PRESENT: 0, UNVERIFIED: 0}, (), True, True
    )
    assert report.exit_code == ExitCode.INTERRUPTED
    assert RecheckReport("j", 5, 5, False, report.outcomes, (), False, True).exit_code == 5
    out, err = io.StringIO(), io.StringIO()
    register_renderers()
    render_text(report, Streams(out, err, color=False))
    assert "run the same command again" in err.getvalue()


def test_recheck_refuses_an_unfinished_job_and_a_bad_sample(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings, opener = load_profile()
    jobs = settings.state_dir / "jobs"
    journal = Journal.open(jobs / "unfinished.sqlite")
    journal.load([Row(1, "u-1", IdType.ID)], KEY, {"job": "unfinished"})
    journal.close()
    with pytest.raises(InputError, match="not finished"):
        recheck(RecheckRequest("unfinished"), settings, opener)
    with pytest.raises(InputError, match="at least 1"):
        recheck(RecheckRequest("unfinished", sample=0), settings, opener)


def test_recheck_reads_identifiers_from_a_journal_not_yet_purged(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings, opener = load_profile()
    key = load_keys(settings, opener, create=True).current
    journal = Journal.open(settings.state_dir / "jobs" / "kept.sqlite")
    journal.load([Row(1, "k-1", IdType.ID)], key, {"job": "kept", "invalid": 0})
    journal.record([Outcome(1, "delete", True, 200, None, 1)])
    journal.record_checks([Check(1, 1, 0.0, UNVERIFIED, reason="skipped")])
    journal.close()
    report = recheck(RecheckRequest("kept", window=0.0), settings, opener)
    assert report.outcomes[VERIFIED] == 1
    assert report.exit_code == ExitCode.OK


def test_a_verify_rate_outside_its_bounds_is_refused_with_its_line(tmp_path: Path) -> None:
    text = "[profiles.default]\nverify_rate = 5000\n"
    with pytest.raises(InputError, match=r"between 0\.1 and 1000") as caught:
        load_settings(CliFlags(), {"HOME": str(tmp_path)}, cwd=tmp_path, config_text=text)
    assert caught.value.line == 2
    text = "[profiles.default]\nverify_rate = 2.5\n"
    settings = load_settings(CliFlags(), {"HOME": str(tmp_path)}, cwd=tmp_path, config_text=text)
    assert settings.verify_rate == 2.5
