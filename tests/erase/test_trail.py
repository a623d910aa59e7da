"""Erase records in the trail: one per outcome, also after a run killed between the two."""

from __future__ import annotations

import getpass
from collections import Counter
from pathlib import Path

import pytest

from cio_sec.erase import job
from cio_sec.erase.inputs import IdType, Row
from cio_sec.erase.journal import Journal, Outcome
from cio_sec.erase.trail import JobTrail, TrailRecorder, reconcile
from cio_sec.pseudonym import PseudonymKey
from cio_sec.trail import TrailWriter, read_lines, verify_chain

KEY = PseudonymKey(b"k" * 32)


def _journal(count: int) -> Journal:
    journal = Journal.open(None)
    journal.load([Row(n, f"p{n}", IdType.ID) for n in range(count)], KEY, {})
    return journal


def _actions(path: Path) -> Counter[tuple[str, str]]:
    return Counter(
        (line.record["subject"], line.record["action"])
        for line in read_lines(path)
        if line.record and line.record["type"] == "action"
    )


def test_reconcile_writes_only_what_the_trail_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    journal = _journal(4)
    *people, last = journal.pending(0, 10)
    outcomes = [Outcome(p.n, "suppress", True, 200, None, 1) for p in people]
    trail = JobTrail(TrailWriter(path, KEY), "job1", "T-1")
    recorder = TrailRecorder(journal, trail)
    recorder.add([last], [Outcome(last.n, "suppress", True, 200, None, 1)])
    recorder.flush()  # recorded and marked: nothing to reconcile for this one
    # A run wrote the first person's record, then was killed before marking it audited;
    # the other two outcomes were committed but never reached the trail.
    journal.record(outcomes)
    trail.actions(list(journal.unaudited())[:1])
    other = JobTrail(TrailWriter(path, KEY), "job2", None)
    other.actions(list(journal.unaudited())[1:2])  # another job's record does not count
    assert reconcile(journal, trail) == 2
    assert list(journal.unaudited()) == []
    assert reconcile(journal, trail) == 0
    counts = Counter(
        (line.record["subject"], line.record["job"])
        for line in read_lines(path)
        if line.record and line.record["type"] == "action"
    )
    assert counts == {
        (KEY.pseudonym("p0"), "job1"): 1,
        (KEY.pseudonym("p1"), "job1"): 1,
        (KEY.pseudonym("p2"), "job1"): 1,
        (KEY.pseudonym("p3"), "job1"): 1,
        (KEY.pseudonym("p1"), "job2"): 1,
    }
    assert verify_chain(path, {KEY.key_id: KEY}).ok


def test_reconcile_after_a_restart_ignores_the_earlier_runs_records(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    journal = _journal(1)
    earlier = TrailRecorder(journal, JobTrail(TrailWriter(path, KEY), "job1", "T-1", run="r1"))
    (person,) = journal.pending(0, 5)
    earlier.add([person], [Outcome(person.n, "suppress", True, 200, None, 1)])
    earlier.flush()
    (person,) = journal.pending(0, 5)
    earlier.add([person], [Outcome(person.n, "delete", False, 400, "HTTP 400", 1)])
    earlier.flush()
    # --restart: the job starts over in a new journal; both outcomes are committed, then
    # the run is killed before they reach the trail.
    journal = _journal(1)
    (person,) = journal.pending(0, 5)
    journal.record([Outcome(person.n, "suppress", True, 200, None, 1)])
    journal.record([Outcome(person.n, "delete", True, 200, None, 1)])
    assert reconcile(journal, JobTrail(TrailWriter(path, KEY), "job1", "T-1", run="r2")) == 2
    actions = [
        (line.record["run"], line.record["action"], line.record["outcome"])
        for line in read_lines(path)
        if line.record and line.record["type"] == "action"
    ]
    assert actions == [
        ("r1", "suppress", "done"),
        ("r1", "delete", "failed"),
        ("r2", "suppress", "done"),
        ("r2", "delete", "done"),
    ]


def test_reconcile_without_a_trail_writes_everything(tmp_path: Path) -> None:
    journal = _journal(2)
    journal.record(
        [Outcome(p.n, "suppress", False, 400, "HTTP 400", 1) for p in journal.pending(0, 5)]
    )
    trail = JobTrail(TrailWriter(tmp_path / "new" / "audit.jsonl", KEY), "job", None)
    assert reconcile(journal, trail) == 2
    assert set(_actions(trail.log.path).values()) == {1}


def test_the_recorder_commits_then_records_then_reports(tmp_path: Path) -> None:
    journal = _journal(2)
    seen: list[tuple[int, int]] = []
    trail = JobTrail(TrailWriter(tmp_path / "audit.jsonl", KEY), "job", None)
    recorder = TrailRecorder(
        journal, trail, lambda tally: seen.append((tally.erased, tally.failed))
    )
    recorder.flush()
    first, second = journal.pending(0, 5)
    recorder.add(
        [first, first, second],
        [
            Outcome(first.n, "suppress", True, 200, None, 1),
            Outcome(first.n, "delete", True, 200, None, 1),
            Outcome(second.n, "suppress", False, 404, "HTTP 404", 1),
        ],
    )
    recorder.flush()
    assert seen == [(1, 1)]
    assert list(journal.unaudited()) == []
    assert sum(_actions(trail.log.path).values()) == 3
    assert trail.last_hash is not None


def test_the_operator_falls_back_to_the_uid(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_user() -> str:
        raise OSError("no user name")

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert job.operator().split("@")[0].isdigit()
