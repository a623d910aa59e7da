"""Text rendering of the audit trail: its verification, a filtered view, Markdown evidence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cio_sec.redact import redact
from cio_sec.render.evidence import evidence_markdown
from cio_sec.render.tables import cell, draw, new_table
from cio_sec.trail.chain import ChainReport
from cio_sec.trail.evidence import EvidenceReport
from cio_sec.trail.view import TrailView

if TYPE_CHECKING:
    from cio_sec.render.streams import Renderers, Streams


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
    table = new_table(
        f"Audit trail {result.chain.path}",
        ["seq", "ts", "type", "job", "ticket", "subject", "action", "outcome"],
    )
    for record in result.records:
        table.add_row(
            *(
                cell(record.get(name))
                for name in ("seq", "ts", "type", "job", "ticket", "subject", "action")
            ),
            cell(record.get("outcome") or record.get("status")),
        )
    draw(streams, table)
    _chain_note(result.chain, streams)
    streams.message(f"{len(result.records)} matching record(s)")


def _render_evidence(result: EvidenceReport, streams: Streams) -> None:
    streams.out.write(redact(evidence_markdown(result)))
    _chain_note(result.chain, streams)


def _chain_note(chain: ChainReport, streams: Streams) -> None:
    if chain.first_break is not None:
        streams.message(
            f"warning: the trail does not verify: line {chain.first_break.line}: "
            f"{chain.first_break.problem}"
        )


RENDERERS: Renderers = {
    ChainReport: _render_chain,
    TrailView: _render_view,
    EvidenceReport: _render_evidence,
}
