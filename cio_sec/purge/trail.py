"""Purge records in the audit trail: action ``attribute-purge``, and read-back outcomes.

Exactly one ``action`` record per person that reached a final outcome and one
``verification`` record per read-back outcome, even across a killed run: the journal marks
each outcome ``audited`` once its record is in the trail, and a resumed run first matches
unmarked outcomes against the trail's records of the same run, writing only the missing
ones. Records carry the subject pseudonym and the attribute names, never a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cio_sec.purge.journal import Check, Outcome, Person, PurgeJournal
from cio_sec.trail.records import read_lines
from cio_sec.trail.writer import TrailWriter

ACTION = "attribute-purge"
_GROUP = 500


@dataclass
class PurgeTrail:
    """Writes one purge job's records to the trail."""

    log: TrailWriter
    job: str
    ticket: str | None
    run: str | None = None
    last_hash: str | None = None

    def _append(self, entries: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(entries), _GROUP):
            written = self.log.append(entries[start : start + _GROUP])
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

    def actions(self, taken: Sequence[tuple[Person, Outcome]]) -> None:
        """One ``action`` record per outcome."""
        self._append([self._action(person, outcome) for person, outcome in taken])

    def verifications(self, checked: Sequence[tuple[Person, Check]]) -> None:
        """One ``verification`` record per read-back outcome."""
        self._append([self._verification(person, check) for person, check in checked])

    def _common(self, person: Person) -> dict[str, object]:
        return {
            "job": self.job,
            "ticket": self.ticket,
            "run": self.run,
            "subject": person.subject,
            "id_type": person.subject_type,
            "action": ACTION,
            "attributes": list(person.attributes),
        }

    def _action(self, person: Person, outcome: Outcome) -> dict[str, object]:
        return {
            "type": "action",
            **self._common(person),
            "outcome": "done" if outcome.done else "failed",
            "status": outcome.status,
            "reason": outcome.reason,
            "attempts": outcome.attempts,
        }

    def _verification(self, person: Person, check: Check) -> dict[str, object]:
        return {
            "type": "verification",
            **self._common(person),
            "outcome": check.outcome,
            "reason": check.reason,
            "checks": 1,
            "at": check.at,
        }


def reconcile(journal: PurgeJournal, trail: PurgeTrail) -> int:
    """Write the outcomes a killed run committed but may not have recorded; returns how many.

    Raises:
        ConfigError: the trail cannot be read or written.
    """
    actions = journal.unaudited()
    checks = journal.unaudited_checks()
    if not (actions or checks):
        return 0
    recorded = _recorded(trail)
    missing = [(p, o) for p, o in actions if ("action", p.subject) not in recorded]
    missing_checks = [(p, c) for p, c in checks if ("verification", p.subject) not in recorded]
    trail.actions(missing)
    trail.verifications(missing_checks)
    journal.mark_audited(o.n for _, o in actions)
    journal.mark_checks_audited(c.n for _, c in checks)
    return len(missing) + len(missing_checks)


def _recorded(trail: PurgeTrail) -> set[tuple[str, str]]:
    """(record type, subject) of this run's purge records already in the trail."""
    if not trail.log.path.exists():
        return set()
    found = set()
    for line in read_lines(trail.log.path):
        record = line.record
        if (
            record is not None
            and record.get("action") == ACTION
            and record.get("job") == trail.job
            and record.get("run") == trail.run
        ):
            found.add((str(record.get("type")), str(record.get("subject"))))
    return found
