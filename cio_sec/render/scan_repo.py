"""Text rendering of the ``scan-repo`` report: the findings table and the summary on stderr."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from cio_sec.render.tables import cell, draw, new_table
from cio_sec.scan_repo import ScanReport
from cio_sec.terminal import printable

if TYPE_CHECKING:
    from cio_sec.render.streams import Renderers, Streams


def _one_line(text: str) -> str:
    """Repository text on one line, every control character shown as a visible escape."""
    return printable(text, keep_newlines=False)


_LIVENESS_STYLE: dict[str | None, str] = {
    "live": "bold red",
    "revoked": "green",
    "unknown": "yellow",
}


def _render_scan_report(result: ScanReport, streams: Streams) -> None:
    columns = ["rule", "location", "commit", "date", "refs", "in HEAD", "fingerprint", "preview"]
    title = f"Customer.io credentials found ({result.source}: {_one_line(result.root)})"
    table = new_table(title, columns)
    if result.verified:
        table.add_column("live?", no_wrap=True)
    history = result.source == "history"
    for finding in result.findings:
        row = [
            cell(finding.rule),
            cell(_one_line(finding.location)),
            cell(finding.commit[:10] if finding.commit else "—"),
            cell(finding.author_date[:10] if finding.author_date else "—"),
            cell(_one_line(_short_refs(finding.refs)) if history else "—"),
            cell({True: "yes", False: "no", None: "—"}[finding.in_head]),
            cell(finding.fingerprint),
            cell(finding.preview + (" (baseline)" if finding.baselined else "")),
        ]
        if result.verified:
            row.append(
                Text(finding.liveness or "", style=_LIVENESS_STYLE.get(finding.liveness, ""))
            )
        table.add_row(*row)
    if result.findings:
        draw(streams, table)
    summary = result.to_json()["summary"]
    assert isinstance(summary, dict)  # noqa: S101 - built just above, for mypy
    streams.message(
        f"{summary['findings']} finding(s), {summary['new']} new, {summary['baselined']} in the "
        f"baseline; {summary['blobs_scanned']} blob(s), {summary['bytes_scanned']} bytes scanned"
    )
    _render_skipped(result, streams)
    if result.baseline_written:
        streams.message(f"baseline written to {_one_line(str(result.baseline))}")
    for finding in result.findings:
        if finding.liveness_detail and finding.liveness != "revoked":
            streams.message(
                _one_line(f"{finding.location}: {finding.liveness}: {finding.liveness_detail}")
            )
    for step in result.next_steps:
        streams.message(step)


_REFS_SHOWN = 2


_REF_PREFIXES = ("refs/heads/", "refs/tags/", "refs/remotes/", "refs/")


def _short_refs(refs: tuple[str, ...]) -> str:
    """Refs as git abbreviates them, branches before tags: ``main, v1.2 +3``.

    ``unreachable`` when no ref reaches the commit (``--include-unreachable`` found it).
    """
    if not refs:
        return "unreachable"
    ranked = sorted(refs, key=lambda ref: (_ref_rank(ref), ref))
    names = [_short_ref(ref) for ref in ranked]
    shown = ", ".join(names[:_REFS_SHOWN])
    hidden = len(names) - _REFS_SHOWN
    return f"{shown} +{hidden}" if hidden > 0 else shown


def _ref_rank(ref: str) -> int:
    """Branches, then tags, then remote branches, then the rest (stash, HEAD)."""
    return next((rank for rank, prefix in enumerate(_REF_PREFIXES) if ref.startswith(prefix)), 3)


def _short_ref(ref: str) -> str:
    prefix = next((prefix for prefix in _REF_PREFIXES if ref.startswith(prefix)), "")
    return ref[len(prefix) :]


_SKIPPED_SHOWN = 5


def _render_skipped(result: ScanReport, streams: Streams) -> None:
    """How many items could not be read in full, and the first few of them."""
    if not result.skipped:
        return
    streams.message(
        f"warning: {len(result.skipped)} item(s) not scanned in full (damaged, unreadable or "
        "too large); a credential in them would not be found:"
    )
    for item in result.skipped[:_SKIPPED_SHOWN]:
        streams.message(f"  {_one_line(item.location)}: {_one_line(item.reason)}")
    if len(result.skipped) > _SKIPPED_SHOWN:
        streams.message(f"  … and {len(result.skipped) - _SKIPPED_SHOWN} more")
    streams.message("hint: --format json lists every one, with its commit")


RENDERERS: Renderers = {
    ScanReport: _render_scan_report,
}
