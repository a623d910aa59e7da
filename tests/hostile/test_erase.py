"""Erase against hostile surroundings: a full disk under its journal, damaged journals,
files that are not journals, and identifiers that are not text a person could type.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cio_sec.client import build_async_track_client
from cio_sec.erase.engine import Engine, EngineSettings, Recorder
from cio_sec.erase.inputs import IdType, InputSpec, Row, read_input
from cio_sec.erase.journal import Journal, Outcome, Person
from cio_sec.erase.ratelimit import RateLimiter
from cio_sec.erase.supervisor import EngineResult
from cio_sec.errors import ConfigError, ExitCode
from cio_sec.pseudonym import PseudonymKey
from cio_sec.sandbox import Sandbox
from cio_sec.trail import read_lines, verify_chain
from tests.conftest import CANARY
from tests.support.cli import CliHarness
from tests.support.hostile import fill, full_filesystem

pytestmark = pytest.mark.slow

KEY = PseudonymKey.from_text(CANARY)


def _profile(**values: object) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "cio-sec"
    config.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{name} = {json.dumps(value)}\n" for name, value in values.items())
    (config / "config.toml").write_text(f"[profiles.default]\n{lines}")


def _ids(count: int, name: str = "ids.csv", sandbox: Sandbox | None = None) -> Path:
    """An ids file; with a sandbox, of people who exist there (read-backs then prove it)."""
    path = Path(name)
    values = [f"{path.stem}-{n:04d}" for n in range(count)]
    if sandbox is not None:
        for value in values:
            sandbox.add_person(value)
    path.write_text("id\n" + "".join(f"{value}\n" for value in values))
    return path


def _jobs() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "cio-sec" / "jobs"


# --------------------------------------------------------------------------- a full disk


def test_a_full_disk_under_the_journal_stops_with_exit_3_and_resumes(
    run_cli: CliHarness,
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trail = tmp_path / "audit.jsonl"
    _profile(audit_log=str(trail), rate=1000, verify_rate=1000)
    ids = _ids(400, sandbox=sandbox)
    with full_filesystem(tmp_path / "disk", size_kib=2048) as disk:
        monkeypatch.setenv("XDG_STATE_HOME", str(disk))
        fill(disk, leave=160 * 1024)
        first = run_cli("erase", "--file", str(ids), "--yes", expect=ExitCode.CONFIG)
        journal = next((disk / "cio-sec" / "jobs").glob("*.sqlite"))
        assert f"error: cannot use the job journal {journal}: database or disk is full" in (
            first.stderr
        )
        assert "Traceback" not in first.stderr

        (disk / ".filler").unlink()
        done = run_cli("erase", "--file", str(ids), "--yes", "-f", "json")
        assert done.json["status"] == "completed"
        assert done.json["counts"]["erased"] == 400
    actions = [
        line.record for line in read_lines(trail) if line.record and line.record["type"] == "action"
    ]
    assert len(actions) == 800  # nothing lost, nothing twice
    assert set(Counter((a["subject"], a["action"]) for a in actions).values()) == {1}
    assert verify_chain(trail, {KEY.key_id: KEY}).ok


# --------------------------------------------------------------------------- damaged journals


def _finished_job(run_cli: CliHarness, name: str) -> Path:
    """Run a small job to its end; its journal stays (purged of identifiers)."""
    ids = _ids(3, name)
    job = run_cli("erase", "--file", str(ids), "--yes", "-f", "json").json["job"]
    return _jobs() / f"{job}.sqlite"


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (
            "DROP TABLE meta; CREATE TABLE meta (name TEXT)",
            "is damaged: table meta lacks column(s) key, value",
        ),
        ("ALTER TABLE people DROP COLUMN delete_audited", "lacks column(s) delete_audited"),
        ("UPDATE meta SET value = 'many' WHERE key = 'invalid'", "invalid literal for int()"),
    ],
    ids=["meta-replaced", "column-missing", "meta-value"],
)
def test_a_damaged_journal_is_a_clear_error_naming_the_file(
    run_cli: CliHarness, sandbox: Sandbox, damage: str, problem: str
) -> None:
    journal = _finished_job(run_cli, "damaged.csv")
    healthy = _finished_job(run_cli, "healthy.csv")
    with sqlite3.connect(journal) as db:
        db.executescript(damage)
    rerun = run_cli("erase", "--file", "damaged.csv", "--yes", expect=ExitCode.CONFIG)
    assert f"error: the job journal {journal} " in rerun.stderr
    assert problem in rerun.stderr
    assert "--restart" in rerun.stderr

    status = run_cli("erase", "--status", "-f", "json", expect=ExitCode.CONFIG)
    listed = {Path(job["journal"]): job for job in status.json["jobs"]}
    assert listed[healthy]["status"] == "completed"
    assert listed[healthy]["problem"] is None
    assert listed[journal]["status"] == "damaged"
    assert problem in listed[journal]["problem"]

    restarted = run_cli("erase", "--file", "damaged.csv", "--yes", "--restart", "-f", "json")
    assert restarted.json["status"] == "completed"


def test_a_person_the_journal_cannot_hold_stops_the_job_at_once(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    journal = _finished_job(run_cli, "damaged.csv")
    with sqlite3.connect(journal) as db:
        db.execute("UPDATE people SET id_type = 'phone', stage = 0")
    sandbox.clear_requests()
    rerun = run_cli("erase", "--file", "damaged.csv", "--yes", expect=ExitCode.CONFIG)
    assert f"error: the job journal {journal} is damaged: 'phone' is not a valid IdType" in (
        rerun.stderr
    )
    assert [r.method for r in sandbox.requests()] == ["GET"]  # the region lookup only


def test_files_that_are_not_journals_do_not_hide_the_others(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    healthy = _finished_job(run_cli, "healthy.csv")
    foreign = _jobs() / "notes.sqlite"
    foreign.write_text("these are not the journals you are looking for\n" * 20)
    dangling = _jobs() / "gone.sqlite"
    dangling.symlink_to(_jobs() / "nowhere")
    empty = _jobs() / "killed-early.sqlite"
    empty.touch()

    status = run_cli("erase", "--status", expect=ExitCode.CONFIG)
    assert healthy.stem in status.stdout
    assert f"error: the job journal {foreign} is damaged: file is not a database" in (status.stderr)
    assert f"cannot read {dangling}: No such file or directory" in status.stderr
    doc = run_cli("erase", "--status", "-f", "json", expect=ExitCode.CONFIG).json
    assert doc["ok"] is False
    assert {job["job"]: job["status"] for job in doc["jobs"]} == {
        healthy.stem: "completed",
        "notes": "damaged",
        "gone": "damaged",
        "killed-early": "empty",
    }
    # --status only reads: the empty file stays empty, and no WAL files appear beside it.
    assert empty.stat().st_size == 0
    assert not list(_jobs().glob("killed-early.sqlite-*"))
    assert foreign.read_text().startswith("these are not")


def test_status_of_an_empty_journal_alone_is_fine(run_cli: CliHarness) -> None:
    _jobs().mkdir(parents=True)
    (_jobs() / "abc.sqlite").touch()
    doc = run_cli("erase", "--status", "abc", "-f", "json").json
    assert [(job["job"], job["status"]) for job in doc["jobs"]] == [("abc", "empty")]
    assert (_jobs() / "abc.sqlite").stat().st_size == 0


# --------------------------------------------------------------------------- hostile input


def test_invalid_utf8_is_reported_on_the_line_that_holds_it(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    Path("ids.csv").write_bytes(b'name,id\nann,a-1\n"two\nlines",b-\xff2\nbob,b-3\n')
    out = run_cli("erase", "--file", "ids.csv", "--yes", expect=ExitCode.USAGE)
    assert "error: ids.csv:4: not valid UTF-8" in out.stderr
    Path("ids.csv").write_bytes(b'id\nok-1\n"b-\n\xff"\nok-2\n')
    out = run_cli("erase", "--file", "ids.csv", "--yes", expect=ExitCode.USAGE)
    assert "error: ids.csv:4: not valid UTF-8" in out.stderr
    assert [r.path for r in sandbox.requests()] == []


def test_control_characters_in_ids_are_refused_at_their_line(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    sandbox.add_person("ok-1")
    sandbox.add_person("ok-2")
    Path("ids.csv").write_bytes(b"id\nok-1\nnul\x00id\nesc\x1b[31mred\nok-2\n")
    out = run_cli("erase", "--file", "ids.csv", "--yes", expect=ExitCode.USAGE)
    assert "error: ids.csv:3: 2 invalid rows: line 3: contains a control character (U+0000)" in (
        out.stderr
    )
    assert "line 4: contains a control character (U+001B)" in out.stderr
    assert "\x1b" not in out.stderr
    assert sandbox.requests() == []

    skipped = run_cli("erase", "--file", "ids.csv", "--yes", "--skip-invalid", "-f", "json")
    assert skipped.json["counts"] == {
        "people": 2,
        "erased": 2,
        "failed": 0,
        "invalid": 2,
        "left": 0,
        "verified": 2,
        "still_present": 0,
        "unverified": 0,
        "to_verify": 0,
    }
    erasing = {r.path for r in sandbox.requests() if r.method != "GET"}
    assert all("%00" not in path and "%1B" not in path for path in erasing)

    flag = run_cli("erase", "--id", "tab\there", "--yes", expect=ExitCode.USAGE)
    assert "error: --id:1: contains a control character (U+0009)" in flag.stderr


@settings(max_examples=100)
@given(
    before=st.text(max_size=5),
    control=st.characters(categories=["Cc"]),
    after=st.text(max_size=5),
)
def test_any_control_character_makes_an_id_invalid(before: str, control: str, after: str) -> None:
    value = f"x{before}{control}{after}x"
    summary = read_input(InputSpec(ids=(value,), id_type=IdType.ID, v1_paths=False))
    assert summary.rows == 0
    assert summary.invalid == 1


# --------------------------------------------------------------------------- the engine's own tasks


@dataclass
class BrokenRecorder:
    """Commits to the journal, then fails like a full trail would (or with a bug)."""

    journal: Journal
    error: Exception
    flushed: int = 0
    _outcomes: list[Outcome] = field(default_factory=list)

    def add(self, people: Sequence[Person], outcomes: Sequence[Outcome]) -> None:
        self._outcomes.extend(outcomes)

    def flush(self) -> None:
        outcomes, self._outcomes = self._outcomes, []
        if outcomes:
            self.journal.record(outcomes)
            self.flushed += len(outcomes)
            raise self.error


class BuggyJournal(Journal):
    """A journal whose pending people cannot be read because of a bug, not damage."""

    def pending(self, after: int, limit: int) -> list[Person]:
        raise RuntimeError("a bug in reading pending people")


def _engine_run(sandbox: Sandbox, journal: Journal, recorder: Recorder) -> EngineResult:
    info = sandbox.info

    async def main() -> EngineResult:
        async with build_async_track_client(
            info.track_url, info.site_id, info.track_api_key
        ) as client:
            engine = Engine(journal, client, RateLimiter(100), recorder, EngineSettings())
            return await engine.run()

    return asyncio.run(main())


def _loaded(journal: Journal, count: int) -> Journal:
    rows = (Row(n, f"p-{n}", IdType.ID) for n in range(1, count + 1))
    journal.load(rows, KEY, {})
    return journal


def test_a_flush_that_fails_stops_every_request_at_once(sandbox: Sandbox) -> None:
    journal = _loaded(Journal.open(None), 200)
    error = ConfigError("cannot write the audit trail: No space left on device")
    recorder = BrokenRecorder(journal, error)
    result = _engine_run(sandbox, journal, recorder)
    assert result.error is error
    sent = [r for r in sandbox.requests() if r.method != "GET"]
    # The first flush comes 0.2 s in, at 100 requests/s: far from all 400 are ever sent.
    assert 0 < len(sent) < 100
    assert journal.counts().left > 100  # the rest stays pending for the next run


def test_a_bug_in_the_flusher_or_the_producer_is_raised_not_swallowed(sandbox: Sandbox) -> None:
    journal = _loaded(Journal.open(None), 50)
    with pytest.raises(ZeroDivisionError):
        _engine_run(sandbox, journal, BrokenRecorder(journal, ZeroDivisionError()))
    buggy = _loaded(BuggyJournal.open(None), 1)
    with pytest.raises(RuntimeError, match="a bug in reading pending people"):
        _engine_run(sandbox, buggy, BrokenRecorder(buggy, ZeroDivisionError()))


def test_status_reads_a_journal_from_before_read_backs_without_changing_it(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    """A job journalled before verification existed is listed, not called damaged."""
    journal = _finished_job(run_cli, "old.csv")
    with sqlite3.connect(journal) as db:
        db.execute("DROP INDEX people_to_verify")
        for column in ("verify_outcome", "verify_reason", "verify_at", "verify_checks"):
            db.execute(f"ALTER TABLE people DROP COLUMN {column}")
    before = journal.read_bytes()
    status = run_cli("erase", "--status", "-f", "json").json
    (listed,) = status["jobs"]
    assert listed["status"] == "completed"
    assert listed["problem"] is None
    assert journal.read_bytes() == before
