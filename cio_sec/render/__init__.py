"""Rendering results: JSON documents on stdout, text for people, messages on stderr.

The layout follows pip-audit's ``_format``: `streams` (where output goes, the Rich console),
`document` (the JSON envelope and the failure shape), `text` (the text dispatch, loading
one capability's renderers at a time), `tables` (the shared table helpers), one module per
capability's text renderer, and `sarif` (the SARIF logs of ``scan-repo`` and ``audit``).
Nothing here imports Rich at import time: the CLI imports this package on every run.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from cio_sec.render.document import SCHEMA_VERSION, error_document, json_document, write_json
from cio_sec.render.streams import Streams
from cio_sec.render.text import register_renderers, render_text

if TYPE_CHECKING:
    from cio_sec.results import Result

__all__ = [
    "SCHEMA_VERSION",
    "OutputFormat",
    "Streams",
    "emit",
    "emit_error",
    "error_document",
    "json_document",
    "register_renderers",
    "render_text",
]


class OutputFormat(str, Enum):
    """The ``--format`` choices every command accepts."""

    TEXT = "text"
    JSON = "json"


def emit(command: str, result: Result, fmt: OutputFormat, streams: Streams) -> None:
    """Write the result to stdout in the chosen format (redacted either way)."""
    if fmt is OutputFormat.JSON:
        write_json(json_document(command, result), streams)
        return
    register_renderers(result)
    render_text(result, streams)
    streams.out.flush()  # a closed stdout shows now, not as a stray error at exit


def emit_error(
    command: str, exit_code: int, kind: str, message: str, hint: str | None, streams: Streams
) -> None:
    """Write a failure as the JSON envelope with ``ok: false`` and an ``error`` object."""
    write_json(error_document(command, exit_code, kind, message, hint), streams)
