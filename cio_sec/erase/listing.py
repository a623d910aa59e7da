"""``erase status``: the erasure jobs under the state directory, read without changing them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cio_sec.erase.journal import Journal, jobs_dir, live_status
from cio_sec.erase.report import JobsReport, JobStatus
from cio_sec.errors import ConfigError, InputError

if TYPE_CHECKING:
    from cio_sec.settings import Settings


@dataclass(frozen=True, kw_only=True)
class StatusRequest:
    """Which erasure jobs ``erase status`` lists: one, or every job (``None``)."""

    job: str | None = None


def status(request: StatusRequest, settings: Settings) -> JobsReport:
    """List the erasure jobs under the state directory (or one of them).

    Journals are only read: an empty one stays empty, and a damaged one is listed as
    ``damaged`` with the reason rather than hiding the other jobs.

    Raises:
        InputError: ``request.job`` names no job.
    """
    job = request.job
    directory = jobs_dir(settings.state_dir)
    paths = sorted(directory.glob("*.sqlite")) if directory.is_dir() else []
    if job is not None:
        paths = [path for path in paths if path.stem == job]
        if not paths:
            raise InputError(
                f"no erasure job {job!r} in {directory}",
                hint="list them with `cio-sec erase --status`",
            )
    return JobsReport(tuple(_job_status(path) for path in paths), directory)


def _job_status(path: Path) -> JobStatus:
    """One journal's status, read without changing the file."""
    try:
        if path.stat().st_size == 0:  # created, then killed before anything was written
            return JobStatus.unreadable(path, "empty")
        journal = Journal.open_readonly(path)
    except OSError as exc:
        return JobStatus.unreadable(path, "damaged", f"cannot read {path}: {exc.strerror}")
    except ConfigError as exc:
        return JobStatus.unreadable(path, "damaged", exc.message)
    try:
        meta = journal.meta()
        return JobStatus(
            job=path.stem,
            status=live_status(meta.get("status", "new"), path),
            created=meta.get("created", ""),
            ticket=meta.get("ticket") or None,
            workspace=meta.get("workspace", ""),
            region=meta.get("region", ""),
            api=meta.get("api", ""),
            counts=journal.counts(),
            journal=path,
        )
    except ConfigError as exc:
        return JobStatus.unreadable(path, "damaged", exc.message)
    finally:
        journal.close()
