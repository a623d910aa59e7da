"""The CLI's one error boundary: every exception becomes a message and an exit code.

Kept apart from the command modules so that they stay lists of thin commands.
Messages pass through the redactor; usage errors never echo what was typed (it may be a
pasted key); under ``--format json`` a failure is a JSON object on stdout as well.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from typer._click.exceptions import NoArgsIsHelpError
from typer.core import TyperGroup

from cio_sec.cli.help import HelpStyle
from cio_sec.errors import NO_ROOM_ERRNOS, NO_ROOM_HINT, CioSecError, ExitCode, error_type_name
from cio_sec.redact import ELLIPSIS, redact
from cio_sec.render import OutputFormat, Streams
from cio_sec.terminal import printable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from typer._click import Context as ClickContext


class ErrorBoundaryGroup(HelpStyle, TyperGroup):
    """The one error boundary: exceptions become a message on stderr and an exit code."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: ClickContext | None = None,
        **extra: Any,
    ) -> ClickContext:
        """Parse the arguments; ``--help`` and ``--version`` print while parsing."""
        typed = list(args)  # parsing consumes the list
        try:
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            stdout_closed()
        except typer.TyperException as exc:  # Click's usage errors
            usage_error(exc, typed if parent is None else parent.meta.get(_ARGV))
            raise

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        """Keep the command line as typed: a usage error looks in it for ``--format json``."""
        ctx.meta.setdefault(_ARGV, list(args))  # the root's; subgroups share its meta
        return super().parse_args(ctx, args)

    def invoke(self, ctx: ClickContext) -> Any:
        """Run the command; map what escapes it to the documented exit codes."""
        try:
            return super().invoke(ctx)
        except typer.Exit:
            raise
        except typer.TyperException as exc:  # Click's usage errors
            usage_error(exc, ctx.meta.get(_ARGV))
            raise
        except BrokenPipeError:
            stdout_closed()
        except typer.Abort:
            _fail(ctx, ExitCode.INTERRUPTED, "aborted")
        except CioSecError as exc:
            _fail(ctx, exc.exit_code, exc.message, exc.hint, kind=error_type_name(exc))
        except KeyboardInterrupt:
            _fail(ctx, ExitCode.INTERRUPTED, "interrupted")
        except Exception as exc:  # noqa: BLE001 - the boundary: any bug becomes exit 70
            no_room = _no_room(exc)
            if no_room:
                _fail(ctx, ExitCode.CONFIG, no_room, NO_ROOM_HINT, kind="DiskFullError")
            _internal_error(ctx, exc)


_ARGV = "cio_sec.argv"


def usage_error(exc: typer.TyperException, argv: list[str] | None) -> None:
    """Mask what a usage error echoes; under JSON, also say it as the envelope on stdout.

    Parsing failed, so the format is looked for in the words typed and in
    ``CIO_SEC_FORMAT``. Click then prints the usage on stderr and exits 2, as always.
    """
    if getattr(exc, "cio_sec_reported", False):  # an inner group said it already
        return
    exc.cio_sec_reported = True  # type: ignore[attr-defined]
    exc.message = hide_argument_values(exc.message)
    if isinstance(exc, NoArgsIsHelpError) or not wants_json(argv or [], os.environ):
        return
    from cio_sec.render import error_document

    context = getattr(exc, "ctx", None)
    path = context.command_path.split(" ", 1)[1:] if context else []
    hint = f"see `{context.command_path} --help`" if context else "see `cio-sec --help`"
    message = hide_argument_values(exc.format_message())  # Click composes some messages
    code = int(exc.exit_code)  # 2 for a usage error
    document = error_document(path[0] if path else None, code, "UsageError", message, hint)
    _write_document(document)


def wants_json(argv: list[str], environ: Mapping[str, str]) -> bool:
    """Whether ``-f json``/``--format json`` was typed (before ``--``) or CIO_SEC_FORMAT says so."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    for word, following in itertools.pairwise([*words, ""]):
        value = following if word in ("-f", "--format") else None
        if word.startswith("--format="):
            value = word.removeprefix("--format=")
        elif word.startswith("-f") and not word.startswith("--") and len(word) > 2:
            value = word[2:]
        if value is not None and value.lower() == "json":
            return True
    return environ.get("CIO_SEC_FORMAT", "").lower() == "json"


def _write_document(document: dict[str, Any]) -> None:
    import json

    try:
        sys.stdout.write(redact(json.dumps(document, indent=2, sort_keys=True)) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # the message goes to stderr all the same
        silence_closed_stdout()


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


def guard_standard_streams() -> None:
    """Give a closed stdin, stdout or stderr a stand-in before anything opens a file.

    Started with ``>&-``, descriptor 1 is free, and the first file opened (an output file, a
    journal) would take it and receive whatever is printed. A closed stdout becomes a pipe
    nobody reads, so writing to it fails as under ``| head`` and ends the same way; a closed
    stdin or stderr becomes ``/dev/null``.
    """
    for fd in (0, 1, 2):
        if not _is_open(fd):
            _reopen(fd)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _reopen(fd: int) -> None:
    # NOTE: a new descriptor is always the lowest free one (POSIX), so with the lower ones
    # open, what is opened here lands on ``fd``.
    if fd == 1:
        _reader, writer = os.pipe()  # the reader lands on 1 ...
        os.dup2(writer, fd)  # ... and is closed by this: nobody will ever read
        os.close(writer)
    else:
        os.open(os.devnull, os.O_RDWR)
    stream = os.fdopen(fd, "r" if fd == 0 else "w", encoding="utf-8", closefd=False)
    setattr(sys, ("stdin", "stdout", "stderr")[fd], stream)


def silence_closed_stdout() -> None:
    """The reader of stdout went away: write nothing more to it.

    NOTE: Python would flush stdout again at exit and print a second error.
    """
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def stdout_closed() -> NoReturn:
    """Stdout is closed or its reader went away: one line on stderr, exit 141.

    Whatever the command finished before (a file written with ``-o``, people erased, a key
    stored) stays done; only the output that should have followed is missing.
    """
    silence_closed_stdout()
    with contextlib.suppress(OSError, ValueError):
        Streams.system(color=False).message(
            "error: stdout is closed, so the output stopped here; work already done is kept"
        )
    raise typer.Exit(int(ExitCode.OUTPUT_CLOSED)) from None


def _no_room(exc: Exception) -> str | None:
    """What to say when ``exc`` is a write that ran out of room; None for anything else.

    Mapped once here, so no command exits 70 on a full disk, whichever file it was writing.
    """
    if isinstance(exc, OSError) and exc.errno in NO_ROOM_ERRNOS:
        where = f"cannot write {exc.filename}" if exc.filename else "cannot write a file"
        return f"{where}: {exc.strerror}"
    if getattr(exc, "sqlite_errorname", None) == "SQLITE_FULL":  # a journal, say
        return f"cannot write a database: {exc}"
    return None


def _fail(
    ctx: ClickContext,
    code: ExitCode,
    message: str,
    hint: str | None = None,
    *,
    kind: str = "Interrupted",
) -> NoReturn:
    streams = Streams.system(color=False)
    # NOTE: messages can quote a server's answer or a file name: no escape reaches the terminal.
    streams.message(printable(redact(f"error: {message}")))
    if hint:
        streams.message(printable(redact(f"hint: {hint}")))
    _error_document(ctx, code, kind, message, hint)
    raise typer.Exit(int(code)) from None


def _internal_error(ctx: ClickContext, exc: BaseException) -> NoReturn:
    streams = Streams.system(color=False)
    if ctx.find_root().params.get("debug"):
        import traceback

        # NOTE: formatted by hand (no locals) and redacted line by line.
        streams.message(printable(redact("".join(traceback.format_exception(exc)).rstrip())))
    else:
        streams.message(printable(redact(f"internal error: {type(exc).__name__}: {exc}")))
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
    from cio_sec.render import emit_error

    streams = context.streams
    if getattr(context, "data_on_stdout", False):  # never mixed into the data
        streams = Streams(streams.err, streams.err, color=False)
    try:
        emit_error(context.command, int(code), kind, message, hint, streams)
    except BrokenPipeError:  # the message is on stderr already
        silence_closed_stdout()
