"""What every command module shares: the app context, the format option, start and finish.

Imports stay light: shell completion imports this on every TAB press.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from cio_sec.cli.boundary import ErrorBoundaryGroup
from cio_sec.cli.help import EXIT_CODES_EPILOG as EXIT_CODES_EPILOG  # re-exported
from cio_sec.errors import InputError, InteractionRequiredError
from cio_sec.render import OutputFormat, Streams

if TYPE_CHECKING:
    from cio_sec.audit.report import AuditReport
    from cio_sec.results import Result
    from cio_sec.scan_repo import ScanReport
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import StoreOpener


def sub_app(help_text: str, **kwargs: object) -> typer.Typer:
    """A command group with the same error boundary, epilog and help style as the root."""
    return typer.Typer(
        cls=ErrorBoundaryGroup,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        pretty_exceptions_show_locals=False,
        rich_markup_mode=None,
        epilog=EXIT_CODES_EPILOG,
        help=help_text,
        **kwargs,  # type: ignore[arg-type]
    )


@dataclass
class AppContext:
    """What the root callback learned, shared with every command through ``ctx.obj``."""

    profile: str | None
    env_file: Path | None
    non_interactive: bool
    color: bool
    quiet: bool = False
    """``--quiet``: no notes, no progress bars."""
    command: str = ""
    """The running command (``credentials check``), set when its body starts."""
    fmt: OutputFormat = OutputFormat.TEXT
    data_on_stdout: bool = False
    """Stdout carries the command's data (sanitised records): reports go to stderr."""
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def streams(self) -> Streams:
        """Stdout for data, stderr for messages (looked up now: test runners swap them)."""
        return Streams.system(color=self.color, quiet=self.quiet)

    def settings(self) -> Settings:
        """Load settings on first use, so commands that need none never read config.

        Raises:
            InputError: the config file is invalid.
            ConfigError: the profile or a setting is invalid.
        """
        if self._settings is None:
            self._settings = _load_settings(self)
            for warning in self._settings.warnings:
                self.streams.message(f"warning: {warning}")
        return self._settings

    def opener(self) -> StoreOpener:
        """Open secret stores for the current settings."""
        from cio_sec.stores.chain import store_opener

        return store_opener(self.settings(), os.environ)


def _load_settings(context: AppContext) -> Settings:
    from cio_sec.settings import CliFlags, read_settings

    flags = CliFlags(
        profile=context.profile,
        env_file=context.env_file,
        non_interactive=context.non_interactive,
        stdin_is_tty=sys.stdin.isatty(),
    )
    return read_settings(flags, os.environ, cwd=Path.cwd())


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        "-f",
        envvar="CIO_SEC_FORMAT",
        show_envvar=True,
        case_sensitive=False,
        help="text for people, json for scripts (one object on stdout).",
    ),
]


class ReportFormat(str, Enum):
    """Formats of commands whose findings suit code scanning (``audit``, ``scan-repo``)."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


ReportFormatOption = Annotated[
    ReportFormat,
    typer.Option(
        "--format",
        "-f",
        envvar="CIO_SEC_FORMAT",
        show_envvar=True,
        case_sensitive=False,
        help="text for people, json for scripts, sarif for code-scanning upload.",
    ),
]


def start(ctx: typer.Context, command: str, fmt: OutputFormat) -> AppContext:
    """Record which command runs in which format (errors are rendered in it too)."""
    context: AppContext = ctx.obj
    context.command = command
    context.fmt = fmt
    return context


def finish(result: Result, context: AppContext) -> None:
    """Render the result in the command's format and exit with its code."""
    from cio_sec.render import emit

    emit(context.command, result, context.fmt, context.streams)
    if result.exit_code:
        raise typer.Exit(int(result.exit_code))


def finish_sarif(report: AuditReport | ScanReport, context: AppContext) -> NoReturn:
    """Write the report's SARIF log on stdout and exit with its code."""
    from cio_sec.render.sarif import emit_sarif

    emit_sarif(report, context.streams)
    raise typer.Exit(int(report.exit_code))


def read_secret(name: str, *, from_stdin: bool, context: AppContext, stdin_hint: str) -> str:
    """Read a secret from stdin or a hidden prompt, registering it with the redactor first.

    Raises:
        InputError: stdin is not UTF-8.
        InteractionRequiredError: a prompt is needed but the session is non-interactive.
    """
    from cio_sec.redact import register

    if from_stdin:
        value = read_stdin_text("the value on stdin")
        register(value)  # before anything can echo it
        value = value[:-1] if value.endswith("\n") else value
        return value[:-1] if value.endswith("\r") else value
    if context.settings().non_interactive:
        raise InteractionRequiredError(
            f"a value for {name} is needed but the session is non-interactive",
            hint=stdin_hint,
        )
    value = typer.prompt(f"{name} (input hidden)", hide_input=True, err=True)
    register(value)
    return str(value)


def read_stdin_text(what: str) -> str:
    """All of stdin, decoded as UTF-8 (the bytes, where the stream has them).

    Raises:
        InputError: stdin is not UTF-8; ``what`` names it in the message.
    """
    raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    try:
        return raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise InputError(f"{what} is not valid UTF-8", path="<stdin>") from None


#: The signals that end a run the way Ctrl-C does: ``kill`` and a closed terminal.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextmanager
def stop_signals_as_interrupt() -> Iterator[None]:
    """Let SIGTERM and SIGHUP unwind like Ctrl-C (exit 130): state saved, temp files removed.

    Python's default for both ends the process at once, running no ``finally`` block; a
    closed terminal (SIGHUP) must not leave a job half-recorded.
    """

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, _interrupt) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
