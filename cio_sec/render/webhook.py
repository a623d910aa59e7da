"""Text rendering of the ``verify-webhook`` results: plain lines, verdict first.

Plain text on purpose (no Rich markup), so nothing from a delivery can be interpreted as
styling, and every line goes through `printable`, so nothing from a file or a server acts
on the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cio_sec.redact import redact
from cio_sec.terminal import printable
from cio_sec.webhook.delivery import DeliveryReport, SignedDelivery
from cio_sec.webhook.probe import ProbeReport

if TYPE_CHECKING:
    from cio_sec.render.streams import Renderers, Streams


def _write(streams: Streams, lines: list[str]) -> None:
    text = "\n".join(printable(redact(line), keep_newlines=False) for line in lines)
    streams.out.write(text + "\n")
    streams.out.flush()


def _message(streams: Streams, text: str) -> None:
    streams.message(printable(redact(text), keep_newlines=False))


def _skew(seconds: int | None, tolerance: int | None) -> str:
    if seconds is None:
        return "no timestamp"
    direction = "in the past" if seconds > 0 else "in the future" if seconds < 0 else ""
    allowed = "age not checked" if tolerance is None else f"tolerance {tolerance} s"
    return f"skew {abs(seconds)} s {direction}".rstrip() + f", {allowed}"


def render_delivery_report(report: DeliveryReport, streams: Streams) -> None:
    """Verdict line, then the likely causes; ``--explain`` adds the signed string's shape."""
    verdict = report.verification
    head = "valid" if verdict.ok else f"invalid ({verdict.reason.value})"
    lines = [f"{head}: {verdict.detail}"]
    if verdict.skew is not None or verdict.ok:
        lines.append(f"  {_skew(verdict.skew, verdict.tolerance)}")
    lines += [f"  likely cause: {finding.explanation}" for finding in report.causes]
    if report.explain:
        lines += _explanation(report)
    _write(streams, lines)
    for warning in (*verdict.warnings, *report.notes):
        _message(streams, f"warning: {warning}")
    if report.hint:
        _message(streams, f"hint: {report.hint}")


def _explanation(report: DeliveryReport) -> list[str]:
    verdict = report.verification
    lines = [f"  input: {report.source}", f"  scheme: {verdict.scheme.value}"]
    tried = ", ".join(verdict.secrets_tried) or "none"
    lines.append(f"  keys tried: {tried}")
    if verdict.shape is not None:
        shape = verdict.shape
        prefix = f"{shape.prefix!r} + " if shape.prefix else ""
        lines.append(
            f"  signed string: {prefix}{shape.body_length}-byte body = {shape.total_length} "
            f"bytes, HMAC-{shape.scheme.digest.upper()} (body sha256 {shape.body_sha256}…, "
            f"{'ends' if shape.body_ends_with_newline else 'does not end'} with a newline)"
        )
    if verdict.diagnosis:
        lines.append("  checks after the rejection:")
    for finding in verdict.diagnosis:
        mark = "MATCH" if finding.matched else "no   "
        text = finding.explanation if finding.matched else f"tried {finding.explanation}"
        lines.append(f"    {mark} {finding.check}: {text}")
    return lines


def render_signed_delivery(result: SignedDelivery, streams: Streams) -> None:
    """The headers, one per line, ready for curl's ``-H``."""
    _write(streams, [f"{name}: {value}" for name, value in result.headers.items()])
    _message(
        streams, f"signed {result.body_length} bytes with {result.secret} ({result.scheme.value})"
    )


def render_probe_report(report: ProbeReport, streams: Streams) -> None:
    """One line per attempt and the conclusion."""
    lines = [f"probe of {report.url} ({report.scheme.value} scheme, key {report.secret}):"]
    for attempt in report.attempts:
        answer = "accepted" if attempt.accepted else "rejected"
        verdict = "ok" if attempt.ok else "WRONG"
        lines.append(
            f"  {verdict:<5} {attempt.name:<9} {attempt.status} {answer:<8} ({attempt.description})"
        )
        if attempt.answer and not attempt.ok:  # why it was wrong, in the endpoint's words
            lines.append(f"        answer: {attempt.answer}")
    lines.append(report.summary())
    _write(streams, lines)


RENDERERS: Renderers = {
    DeliveryReport: render_delivery_report,
    SignedDelivery: render_signed_delivery,
    ProbeReport: render_probe_report,
}
