"""Text rendering of the ``erase`` results: a job, its read-back, the list of jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cio_sec.erase import ErasureReport, JobsReport
from cio_sec.erase.recheck import RecheckReport
from cio_sec.erase.report import still_present_cause
from cio_sec.render.tables import cell, draw, new_table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from cio_sec.erase.journal import PresentPerson
    from cio_sec.render.streams import Renderers, Streams

_VERIFY_COLUMNS = ("verified", "still present", "unverified")
_JOB_COLUMNS = (
    "job", "status", "created", "ticket", "workspace", "people", "erased", "failed", "left",
)  # fmt: skip


def _render_erasure_report(result: ErasureReport, streams: Streams) -> None:
    counts = result.counts
    title = f"Erasure job {result.plan.job}: {result.status}"
    if result.plan.dry_run:
        title += " (nothing was sent)"
    table = new_table(
        title,
        ["people", "erased", "failed", "invalid", "left", *_VERIFY_COLUMNS],
    )
    table.add_row(
        *(
            cell(n)
            for n in (
                counts.people,
                counts.erased,
                counts.failed,
                counts.invalid,
                counts.left,
                counts.verified,
                counts.still_present,
                counts.unverified,
            )
        )
    )
    draw(streams, table)
    _render_still_present(result.still_present, streams)
    if result.failed:
        failed = new_table("Failed (pseudonymised)", ["subject", "id_type", "action", "reason"])
        for person in result.failed:
            failed.add_row(
                cell(person.subject),
                cell(person.id_type),
                cell(person.action),
                cell(person.reason),
            )
        draw(streams, failed)
    for row in result.invalid_rows:
        streams.message(f"invalid: line {row.line}: {row.reason}")
    streams.message(f"audit trail: {result.audit_log} (head {result.chain_head or '-'})")
    if result.status == "stopped":
        streams.message("stopped: run the same command again to resume the job")


def _render_still_present(people: Sequence[PresentPerson], streams: Streams) -> None:
    """The erased people the App API still returned, with the likely cause and the fix."""
    if not people:
        return
    table = new_table(
        "Still present after erasure (pseudonymised)", ["subject", "id_type", "checks"]
    )
    for person in people:
        table.add_row(cell(person.subject), cell(person.id_type), cell(person.checks))
    draw(streams, table)
    for id_type in dict.fromkeys(person.id_type for person in people):
        cause, fix = still_present_cause(id_type)
        streams.message(f"still present ({id_type}): likely cause: {cause}; fix: {fix}")


def _render_recheck_report(result: RecheckReport, streams: Streams) -> None:
    table = new_table(
        f"Read-back of erasure job {result.job}", ["erased", "checked", *result.outcomes]
    )
    table.add_row(*(cell(n) for n in (result.erased, result.checked, *result.outcomes.values())))
    draw(streams, table)
    _render_still_present(result.still_present, streams)
    streams.message(result.summary)
    if result.stopped:
        streams.message("stopped: run the same command again to read the people back")


def _render_jobs_report(result: JobsReport, streams: Streams) -> None:
    table = new_table(
        f"Erasure jobs in {result.directory}",
        [*_JOB_COLUMNS, *_VERIFY_COLUMNS],
    )
    for job in result.jobs:
        counts = job.counts
        table.add_row(
            *(
                cell(value)
                for value in (
                    job.job,
                    job.status,
                    job.created,
                    job.ticket or "-",
                    job.workspace,
                    counts.people,
                    counts.erased,
                    counts.failed,
                    counts.left,
                    counts.verified,
                    counts.still_present,
                    counts.unverified,
                )
            )
        )
    draw(streams, table)
    for job in result.jobs:
        if job.problem is not None:
            streams.message(f"error: {job.problem}")


RENDERERS: Renderers = {
    ErasureReport: _render_erasure_report,
    JobsReport: _render_jobs_report,
    RecheckReport: _render_recheck_report,
}
