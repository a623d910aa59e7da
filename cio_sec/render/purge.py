"""Text rendering of purge results: plain lines, counts and names, never a value."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cio_sec.purge.report import PurgeJobsReport, PurgeReport
from cio_sec.redact import redact
from cio_sec.terminal import printable

if TYPE_CHECKING:
    from cio_sec.render.streams import Renderers, Streams


def _write(streams: Streams, lines: list[str]) -> None:
    text = "\n".join(printable(redact(line), keep_newlines=False) for line in lines)
    streams.out.write(text + "\n")
    streams.out.flush()


def render_purge_report(result: PurgeReport, streams: Streams) -> None:
    """The job, its counts per attribute and the outcome counts."""
    plan, counts = result.plan, result.counts
    title = f"Attribute purge {plan.job}: {result.status}"
    if plan.dry_run:
        title += " (nothing was sent)"
    lines = [title]
    lines += [f"  {name}: {plan.per_attribute.get(name, 0)} people" for name in plan.attributes]
    lines.append(
        f"  people {counts.people}, purged {counts.purged}, failed {counts.failed}, "
        f"left {counts.left}, verified {counts.verified}, still present "
        f"{counts.still_present}, unverified {counts.unverified}"
    )
    _write(streams, lines)
    streams.message(f"audit trail: {result.audit_log} (head {result.chain_head or '-'})")
    if result.status == "stopped":
        streams.message("stopped: run the same command again to resume the purge")


def render_purge_jobs(result: PurgeJobsReport, streams: Streams) -> None:
    """One line per purge job."""
    lines = [f"Attribute purges in {result.directory}"]
    for job in result.jobs:
        if job.counts is None:
            lines.append(f"  {job.job}  {job.status}  {job.problem or ''}")
            continue
        c = job.counts
        lines.append(
            f"  {job.job}  {job.status}  {job.created}  ticket {job.ticket or '-'}  "
            f"attributes {','.join(job.attributes)}  people {c.people} purged {c.purged} "
            f"failed {c.failed} left {c.left} verified {c.verified} still present "
            f"{c.still_present} unverified {c.unverified}"
        )
    if not result.jobs:
        lines.append("  (none)")
    _write(streams, lines)


RENDERERS: Renderers = {
    PurgeReport: render_purge_report,
    PurgeJobsReport: render_purge_jobs,
}
