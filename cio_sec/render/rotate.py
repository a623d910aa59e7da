"""Text rendering of the ``rotate`` outcome (the checklist is drawn on stderr as steps run)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cio_sec.redact import redact
from cio_sec.rotate import RotationReport

if TYPE_CHECKING:
    from cio_sec.render.streams import Renderers, Streams


def _render_rotation_report(result: RotationReport, streams: Streams) -> None:
    """The outcome on stdout; the checklist was drawn on stderr as the steps ran."""
    lines = [f"rotate {result.kind} (profile {result.profile}): {result.outcome}"]
    lines += [f"  {name}: new fingerprint {fp}" for name, fp in result.fingerprints.items()]
    if result.old_key_works is not None:
        lines.append(f"  old key works: {'yes' if result.old_key_works else 'no'}")
    streams.out.write(redact("\n".join(lines)) + "\n")
    # Warnings were said on stderr as they arose; JSON lists them again.
    label = "note" if result.ok else ("stopped" if result.exit_code == 5 else "error")
    streams.message(f"{label}: {result.message}")
    if result.hint:
        streams.message(f"hint: {result.hint}")


RENDERERS: Renderers = {
    RotationReport: _render_rotation_report,
}
