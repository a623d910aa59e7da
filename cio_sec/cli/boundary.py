"""The CLI's one error boundary: every exception becomes a message and an exit code.

Kept apart from the command modules so that they stay lists of thin commands.
Messages pass through the redactor; usage errors never echo what was typed (it may be a
pasted key); under ``--format json`` a failure is a JSON object on stdout as well.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from typer.core import TyperGroup

from cio_sec.errors import CioSecError, ExitCode
from cio_sec.output import OutputFormat, Streams
from cio_sec.redact import ELLIPSIS

if TYPE_CHECKING:
    from typer._click import Context as ClickContext


class ErrorBoundaryGroup(TyperGroup):
    """The one error boundary: exceptions become a message on stderr and an exit code."""

    def invoke(self, ctx: ClickContext) -> Any:
        """Run the command; map what escapes it to the documented exit codes."""
        try:
            return super().invoke(ctx)
        except typer.Exit:
            raise
        except typer.TyperException as exc:
            exc.message = hide_argument_values(exc.message)
            raise
        except BrokenPipeError:
            _stdout_closed()
        except typer.Abort:
            _fail(ctx, ExitCode.INTERRUPTED, "aborted")
        except CioSecError as exc:
            _fail(ctx, exc.exit_code, exc.message, exc.hint, kind=type(exc).__name__)
        except KeyboardInterrupt:
            _fail(ctx, ExitCode.INTERRUPTED, "interrupted")
        except Exception as exc:  # noqa: BLE001 - the boundary: any bug becomes exit 70
            _internal_error(ctx, exc)


#: What a usage error may echo back: names and short values, never anything as long as
#: a Customer.io key (20 characters and more).
_HARMLESS_WORD = re.compile(r"[A-Za-z_-]{1,30}|[A-Za-z0-9_.-]{1,12}")


def hide_argument_values(message: str) -> str:
    """Mask values a usage error would echo; what was typed may be a pasted key.

    ``cio-sec credentials set track_api_key 0123…`` must not print the key back in
    "Got unexpected extra argument", nor ``--0123…`` in "No such option", and neither may a
    key typed as a command or choice.
    """

    def _quoted(match: re.Match[str]) -> str:
        word = match.group(1)
        return match.group(0) if _HARMLESS_WORD.fullmatch(word) else "'…'"

    message = re.sub(r"'([^']*)'", _quoted, message)
    message = re.sub(
        r"(No such option: )(-{1,2})(\S+)",
        lambda m: (
            m.group(0)
            if _HARMLESS_WORD.fullmatch(m.group(3))
            else f"{m.group(1)}{m.group(2)}{ELLIPSIS} (not shown: secrets are never accepted "
            "as options; use --stdin or the hidden prompt)"
        ),
        message,
    )
    return re.sub(
        r"unexpected extra argument(?:\(s\)|s)? \((.*)\)",
        lambda m: (
            m.group(0)
            if _HARMLESS_WORD.fullmatch(m.group(1))
            else "unexpected extra argument (not shown: secrets are never accepted as arguments; "
            "use --stdin or the hidden prompt)"
        ),
        message,
    )


def silence_closed_stdout() -> None:
    """The reader of stdout went away (``| head``): write nothing more, say nothing.

    NOTE: Python would flush stdout again at exit and print a second error.
    """
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _stdout_closed() -> NoReturn:
    """Stdout closed outside a command's result: stop quietly, like an interruption."""
    silence_closed_stdout()
    raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def _fail(
    ctx: ClickContext,
    code: ExitCode,
    message: str,
    hint: str | None = None,
    *,
    kind: str = "Interrupted",
) -> NoReturn:
    streams = Streams.system(color=False)
    streams.message(f"error: {message}")
    if hint:
        streams.message(f"hint: {hint}")
    _error_document(ctx, code, kind, message, hint)
    raise typer.Exit(int(code)) from None


def _internal_error(ctx: ClickContext, exc: BaseException) -> NoReturn:
    streams = Streams.system(color=False)
    if ctx.find_root().params.get("debug"):
        import traceback

        # NOTE: formatted by hand (no locals) and redacted line by line.
        streams.message("".join(traceback.format_exception(exc)).rstrip())
    else:
        streams.message(f"internal error: {type(exc).__name__}: {exc}")
        streams.message("hint: this is a bug in cio-sec; re-run with --debug for a traceback")
    _error_document(ctx, ExitCode.INTERNAL, "InternalError", f"{type(exc).__name__}: {exc}", None)
    raise typer.Exit(int(ExitCode.INTERNAL)) from None


def _error_document(
    ctx: ClickContext, code: ExitCode, kind: str, message: str, hint: str | None
) -> None:
    """Under ``--format json`` a failure is a JSON object on stdout too, for scripts."""
    context = ctx.find_root().obj
    if getattr(context, "fmt", None) is not OutputFormat.JSON:
        return
    from cio_sec.output import emit_error

    streams = context.streams
    if getattr(context, "data_on_stdout", False):  # never mixed into the data
        streams = Streams(streams.err, streams.err, color=False)
    emit_error(context.command, int(code), kind, message, hint, streams)
