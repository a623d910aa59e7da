"""``audit log export`` as Markdown: the erasure evidence of one ticket, for people."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cio_sec.trail.chain import ChainReport
from cio_sec.trail.evidence import VERIFICATION_COUNTS, EvidenceReport, SubjectEvidence


def evidence_markdown(report: EvidenceReport) -> str:
    """The evidence for people (a DPO, an auditor), as a Markdown document."""
    chain = report.chain
    lines = [
        f"# Erasure evidence: ticket {_md(report.ticket)}",
        "",
        f"Generated {report.generated_at} from `{chain.path}`.",
        "",
        "## Audit trail",
        "",
        f"- Records in the trail: {chain.records}",
        f"- Chain verified: {_verified(chain)}",
        f"- Chain head: `{chain.head}`",
        f"- Key ids: {', '.join(chain.key_ids) or 'none'}",
        "",
        "## Jobs",
        "",
        "| job | workspace | region | operator | started | ended | status | erased or purged "
        "| failed | invalid |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_job_row(job) for job in report.jobs]
    lines += [
        "",
        "## Runs (earliest first)",
        "",
        "A job runs again when it is resumed. A run with no end in the trail was "
        "interrupted (killed, or the machine stopped); the last one may still be running.",
        "",
        "| job | run | started | ended | status | erased or purged | failed | invalid |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        _run_row(job, number, run)
        for job in report.jobs
        for number, run in enumerate(job.get("runs", []), start=1)
    ]
    outcomes = report.counts
    counts = ", ".join(
        f"{outcomes[name]} {name.replace('_', ' ')}"
        for name in ("erased", "attributes_purged", "failed", "incomplete")
        if name in outcomes
    )
    checked = ", ".join(
        f"{outcomes[name]} {name.replace('_', ' ')}" for name in VERIFICATION_COUNTS
    )
    lines += [
        "",
        f"## Subjects ({len(report.subjects)}: {counts})",
        "",
        f"Read back through the App API after erasure: {checked}.",
        "",
        "| subject pseudonym | id type | actions | outcome |",
        "|---|---|---|---|",
    ]
    lines += [_subject_row(subject) for subject in report.subjects]
    if not (report.jobs or report.subjects):
        lines += ["", f"No record in the trail names ticket {_md(report.ticket)}."]
    return "\n".join(lines) + "\n"


def _md(value: object) -> str:
    """A table-safe Markdown cell: pipes escaped, line breaks folded."""
    text = "" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def _verified(chain: ChainReport) -> str:
    if chain.first_break is None:
        return "yes"
    return f"NO: line {chain.first_break.line}, {chain.first_break.problem}"


def _job_row(job: Mapping[str, Any]) -> str:
    counts = job.get("counts") or {}
    cells = [
        job.get("job"), job.get("workspace"), job.get("region"), job.get("operator"),
        job.get("started"), job.get("ended"),
        f"{job.get('status')} (dry run: nothing sent)" if job.get("dry_run") else job.get("status"),
        _done(counts), counts.get("failed"), counts.get("invalid"),
    ]  # fmt: skip
    return "| " + " | ".join(_md(cell) for cell in cells) + " |"


def _done(counts: Mapping[str, Any]) -> object:
    """People erased, or for an attribute purge, people purged."""
    return counts.get("erased", counts.get("purged"))


def _run_row(job: Mapping[str, Any], number: int, run: Mapping[str, Any]) -> str:
    counts = run.get("counts") or {}
    status = run.get("status")
    if run.get("dry_run"):
        status = f"{status} (dry run: nothing sent)"
    cells = [
        job.get("job"), number, run.get("started"), run.get("ended") or "-", status,
        _done(counts), counts.get("failed"), counts.get("invalid"),
    ]  # fmt: skip
    return "| " + " | ".join(_md(cell) for cell in cells) + " |"


def _subject_row(subject: SubjectEvidence) -> str:
    actions = "; ".join(
        f"{a['action']} {a['outcome']} at {a['ts']}"
        + (f" (HTTP {a['status']})" if a.get("status") is not None else "")
        + (f": {a['reason']}" if a.get("reason") else "")
        for a in subject.actions
    )
    cells = [f"`{subject.subject}`", subject.id_type, actions, subject.statement]
    return "| " + " | ".join(_md(cell) for cell in cells) + " |"
