"""What a purge run and ``erase --status --attributes`` return, with JSON and exit codes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cio_sec.erase.report import JobList, RunStatus, run_exit_code
from cio_sec.errors import ExitCode
from cio_sec.purge.journal import Counts
from cio_sec.purge.plan import PurgePlan


@dataclass(frozen=True)
class PurgeReport:
    """The outcome of one run of a purge job."""

    plan: PurgePlan
    status: RunStatus
    counts: Counts
    audit_log: Path
    journal: Path | None
    chain_head: str | None = None
    interrupted: bool = False
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every holder's attributes are gone (or nothing was to be done)."""
        return self.exit_code == ExitCode.OK

    @property
    def exit_code(self) -> ExitCode:
        """0 done, 1 some failed or still there, 5 stopped and resumable, 130 interrupted."""
        unfinished = bool(self.counts.failed or self.counts.still_present)
        return run_exit_code(self.status, interrupted=self.interrupted, unfinished=unfinished)

    def failure(self) -> tuple[str | None, str, str | None]:
        """Why the purge is not done: stopped, or people failed or still hold attributes."""
        if self.status is RunStatus.STOPPED:
            return None, f"purge {self.plan.job} stopped", "run the same command again to resume"
        return (
            None,
            f"purge {self.plan.job}: {self.counts.failed} failed, {self.counts.still_present} "
            "still holding the attributes after the purge",
            "`cio-sec erase --status --attributes` shows the job; `audit log export --ticket` "
            "lists each person (pseudonymised)",
        )

    def to_json(self) -> dict[str, object]:
        """Job, plan, counts, trail path and head."""
        return {
            "job": self.plan.job,
            "action": "attribute-purge",
            "status": self.status.value,
            "plan": self.plan.to_json(),
            "counts": self.counts.to_json(),
            "audit_log": str(self.audit_log),
            "chain_head": self.chain_head,
            "journal": None if self.journal is None else str(self.journal),
            "duration_s": round(self.duration_s, 3),
        }


@dataclass(frozen=True)
class PurgeJobStatus:
    """One purge job as ``erase --status --attributes`` lists it."""

    job: str
    status: str
    created: str
    ticket: str | None
    workspace: str
    attributes: tuple[str, ...]
    counts: Counts | None
    journal: Path
    problem: str | None = None

    @classmethod
    def damaged(cls, journal: Path, problem: str) -> PurgeJobStatus:
        """A journal listed without its contents, with why it cannot be read."""
        return cls(journal.stem, "damaged", "", None, "", (), None, journal, problem)

    def to_json(self) -> dict[str, object]:
        """Every field."""
        return {
            "job": self.job,
            "status": self.status,
            "created": self.created,
            "ticket": self.ticket,
            "workspace": self.workspace,
            "attributes": list(self.attributes),
            "counts": None if self.counts is None else self.counts.to_json(),
            "journal": str(self.journal),
            "problem": self.problem,
        }


@dataclass(frozen=True)
class PurgeJobsReport(JobList[PurgeJobStatus]):
    """The purge jobs (a class of its own so the text renderer can tell the two apart)."""
