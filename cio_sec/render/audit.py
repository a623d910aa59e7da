"""Text rendering of the ``audit`` checklist: one row per check, the verdict on stderr."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from cio_sec.audit.report import AuditReport
from cio_sec.render.tables import cell, draw, new_table

if TYPE_CHECKING:
    from cio_sec.render.streams import Renderers, Streams

_STYLE = {"PASS": "green", "WARN": "yellow", "FAIL": "red", "MANUAL": "cyan"}


def _render_audit(result: AuditReport, streams: Streams) -> None:
    table = new_table(
        f"Audit of {result.path} — profile {result.profile}",
        ["check", "status", "evidence", "remediation"],
    )
    for check in result.checks:
        status = check.status.value
        table.add_row(
            cell(check.title),
            Text(status, style=_STYLE[status]),
            cell(check.evidence),
            cell("" if status == "PASS" else check.remediation),
        )
    draw(streams, table)
    summary = ", ".join(f"{count} {status}" for status, count in result.counts.items())
    verdict = "passed" if result.ok else "FAILED"
    streams.message(f"audit {verdict}: {summary}" + (" (--strict)" if result.strict else ""))


RENDERERS: Renderers = {
    AuditReport: _render_audit,
}
