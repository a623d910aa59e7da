"""``cio-sec erase``: GDPR/CCPA erasure of one person or a bulk file, and job status."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cio_sec.bounds import CONCURRENCY, RATE
from cio_sec.cli.common import EXIT_CODES_EPILOG, FormatOption, finish, start
from cio_sec.output import OutputFormat, Streams

if TYPE_CHECKING:
    from cio_sec.erase import Plan


class Api(str, Enum):
    """Which Track API erases: one request per action, or v2 batches."""

    V1 = "v1"
    BATCH = "batch"


class IdTypeChoice(str, Enum):
    """The identifier types ``--id-type`` accepts."""

    ID = "id"
    EMAIL = "email"
    CIO_ID = "cio_id"


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command("erase", epilog=EXIT_CODES_EPILOG)(erase)


def erase(
    ctx: typer.Context,
    job: Annotated[
        str | None, typer.Argument(help="With --status: the job to show (default: all).")
    ] = None,
    ids: Annotated[
        list[str] | None,
        typer.Option("--id", metavar="IDENTIFIER", help="A person to erase (repeatable)."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="CSV or one-per-line file of people; - reads stdin."),
    ] = None,
    column: Annotated[
        str | None,
        typer.Option(
            "--column", help="Header column to read (default: id, customer_id, cio_id or email)."
        ),
    ] = None,
    id_type: Annotated[
        IdTypeChoice | None,
        typer.Option("--id-type", help="Identifier type (default: from the column name, else id)."),
    ] = None,
    ticket: Annotated[
        str | None, typer.Option("--ticket", help="Request reference recorded in the audit trail.")
    ] = None,
    api: Annotated[
        Api, typer.Option("--api", help="v1: a request per action; batch: /api/v2/batch.")
    ] = Api.V1,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            min=RATE.minimum,
            max=RATE.maximum,
            help="Requests per second (default: profile, 100).",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=CONCURRENCY.minimum,
            max=CONCURRENCY.maximum,
            help="Requests in flight (default: profile, 16).",
        ),
    ] = None,
    max_attempts: Annotated[
        int,
        typer.Option(
            "--max-attempts", min=1, max=100, help="Attempts per request, retries included."
        ),
    ] = 8,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Validate, resolve the workspace and plan; erase nothing."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Skip the confirmation (cron).")] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Start the job over instead of resuming it.")
    ] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Erase the valid rows; count and list the rest.")
    ] = False,
    status: Annotated[
        bool, typer.Option("--status", help="List erasure jobs and their counts (or JOB's).")
    ] = False,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Erase people from Customer.io (suppress, then delete), resumably, with an audit trail.

    Shows the plan (people, workspace, region, ticket) and asks you to type the number of
    people; run the same command again to resume a stopped job. Example:

        cio-sec erase --file ids.csv --ticket DSR-1234 --dry-run
        cio-sec erase --file ids.csv --ticket DSR-1234
        cio-sec erase --status
    """
    from cio_sec.erase import ErasureRequest, IdType, InputSpec, job_status
    from cio_sec.erase import erase as run_erasure
    from cio_sec.errors import InputError

    context = start(ctx, "erase", fmt)
    if status:
        finish(job_status(context.settings(), job), context)
        return
    if job is not None or bool(ids) == (file is not None):
        raise InputError(
            "give either --file PATH or --id IDENTIFIER (repeatable); JOB goes with --status"
        )
    settings = context.settings()
    spec = InputSpec(
        path=file,
        ids=tuple(ids or ()),
        column=column,
        id_type=IdType(id_type.value) if id_type else None,
        v1_paths=api is Api.V1,
    )
    request = ErasureRequest(
        spec=spec,
        ticket=ticket,
        api=api.value,
        rate=rate if rate is not None else settings.rate,
        concurrency=concurrency if concurrency is not None else settings.concurrency,
        max_attempts=max_attempts,
        dry_run=dry_run,
        yes=yes,
        restart=restart,
        skip_invalid=skip_invalid,
    )
    ui = TerminalUi(context.streams)
    finish(run_erasure(request, settings, context.opener(), ui), context)


class TerminalUi:
    """The plan and notes on stderr, the typed confirmation, a progress bar on a TTY."""

    def __init__(self, streams: Streams) -> None:
        self._streams = streams
        self._progress: Any = None
        self._task: Any = None
        self._base = 0

    def note(self, text: str) -> None:
        """One line on stderr."""
        self._streams.message(text)

    def show_plan(self, plan: Plan) -> None:
        """The plan, on stderr."""
        verb = "would erase" if plan.dry_run else "erase"
        self.note(
            f"plan: {verb} {plan.left} people ({plan.people} in job {plan.job}, "
            f"{plan.invalid} invalid skipped) from workspace {plan.workspace}, "
            f"region {plan.region}"
        )
        self.note(
            f"plan: actions {', then '.join(plan.actions)}; api {plan.api}; rate {plan.rate:g}/s; "
            f"ticket {plan.ticket or '(none)'}; input {plan.source}"
        )

    def confirm(self, plan: Plan) -> bool:
        """Ask for the number of people, typed."""
        answer = typer.prompt(
            f"Type the number of people to erase ({plan.left}) to go ahead", err=True, default=""
        )
        return str(answer).strip() == str(plan.left)

    def progress_start(self, total: int, done: int) -> None:
        """Start a Rich progress bar on stderr, when stderr is a terminal."""
        if not self._streams.err.isatty():
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
