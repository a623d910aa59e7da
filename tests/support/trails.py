"""A synthetic erasure trail with the records ``cio-sec erase`` writes, for fast audit tests.

tests/audit/test_real_erase_trail.py checks that these records have exactly the shape of
a trail the real erase command writes, and repeats the tamper cases on such a trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cio_sec.pseudonym import IdentifierKind, PseudonymKey
from cio_sec.trail import TrailWriter


class SteppingClock:
    """One second later on every call, from a fixed start."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass(frozen=True)
class Person:
    """Someone to erase: an identifier, its type and whether the delete fails."""

    identifier: str
    id_type: str = "email"
    fails: bool = False

    def subject(self, key: PseudonymKey) -> str:
        kind = IdentifierKind.EMAIL if self.id_type == "email" else IdentifierKind.ID
        return key.pseudonym(self.identifier, kind)


def erase_trail(
    path: Path,
    key: PseudonymKey,
    people: Sequence[Person],
    *,
    ticket: str | None = "GDPR-123",
    job: str = "job-1",
    clock: SteppingClock | None = None,
) -> list[dict[str, Any]]:
    """Append one erase job (job-start, suppress and delete per person, job-end)."""
    log = TrailWriter(path, key, clock=clock or SteppingClock())
    common = {"job": job, "ticket": ticket}
    written = log.append(
        [
            {
                "type": "job-start",
                **common,
                "workspace": 42,
                "region": "eu",
                "input_sha256": "ab" * 32,
                "people": len(people),
                "invalid": 0,
                "actions": ["suppress", "delete"],
                "api": "v1",
                "operator": "oncall@host",
                "version": "0.1.0",
                "dry_run": False,
                "resumed": False,
            }
        ]
    )
    for person in people:
        for action in ("suppress", "delete"):
            failed = person.fails and action == "delete"
            entry = {
                "type": "action",
                **common,
                "run": "run-1",
                "subject": person.subject(key),
                "id_type": person.id_type,
                "action": action,
                "outcome": "failed" if failed else "done",
                "status": 500 if failed else 200,
                "reason": "server error after 5 attempts" if failed else None,
                "attempts": 5 if failed else 1,
            }
            written += log.append([entry])
    failures = sum(person.fails for person in people)
    end = {
        "type": "job-end",
        **common,
        "status": "completed",
        "counts": {"erased": len(people) - failures, "failed": failures, "invalid": 0},
        "duration_s": 1.5,
    }
    return written + log.append([end])
