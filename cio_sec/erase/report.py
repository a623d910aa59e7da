"""What an erasure run and ``erase --status`` return: results with their JSON and exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from cio_sec.erase.inputs import InvalidRow
from cio_sec.erase.journal import Counts, FailedPerson, PresentPerson
from cio_sec.erase.plan import Plan
from cio_sec.errors import ExitCode


class RunStatus(str, Enum):
    """How one run of an erasure or purge job ended."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    """Resumable: running the same command again carries on."""
    DRY_RUN = "dry-run"

    def __str__(self) -> str:
        return self.value


def run_exit_code(status: RunStatus, *, interrupted: bool, unfinished: bool) -> ExitCode:
    """0 done, 1 some people failed or are still there, 5 stopped (resumable), 130 Ctrl-C."""
    if status is RunStatus.STOPPED:
        return ExitCode.INTERRUPTED if interrupted else ExitCode.PARTIAL
    return ExitCode.CHECK_FAILED if unfinished else ExitCode.OK


@dataclass(frozen=True)
class ErasureReport:
    """The outcome of one run of a job."""

    plan: Plan
    status: RunStatus
    counts: Counts
    audit_log: Path
    journal: Path | None
    failed: tuple[FailedPerson, ...] = ()
    still_present: tuple[PresentPerson, ...] = ()
    """Erased people the App API still returned when the read-back window ended."""
    invalid_rows: tuple[InvalidRow, ...] = ()
    chain_head: str | None = None
    """The hash of the last record this run wrote (keep it with the ticket)."""
    interrupted: bool = False
    """Stopped by Ctrl-C (exit 130) rather than SIGTERM (exit 5)."""
    duration_s: float = 0.0
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when every person is erased (or the dry run found nothing wrong)."""
        return self.exit_code == ExitCode.OK

    @property
    def exit_code(self) -> ExitCode:
        """0 all erased, 1 some failed or still there, 5 stopped and resumable, 130 interrupted."""
        unfinished = bool(self.counts.failed or self.still_present)
        return run_exit_code(self.status, interrupted=self.interrupted, unfinished=unfinished)

    def failure(self) -> tuple[str | None, str, str | None]:
        """Why the job is not done: stopped, or people failed or still present."""
        if self.status is RunStatus.STOPPED:
            return None, f"job {self.plan.job} stopped", "run the same command again to resume"
        counts = self.counts
        return (
            None,
            f"job {self.plan.job}: {counts.failed} failed, {len(self.still_present)} still "
            "present after erasure",
            "failed and still_present list each person (pseudonymised) with the reason",
        )

    def to_json(self) -> dict[str, object]:
        """Job, counts, trail path and head, failed people as pseudonyms with reasons."""
        return {
            "job": self.plan.job,
            "status": self.status.value,
            "plan": self.plan.to_json(),
            "counts": self.counts.to_json(),
            "audit_log": str(self.audit_log),
            "chain_head": self.chain_head,
            "journal": None if self.journal is None else str(self.journal),
            "failed": [person.to_json() for person in self.failed],
            "still_present": [still_present_json(person) for person in self.still_present],
            "invalid_rows": [row.to_json() for row in self.invalid_rows],
            "duration_s": round(self.duration_s, 3),
        }


_CAUSES = {
    "email": (
        "the workspace may identify people by id only, so an email in a path was read "
        "as an id and nobody was deleted",
        "run the job again with --api batch (the identifier type is sent explicitly), or "
        "erase these people by id or cio_id",
    ),
    "id": (
        "Customer.io accepted the request without deleting the person (a 2xx proves "
        "nothing), or an application re-created them by id after the delete",
        "stop whatever identifies these people, then run the job again with --restart",
    ),
    "cio_id": (
        "Customer.io accepted the request without deleting the person (a 2xx proves nothing)",
        "run the job again with --restart",
    ),
}


def still_present_cause(id_type: str) -> tuple[str, str]:
    """The likely cause of a person still being there after their erasure, and the fix."""
    return _CAUSES.get(id_type, _CAUSES["id"])


def still_present_json(person: PresentPerson) -> dict[str, object]:
    """A still-present person by pseudonym, with the likely cause and the fix."""
    cause, fix = still_present_cause(person.id_type)
    return {**person.to_json(), "cause": cause, "fix": fix}


@dataclass(frozen=True)
class JobStatus:
    """One job as ``erase --status`` lists it."""

    job: str
    status: str
    created: str
    ticket: str | None
    workspace: str
    region: str
    api: str
    counts: Counts
    journal: Path
    problem: str | None = None
    """Why the journal cannot be read (``damaged``), naming the file."""

    @classmethod
    def unreadable(cls, journal: Path, status: str, problem: str | None = None) -> JobStatus:
        """A journal listed without its contents: ``empty`` or ``damaged``."""
        return cls(journal.stem, status, "", None, "", "", "", Counts(0, 0, 0, 0), journal, problem)

    def to_json(self) -> dict[str, object]:
        """Every field; counts as an object."""
        return {
            "job": self.job,
            "status": self.status,
            "created": self.created,
            "ticket": self.ticket,
            "workspace": self.workspace,
            "region": self.region,
            "api": self.api,
            "counts": self.counts.to_json(),
            "journal": str(self.journal),
            "problem": self.problem,
        }


class Listed(Protocol):
    """One job of a listing: its JSON, and the reason its journal cannot be read."""

    @property
    def problem(self) -> str | None:
        """Why the journal cannot be read (``damaged``); None when it can."""

    def to_json(self) -> dict[str, object]:
        """The job as JSON."""


JobT = TypeVar("JobT", bound=Listed)


@dataclass(frozen=True)
class JobList(Generic[JobT]):
    """The jobs under a state directory: ``erase --status``, with or without --attributes."""

    jobs: tuple[JobT, ...]
    directory: Path

    @property
    def ok(self) -> bool:
        """True unless a journal is damaged."""
        return self.exit_code == ExitCode.OK

    @property
    def exit_code(self) -> ExitCode:
        """0, or 3 when a journal is damaged (every job is listed all the same)."""
        damaged = any(job.problem is not None for job in self.jobs)
        return ExitCode.CONFIG if damaged else ExitCode.OK

    def to_json(self) -> dict[str, object]:
        """The jobs directory and every job."""
        return {"directory": str(self.directory), "jobs": [job.to_json() for job in self.jobs]}


@dataclass(frozen=True)
class JobsReport(JobList[JobStatus]):
    """The erasure jobs (a class of its own so the text renderer can tell the two apart)."""
