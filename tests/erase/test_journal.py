"""The job journal: loading with deduplication, outcomes, purge of plaintext, the lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cio_sec.erase.inputs import IdType, Row
from cio_sec.erase.journal import (
    TO_DELETE,
    JobLock,
    Journal,
    Outcome,
)
from cio_sec.errors import ConfigError
from cio_sec.pseudonym import PseudonymKey

KEY = PseudonymKey(b"k" * 32)


def _rows(*values: tuple[str, IdType]) -> list[Row]:
    return [Row(n, value, kind) for n, (value, kind) in enumerate(values, start=1)]


def test_duplicates_load_once_emails_case_insensitively(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.sqlite")
    rows = _rows(
        ("Ann@Example.com", IdType.EMAIL),
        ("ann@example.COM", IdType.EMAIL),
        ("42", IdType.ID),
        ("42", IdType.ID),
        ("42", IdType.CIO_ID),
        ("Ab", IdType.ID),
        ("ab", IdType.ID),
    )
    assert "loaded" not in journal.meta()
    assert journal.load(rows, KEY, {"invalid": 3}) == 5
    assert journal.loaded
    assert journal.meta()["people"] == "5"
    counts = journal.counts()
    assert (counts.people, counts.invalid, counts.left) == (5, 3, 5)
    journal.close()


def test_outcomes_move_people_through_their_stages(tmp_path: Path) -> None:
    journal = Journal.open(None)
    journal.load(_rows(("a", IdType.ID), ("b", IdType.ID), ("c", IdType.ID)), KEY, {})
    journal.record([])
    first, second, third = journal.pending(0, 10)
    journal.record(
        [
            Outcome(first.n, "suppress", True, 200, None, 1),
            Outcome(second.n, "suppress", False, 400, "HTTP 400 Bad Request", 1),
            Outcome(third.n, "suppress", True, 200, None, 2),
            Outcome(third.n, "delete", True, 200, None, 1),
        ]
    )
    assert [(p.identifier, p.stage) for p in journal.pending(0, 10)] == [("a", TO_DELETE)]
    assert journal.pending(first.n, 10) == []
    counts = journal.counts()
    assert (counts.erased, counts.failed, counts.left) == (1, 1, 1)
    (failed,) = journal.failed()
    assert failed.to_json() == {
        "subject": KEY.pseudonym("b"),
        "id_type": "id",
        "action": "suppress",
        "status": 400,
        "reason": "HTTP 400 Bad Request",
    }
    records = {(r.n, r.action): r for r in journal.unaudited()}
    assert set(records) == {(1, "suppress"), (2, "suppress"), (3, "suppress"), (3, "delete")}
    assert records[(2, "suppress")].outcome == "failed"
    assert records[(1, "suppress")].reason is None
    journal.mark_audited([(1, "suppress"), (2, "suppress"), (3, "bogus")])
    assert {(r.n, r.action) for r in journal.unaudited()} == {(3, "suppress"), (3, "delete")}
    assert journal.subjects()[("id", KEY.pseudonym("c"))] == third.n


def test_a_failed_delete_is_reported_as_such() -> None:
    journal = Journal.open(None)
    journal.load(_rows(("a", IdType.ID)), KEY, {})
    (person,) = journal.pending(0, 1)
    journal.record(
        [
            Outcome(person.n, "suppress", True, 200, None, 1),
            Outcome(person.n, "delete", False, 404, "HTTP 404 Not Found", 1),
        ]
    )
    (failed,) = journal.failed()
    assert (failed.action, failed.status) == ("delete", 404)


def test_purge_leaves_no_plaintext_in_any_file(tmp_path: Path) -> None:
    path = tmp_path / "jobs" / "j.sqlite"
    journal = Journal.open(path)
    values = [f"plain-{n:05d}@example.com" for n in range(2000)]
    journal.load(_rows(*((v, IdType.EMAIL) for v in values)), KEY, {})
    journal.record([Outcome(p.n, "suppress", True, 200, None, 1) for p in journal.pending(0, 5000)])
    assert b"plain-" in b"".join(p.read_bytes() for p in path.parent.iterdir())
    journal.purge()
    journal.close()
    data = b"".join(p.read_bytes() for p in path.parent.iterdir())
    assert b"plain-" not in data
    reopened = Journal.open(path)
    assert reopened.meta()["purged"] == "1"
    assert reopened.counts().people == 2000
    reopened.close()


def test_a_killed_load_is_not_a_loaded_journal(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.sqlite")

    def rows() -> object:
        yield Row(1, "a", IdType.ID)
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        journal.load(rows(), KEY, {})  # type: ignore[arg-type]
    assert not journal.loaded
    assert journal.counts().people == 0


def test_an_unusable_journal_path_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(ConfigError, match="cannot open the job journal"):
        Journal.open(tmp_path / "dir.sqlite")


def test_the_lock_names_the_process_holding_it(tmp_path: Path) -> None:
    path = tmp_path / "jobs" / "job.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from cio_sec.erase.journal import JobLock;"
            "JobLock(Path(sys.argv[1])).acquire('job'); print('held', flush=True); time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert not JobLock(path).is_held()  # no lock file yet: nobody runs the job
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        assert JobLock(path).is_held()
        with pytest.raises(ConfigError, match=f"already running in process {holder.pid}"):
            JobLock(path).acquire("job")
    finally:
        holder.kill()
        holder.communicate()
    assert not JobLock(path).is_held()  # the kernel dropped the dead holder's lock
    lock = JobLock(path)
    lock.acquire("job")  # a killed holder's lock is free again
    lock.release()
    lock.release()


def test_large_loads_are_inserted_in_chunks() -> None:
    journal = Journal.open(None)
    assert journal.load((Row(n, f"v{n}", IdType.ID) for n in range(12_001)), KEY, {}) == 12_001
    assert len(journal.pending(0, 20_000)) == 12_001
