"""``cio-sec rotate KIND``: guided key rotation, and the operator the rotation talks to."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from cio_sec.cli.common import (
    EXIT_CODES_EPILOG,
    FormatOption,
    finish,
    read_stdin_text,
    start,
    stop_signals_as_interrupt,
)
from cio_sec.cli.help import HelpfulCommand
from cio_sec.errors import InputError, InteractionRequiredError
from cio_sec.render import OutputFormat, Streams

if TYPE_CHECKING:
    from cio_sec.rotate import Action, Step, StepStatus

_MARKS = {"done": "[x]", "failed": "[!]", "waiting": "[ ]", "pending": "[ ]"}


class RotateKind(str, Enum):
    """What can be rotated."""

    TRACK = "track"
    APP = "app"
    WEBHOOK = "webhook"
    PSEUDONYM = "pseudonym"


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command("rotate", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)(rotate_command)


def rotate_command(
    ctx: typer.Context,
    kind: Annotated[RotateKind, typer.Argument(help="track, app, webhook or pseudonym.")],
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the rotation in progress.")
    ] = False,
    rollback: Annotated[
        bool, typer.Option("--rollback", help="Restore the previous value and forget the attempt.")
    ] = False,
    abort: Annotated[
        bool, typer.Option("--abort", help="Forget the attempt (stored values stay as they are).")
    ] = False,
    new_key_stdin: Annotated[
        bool,
        typer.Option(
            "--new-key-stdin",
            help="Read the new key from stdin (track: site ID and key, one per line).",
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Confirm; required when non-interactive.")
    ] = False,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Rotate a key in the safe order: new key tested and stored before the old one dies.

    A numbered checklist on stderr ticks as steps complete; state is saved after each
    step (fingerprints only), so --resume continues after a crash. Examples:

        cio-sec rotate track

        cio-sec rotate track --new-key-stdin --yes < new-site-id-and-key.txt

        cio-sec rotate track --resume --yes
    """
    from cio_sec import rotate

    context = start(ctx, "rotate", fmt)
    action = _action(resume=resume, rollback=rollback, abort=abort)
    settings = context.settings()
    operator = TerminalOperator(
        context.streams,
        interactive=not settings.non_interactive and not new_key_stdin,
        from_stdin=new_key_stdin,
        kind=kind.value,
    )
    with stop_signals_as_interrupt():  # a closed terminal stops after the step it is on
        request = rotate.RotationRequest(kind=rotate.Kind(kind.value), action=action, yes=yes)
        result = rotate.run(request, settings, context.opener(), operator)
    finish(result, context)


def _action(*, resume: bool, rollback: bool, abort: bool) -> Action:
    from cio_sec.rotate import Action

    chosen = [
        action
        for action, flag in (
            (Action.RESUME, resume),
            (Action.ROLLBACK, rollback),
            (Action.ABORT, abort),
        )
        if flag
    ]
    if len(chosen) > 1:
        raise typer.BadParameter("choose one of --resume, --rollback and --abort")
    return chosen[0] if chosen else Action.RUN


class TerminalOperator:
    """The `cio_sec.rotate.RotationUi` of a terminal: stderr, hidden prompts, or stdin lines."""

    def __init__(self, streams: Streams, *, interactive: bool, from_stdin: bool, kind: str):
        self.streams = streams
        self._interactive = interactive
        self._from_stdin = from_stdin
        self._kind = kind
        self._lines: list[str] | None = None

    @property
    def interactive(self) -> bool:
        """Whether prompts and confirmations can be answered."""
        return self._interactive

    def tick(self, number: int, total: int, step: Step, status: StepStatus, detail: str) -> None:
        """One checklist line on stderr (none with --quiet)."""
        suffix = f" — {detail}" if detail else ""
        self.streams.note(f"{_MARKS[status]} {number}/{total} {step.title}{suffix}")

    def say(self, text: str) -> None:
        """An instruction on stderr."""
        self.streams.message(f"    {text}")

    def warn(self, text: str) -> None:
        """A warning on stderr."""
        self.streams.message(f"warning: {text}")

    def read_new_key(self, label: str) -> str:
        """The next line of stdin, or a hidden prompt.

        Raises:
            InputError: stdin is not UTF-8 or has no line left.
            InteractionRequiredError: neither stdin nor a prompt is available.
        """
        from cio_sec.redact import register

        if self._from_stdin:
            lines = self._stdin_lines()
            if not lines:
                raise InputError(f"stdin has no line for the {label}", path="<stdin>")
            return lines.pop(0)
        if not self._interactive:
            raise InteractionRequiredError(
                f"the {label} is needed but the session is non-interactive",
                hint=f"pipe it in: ... | cio-sec rotate {self._kind} --new-key-stdin --yes",
            )
        value = str(typer.prompt(f"{label} (input hidden)", hide_input=True, err=True))
        register(value)
        return value

    def _stdin_lines(self) -> list[str]:
        from cio_sec.redact import register

        if self._lines is None:
            text = read_stdin_text("stdin")
            self._lines = [line for line in text.splitlines() if line.strip()]
            for line in self._lines:
                register(line)  # before anything can echo it
        return self._lines

    def confirm(self, question: str) -> bool:
        """Ask yes/no on stderr (default no)."""
        return bool(typer.confirm(question, default=False, err=True))

    def wait(self, instruction: str) -> None:
        """Show the instruction and wait for Enter."""
        self.say(instruction)
        typer.prompt("Press Enter when done", default="", show_default=False, err=True)
