"""Text rendering of the ``sanitize`` report: counts only, never values."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cio_sec.redact import redact
from cio_sec.render.tables import cell, draw, new_table
from cio_sec.sanitize.files import SanitizeReport

if TYPE_CHECKING:
    from rich.table import Table

    from cio_sec.render.streams import Renderers, Streams


def _render_sanitize_report(result: SanitizeReport, streams: Streams) -> None:
    """Counts only, never values; stdout when the records went to a file or nowhere."""
    for warning in result.warnings:
        streams.message(f"warning: {warning}")
    if result.key_created:
        streams.note(
            f"note: generated a new pseudonym_key (key id {result.key_id}) in {result.key_source}"
        )
    counts = result.counts
    if counts.invalid:
        examples = "; ".join(result.invalid_examples)
        streams.message(f"warning: skipped {counts.invalid} invalid record(s): {examples}")
    changes = _changes_table(result)
    if result.request.check:
        if counts.changed:
            streams.out.write(
                f"would change {counts.changed_records} of {counts.records} record(s):\n"
            )
            draw(streams, changes)
        else:
            streams.out.write(f"nothing to change in {counts.records} record(s)\n")
        return
    summary = (
        f"sanitised {counts.records} record(s), {counts.changed_records} changed"
        + (f", {counts.invalid} skipped" if counts.invalid else "")
        + ("" if result.data_on_stdout else f" -> {result.request.output}")
    )
    if result.request.report:
        draw(streams, changes, stderr=True)
        streams.message(summary)
    elif not result.data_on_stdout:
        streams.out.write(redact(summary) + "\n")


def _changes_table(result: SanitizeReport) -> Table:
    table = new_table(f"Changes (policy: {result.policy_source})", ["attribute", "action", "count"])
    for (path, action), count in sorted(result.counts.changes.items()):
        table.add_row(cell(path), cell(action), cell(count))
    for detector, count in sorted(result.counts.detections.items()):
        table.add_row(cell(f"(values: {detector})"), cell("redact"), cell(count))
    return table


RENDERERS: Renderers = {
    SanitizeReport: _render_sanitize_report,
}
