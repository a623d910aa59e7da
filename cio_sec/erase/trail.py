"""Erase records in the audit trail, and the recorder that commits outcomes before them.

Exactly one ``action`` record per person and action that reached a final outcome, and one
``verification`` record per person and read-back outcome, even across a killed run: the
journal marks each outcome ``audited`` once its record is in the trail, and a resumed run
first matches unmarked outcomes against the trail's records of the same run of the job,
writing only the missing ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cio_sec.erase.journal import ActionRecord, Journal, Outcome, Person, VerifyRecord
from cio_sec.trail.records import read_lines
from cio_sec.trail.writer import TrailWriter

_GROUP = 500


@dataclass
class JobTrail:
    """Writes one job's records to the trail."""

    log: TrailWriter
    job: str
    ticket: str | None
    run: str | None = None
    """The journal's run id: new for every start of the job (``--restart`` included)."""
    last_hash: str | None = None

    def _append(self, entries: Sequence[Mapping[str, Any]]) -> None:
        written = self.log.append(entries)
        self.last_hash = str(written[-1]["hash"])

    def start(self, fields: Mapping[str, object]) -> None:
        """The ``job-start`` record."""
        self._append([{"type": "job-start", "job": self.job, "ticket": self.ticket, **fields}])

    def end(self, status: str, counts: Mapping[str, int], duration_s: float) -> None:
        """The ``job-end`` record."""
        entry = {
            "type": "job-end",
            "job": self.job,
            "ticket": self.ticket,
            "status": status,
            "counts": dict(counts),
            "duration_s": round(duration_s, 3),
        }
        self._append([entry])

    def actions(self, records: Sequence[ActionRecord]) -> None:
        """``action`` records, appended (and fsync'd) in groups."""
        for start in range(0, len(records), _GROUP):
            self._append([self._action(record) for record in records[start : start + _GROUP]])

    def verifications(self, records: Sequence[VerifyRecord]) -> None:
        """``verification`` records (read-back outcomes), appended in groups."""
        for start in range(0, len(records), _GROUP):
            self._append([self._verification(r) for r in records[start : start + _GROUP]])

    def _verification(self, record: VerifyRecord) -> dict[str, object]:
        return {
            "type": "verification",
            "job": self.job,
            "ticket": self.ticket,
            "run": self.run,
            "subject": record.subject,
            "id_type": record.id_type,
            "outcome": record.outcome,
            "reason": record.reason,
            "checks": record.checks,
            "at": record.at,
        }

    def _action(self, record: ActionRecord) -> dict[str, object]:
        return {
            "type": "action",
            "job": self.job,
            "ticket": self.ticket,
            "run": self.run,
            "subject": record.subject,
            "id_type": record.id_type,
            "action": record.action,
            "outcome": record.outcome,
            "status": record.status,
            "reason": record.reason,
            "attempts": record.attempts,
        }


def reconcile(journal: Journal, trail: JobTrail) -> int:
    """Write the outcomes a killed run committed but may not have recorded; returns how many.

    Raises:
        ConfigError: the trail cannot be read or written.
    """
    pending = list(journal.unaudited())
    checks = list(journal.unaudited_checks())
    if not (pending or checks):
        return 0
    wanted = {_key(r) for r in pending} | {_check_key(r) for r in checks}
    recorded = _recorded(trail.log.path, trail.job, trail.run, wanted)
    missing = [r for r in pending if _key(r) not in recorded]
    missing_checks = [r for r in checks if _check_key(r) not in recorded]
    trail.actions(missing)
    trail.verifications(missing_checks)
    journal.mark_audited((r.n, r.action) for r in pending)
    journal.mark_checks_audited(r.n for r in checks)
    return len(missing) + len(missing_checks)


_VERIFY = "verify"


def _key(record: ActionRecord) -> tuple[str, str, str]:
    return (record.subject, record.id_type, record.action)


def _check_key(record: VerifyRecord) -> tuple[str, str, str]:
    # NOTE: one read-back outcome per person and run, whichever it is.
    return (record.subject, record.id_type, _VERIFY)


def _recorded(
    path: Path, job: str, run: str | None, wanted: set[tuple[str, str, str]]
) -> set[tuple[str, str, str]]:
    """Which of the wanted outcomes the trail holds for this run of this job.

    Records of an earlier run (before ``--restart``) are other outcomes and do not count.

    Only the wanted ones (at most a flush's worth) are kept, so memory stays flat however
    long the trail is.
    """
    if not path.exists():
        return set()
    found = set()
    for line in read_lines(path):
        record = line.record
        if (
            record is None
            or record.get("type") not in ("action", "verification")
            or record.get("job") != job
            or record.get("run") != run
        ):
            continue
        action = record.get("action") if record.get("type") == "action" else _VERIFY
        key = (str(record.get("subject")), str(record.get("id_type")), str(action))
        if key in wanted:
            found.add(key)
    return found


@dataclass
class Tally:
    """Running counts the progress display shows."""

    erased: int = 0
    failed: int = 0


@dataclass
class TrailRecorder:
    """Commits outcomes to the journal, then the trail, then reports them (in that order)."""

    journal: Journal
    trail: JobTrail
    on_progress: Callable[[Tally], None] = lambda tally: None
    tally: Tally = field(default_factory=Tally)
    _people: list[Person] = field(default_factory=list)
    _outcomes: list[Outcome] = field(default_factory=list)

    def add(self, people: Sequence[Person], outcomes: Sequence[Outcome]) -> None:
        """Take outcomes for the next flush."""
        self._people.extend(people)
        self._outcomes.extend(outcomes)

    def flush(self) -> None:
        """Journal commit, trail append, audited mark, progress: nothing reported uncommitted."""
        people, outcomes = self._people, self._outcomes
        self._people, self._outcomes = [], []
        if not outcomes:
            return
        self.journal.record(outcomes)
        self.trail.actions(list(_records(people, outcomes)))
        self.journal.mark_audited((o.n, o.action) for o in outcomes)
        for outcome in outcomes:
            if not outcome.done:
                self.tally.failed += 1
            elif outcome.action == "delete":
                self.tally.erased += 1
        self.on_progress(self.tally)


def _records(people: Sequence[Person], outcomes: Sequence[Outcome]) -> Iterable[ActionRecord]:
    for person, outcome in zip(people, outcomes, strict=True):
        yield ActionRecord(
            outcome.n,
            person.subject,
            person.id_type.value,
            outcome.action,
            "done" if outcome.done else "failed",
            outcome.status,
            outcome.reason,
            outcome.attempts,
        )
