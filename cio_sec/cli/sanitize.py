"""``cio-sec sanitize``: strip or pseudonymise PII in JSON, NDJSON and CSV attributes."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cio_sec.cli.common import (
    EXIT_CODES_EPILOG,
    AppContext,
    FormatOption,
    finish,
    start,
    stop_signals_as_interrupt,
)
from cio_sec.cli.help import HelpfulCommand
from cio_sec.render import OutputFormat

if TYPE_CHECKING:
    from cio_sec.results import Result


class InputFormatChoice(str, Enum):
    """``--input-format`` choices (kept here so the CLI imports no core module at start-up)."""

    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command("sanitize", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)(sanitize)


def sanitize(
    ctx: typer.Context,
    input_path: Annotated[
        str, typer.Argument(metavar="[INPUT]", help="File to read; - or nothing reads stdin.")
    ] = "-",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here (atomically) instead of stdout."),
    ] = None,
    input_format: Annotated[
        InputFormatChoice | None,
        typer.Option(
            "--input-format",
            case_sensitive=False,
            help="Default: from the file extension, else from the first line.",
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="TOML policy file (default: the built-in policy)."),
    ] = None,
    report: Annotated[
        bool, typer.Option("--report", help="Counts per attribute and action on stderr.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 listing what would change."),
    ] = False,
    legacy_sha256: Annotated[
        bool,
        typer.Option(
            "--legacy-sha256",
            help="Unkeyed sha256(value)[:16] instead of keyed pseudonyms (migrations only).",
        ),
    ] = False,
    skip_invalid: Annotated[
        bool,
        typer.Option("--skip-invalid", help="Skip and count malformed records (default: exit 2)."),
    ] = False,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Drop, pseudonymise or redact PII in attributes before they go to Customer.io.

    Pseudonyms are keyed with the pseudonym_key credential (generated on first use). Example:

        cio-sec sanitize people.ndjson -o clean.ndjson --report
    """
    import cio_sec.sanitize
    from cio_sec.pseudonym import load_keys
    from cio_sec.sanitize.formats import InputFormat

    context = start(ctx, "sanitize", fmt)
    context.data_on_stdout = output is None and not check
    request = cio_sec.sanitize.SanitizeRequest(
        input=None if input_path == "-" else Path(input_path),
        output=output,
        input_format=InputFormat(input_format.value) if input_format else None,
        policy=policy,
        check=check,
        legacy_sha256=legacy_sha256,
        skip_invalid=skip_invalid,
        report=report,
    )
    with stop_signals_as_interrupt():
        # The key is read (and settings loaded) only when pseudonyms will be written.
        result = cio_sec.sanitize.run(
            request, lambda: load_keys(context.settings(), context.opener(), create=True)
        )
    if result.data_on_stdout:
        _finish_on_stderr(result, context)
    finish(result, context)


def _finish_on_stderr(result: Result, context: AppContext) -> None:
    """Stdout carries the sanitised records, so the report (text or JSON) goes to stderr."""
    from cio_sec.render import Streams, emit

    emit(
        context.command,
        result,
        context.fmt,
        Streams(sys.stderr, sys.stderr, context.color, context.quiet),
    )
    raise typer.Exit(int(result.exit_code))
