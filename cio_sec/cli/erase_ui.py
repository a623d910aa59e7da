"""What ``erase`` shows and asks on the terminal: the plans, the typed count, the progress bar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from cio_sec.erase import Plan
    from cio_sec.purge import PurgePlan
    from cio_sec.render import Streams


class TerminalUi:
    """The plan and notes on stderr, the typed confirmation, a progress bar on a TTY."""

    def __init__(self, streams: Streams) -> None:
        self._streams = streams
        self._progress: Any = None
        self._task: Any = None
        self._base = 0

    def note(self, text: str) -> None:
        """One line on stderr (none with --quiet)."""
        self._streams.note(text)

    def show_plan(self, plan: Plan) -> None:
        """The plan, on stderr."""
        verb = "would erase" if plan.dry_run else "erase"
        self.note(
            f"plan: {verb} {plan.left} people ({plan.people} in job {plan.job}, "
            f"{plan.invalid} invalid skipped) from workspace {plan.workspace}, "
            f"region {plan.region}"
        )
        self.note(
            f"plan: actions {', then '.join(plan.actions)}; "
            f"api {plan.api.value} ({plan.api_reason}); rate {plan.rate:g}/s; "
            f"ticket {plan.ticket or '(none)'}; input {plan.source}"
        )

    def confirm(self, plan: Plan) -> bool:
        """Ask for the number of people, typed."""
        return typed_count("erase", plan.left)

    def progress_start(self, total: int, done: int) -> None:
        """Start a Rich progress bar on stderr, when stderr is a terminal (and not --quiet)."""
        if not self._streams.shows_progress:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._base = done
        self._progress = Progress(
            TextColumn("erasing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[speed]} people/s"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[failed]} failed"),
            console=self._streams.console(stderr=True),
        )
        self._task = self._progress.add_task(
            "erase", total=total, completed=done, speed="-", failed=0
        )
        self._progress.start()

    def progress(self, erased: int, failed: int) -> None:
        """Move the bar."""
        if self._progress is None:
            return
        task = self._progress.tasks[0]
        speed = f"{task.speed:.0f}" if task.speed else "-"
        self._progress.update(
            self._task, completed=self._base + erased + failed, failed=failed, speed=speed
        )

    def progress_stop(self) -> None:
        """Stop the bar."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class PurgeTerminalUi:
    """The purge plan and notes on stderr, and the typed confirmation."""

    def __init__(self, streams: Streams) -> None:
        self._streams = streams

    def note(self, text: str) -> None:
        """One line on stderr (none with --quiet)."""
        self._streams.note(text)

    def show_purge_plan(self, plan: PurgePlan) -> None:
        """The plan, with a count per attribute, on stderr."""
        verb = "would remove" if plan.dry_run else "remove"
        counts = ", ".join(
            f"{name} ({plan.per_attribute.get(name, 0)})" for name in plan.attributes
        )
        self.note(
            f"plan: {verb} {counts} from {plan.left} people ({plan.people} in purge {plan.job}, "
            f"{plan.holding_none} of the input hold none) in workspace {plan.workspace}, "
            f"region {plan.region}; nobody is deleted"
        )
        self.note(
            f"plan: rate {plan.rate:g}/s; ticket {plan.ticket or '(none)'}; input {plan.source}"
        )

    def confirm_purge(self, plan: PurgePlan) -> bool:
        """Ask for the number of people, typed."""
        return typed_count("purge", plan.left)


def typed_count(verb: str, people: int) -> bool:
    """Ask for the number of people, typed on stderr; True when it is the right number."""
    # NOTE: the empty default lets Enter alone decline; shown, it would read "[]".
    answer = typer.prompt(
        f"Type the number of people to {verb} ({people}) to go ahead",
        err=True,
        default="",
        show_default=False,
    )
    return str(answer).strip() == str(people)
