"""Text rendering of the audit results (a table, the chain head, Markdown evidence)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, NoReturn

import typer

from cio_sec.output import Streams, _cell, _print, _table, render_text
from cio_sec.redact import redact

if TYPE_CHECKING:
    from cio_sec.audit.report import AuditReport
    from cio_sec.cli.common import AppContext
    from cio_sec.trail.chain import ChainReport
    from cio_sec.trail.evidence import EvidenceReport
    from cio_sec.trail.view import TrailView

_STYLE = {"PASS": "green", "WARN": "yellow", "FAIL": "red", "MANUAL": "cyan"}


@cache
def register_audit_renderers() -> None:
    """Register the text renderers of the audit result types, once."""
    from cio_sec.audit.report import AuditReport
    from cio_sec.trail.chain import ChainReport
    from cio_sec.trail.evidence import EvidenceReport
    from cio_sec.trail.view import TrailView

    render_text.register(AuditReport, _render_audit)
    render_text.register(ChainReport, _render_chain)
    render_text.register(TrailView, _render_view)
    render_text.register(EvidenceReport, _render_evidence)


def write_sarif(report: AuditReport, context: AppContext) -> NoReturn:
    """Write the SARIF log on stdout and exit with the audit's code."""
    import json

    from cio_sec import __version__

    document = report.to_sarif(__version__)
    context.streams.out.write(redact(json.dumps(document, indent=2, sort_keys=True)) + "\n")
    context.streams.out.flush()
    raise typer.Exit(int(report.exit_code))


def _render_audit(result: AuditReport, streams: Streams) -> None:
    from rich.text import Text

    table = _table(
        f"Audit of {result.path} — profile {result.profile}",
        ["check", "status", "evidence", "remediation"],
    )
    for check in result.checks:
        status = check.status.value
        table.add_row(
            _cell(check.title),
            Text(status, style=_STYLE[status]),
            _cell(check.evidence),
            _cell("" if status == "PASS" else check.remediation),
        )
    _print(streams, table)
    summary = ", ".join(f"{count} {status}" for status, count in result.counts.items())
    verdict = "passed" if result.ok else "FAILED"
    streams.message(f"audit {verdict}: {summary}" + (" (--strict)" if result.strict else ""))


def _render_chain(result: ChainReport, streams: Streams) -> None:
    for write in result.recovered:  # a crash or a full disk, repaired: a warning, not a break
        streams.message(f"warning: {result.path}: {write.describe()}")
    if result.first_break is not None:
        streams.out.write(
            redact(
                f"{result.path}:{result.first_break.line}: {result.first_break.problem}\n"
                f"last good record: {result.records}, head {result.head}\n"
            )
        )
        return
    streams.out.write(redact(f"{result.path}: {result.records} records, chain verifies\n"))
    streams.out.write(f"head {result.head}\n")


def _render_view(result: TrailView, streams: Streams) -> None:
    table = _table(
        f"Audit trail {result.chain.path}",
        ["seq", "ts", "type", "job", "ticket", "subject", "action", "outcome"],
    )
    for record in result.records:
        table.add_row(
            *(
                _cell(record.get(name))
                for name in ("seq", "ts", "type", "job", "ticket", "subject", "action")
            ),
            _cell(record.get("outcome") or record.get("status")),
        )
    _print(streams, table)
    _chain_note(result.chain, streams)
    streams.message(f"{len(result.records)} matching record(s)")


def _render_evidence(result: EvidenceReport, streams: Streams) -> None:
    streams.out.write(redact(result.to_markdown()))
    _chain_note(result.chain, streams)


def _chain_note(chain: ChainReport, streams: Streams) -> None:
    if chain.first_break is not None:
        streams.message(
            f"warning: the trail does not verify: line {chain.first_break.line}: "
            f"{chain.first_break.problem}"
        )
