"""``erase status --attributes``: the purge jobs under the state directory, read only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cio_sec.erase.journal import JournalError, live_status
from cio_sec.purge.journal import PurgeJournal, purges_dir
from cio_sec.purge.report import PurgeJobsReport, PurgeJobStatus

if TYPE_CHECKING:
    from cio_sec.settings import Settings


@dataclass(frozen=True, kw_only=True)
class PurgeStatusRequest:
    """Which purge jobs ``erase status --attributes`` lists (none given: every job)."""

    attributes: tuple[str, ...] = ()


def status(request: PurgeStatusRequest, settings: Settings) -> PurgeJobsReport:
    """List the purge jobs (those touching any of the request's attributes, when given)."""
    attributes = request.attributes
    directory = purges_dir(settings.state_dir)
    paths = sorted(directory.glob("*.sqlite")) if directory.is_dir() else []
    jobs = [_status(path) for path in paths]
    if attributes:
        jobs = [job for job in jobs if set(job.attributes) & set(attributes) or job.problem]
    return PurgeJobsReport(tuple(jobs), directory)


def _status(path: Path) -> PurgeJobStatus:
    """One journal's status, read without changing the file."""
    try:
        journal = PurgeJournal.open_readonly(path)
    except JournalError as exc:
        return PurgeJobStatus.damaged(path, exc.message)
    try:
        meta = journal.meta()
        return PurgeJobStatus(
            job=path.stem,
            status=live_status(meta.get("status", "new"), path),
            created=meta.get("created", ""),
            ticket=meta.get("ticket") or None,
            workspace=meta.get("workspace", ""),
            attributes=tuple(filter(None, meta.get("attributes", "").split(","))),
            counts=journal.counts(),
            journal=path,
        )
    except JournalError as exc:
        return PurgeJobStatus.damaged(path, exc.message)
    finally:
        journal.close()
