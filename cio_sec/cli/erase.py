"""``cio-sec erase``: GDPR/CCPA erasure of one person or a bulk file, and job status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cio_sec.bounds import (
    CONCURRENCY,
    DEFAULT_VERIFY_WINDOW,
    RATE,
    VERIFY_RATE,
    VERIFY_WINDOW,
)
from cio_sec.cli.common import (
    EXIT_CODES_EPILOG,
    FormatOption,
    finish,
    start,
    stop_signals_as_interrupt,
)
from cio_sec.cli.erase_ui import PurgeTerminalUi, TerminalUi
from cio_sec.cli.help import HelpfulCommand
from cio_sec.render import OutputFormat

if TYPE_CHECKING:
    from typer._click import Context as ClickContext
    from typer._click import HelpFormatter

    from cio_sec.cli.common import AppContext
    from cio_sec.erase import InputSpec


class ApiChoice(str, Enum):
    """The Track APIs ``--api`` accepts (`cio_sec.erase.Api`'s values)."""

    AUTO = "auto"
    V1 = "v1"
    BATCH = "batch"


#: ``erase status [JOB]``: the first word that makes ``erase`` list its jobs, as ``--status``.
STATUS_WORD = "status"


class UnsetWith(str, Enum):
    """The value an identify call sets to remove an attribute."""

    EMPTY = "empty"
    NULL = "null"


class IdTypeChoice(str, Enum):
    """The identifier types ``--id-type`` accepts."""

    ID = "id"
    EMAIL = "email"
    CIO_ID = "cio_id"


class ErasureCommand(HelpfulCommand):
    """``erase``, whose usage also shows the ``erase status [JOB]`` spelling."""

    def format_usage(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        """The erasure (and ``verify``) form, then the job listing."""
        super().format_usage(ctx, formatter)
        formatter.write_usage(f"{ctx.command_path} {STATUS_WORD}", "[OPTIONS] [JOB]", "   or: ")


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command("erase", cls=ErasureCommand, epilog=EXIT_CODES_EPILOG)(erase_command)


def erase_command(
    ctx: typer.Context,
    job: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[verify] [JOB]",
            help="`status [JOB]` or `--status [JOB]`: the job to show (default: all). "
            "`verify JOB`: read a finished job's people back.",
        ),
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
        ApiChoice,
        typer.Option(
            "--api",
            help="auto: batch for a file of more than 100 people, else v1; "
            "v1: a request per action; batch: /api/v2/batch, 100 people a request.",
        ),
    ] = ApiChoice.AUTO,
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
        bool,
        typer.Option(
            "--status", help="List erasure jobs and their counts (or JOB's); as `erase status`."
        ),
    ] = False,
    no_verify: Annotated[
        bool,
        typer.Option("--no-verify", help="Do not read erased people back (they stay unverified)."),
    ] = False,
    verify_rate: Annotated[
        float | None,
        typer.Option(
            "--verify-rate",
            min=VERIFY_RATE.minimum,
            max=VERIFY_RATE.maximum,
            help="App API read-backs per second (default: profile verify_rate, 10).",
        ),
    ] = None,
    verify_window: Annotated[
        float,
        typer.Option(
            "--verify-window",
            min=VERIFY_WINDOW.minimum,
            max=VERIFY_WINDOW.maximum,
            metavar="SECONDS",
            help="How long a person still there is read back again (deletion can lag).",
        ),
    ] = DEFAULT_VERIFY_WINDOW,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            min=1,
            max=1_000_000,
            help="With verify: read back a uniform random sample of N people.",
        ),
    ] = None,
    attributes: Annotated[
        str | None,
        typer.Option(
            "--attributes",
            metavar="NAMES",
            help="Remove only these attributes (comma-separated) from each person; nobody "
            "is deleted. With --status: list the attribute purges.",
        ),
    ] = None,
    all_matching: Annotated[
        bool,
        typer.Option(
            "--all-matching",
            help="With --attributes: everyone the App API search finds holding them.",
        ),
    ] = False,
    unset_with: Annotated[
        UnsetWith,
        typer.Option(
            "--unset-with",
            help="With --attributes: the value that removes an attribute (empty string, or "
            "JSON null).",
        ),
    ] = UnsetWith.EMPTY,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Erase people from Customer.io (suppress, then delete), resumably, with an audit trail.

    Shows the plan (people, workspace, region, ticket) and asks you to type the number of
    people; run the same command again to resume a stopped job. `erase status [JOB]` is
    `erase --status [JOB]`; the people always come from `--file` or `--id` (a file named
    "status" is `--file status`). Example:

        cio-sec erase --file ids.csv --ticket DSR-1234 --dry-run
        cio-sec erase --file ids.csv --ticket DSR-1234
        cio-sec erase --status
        cio-sec erase status 3f2a9c0e1d2b4a58
        cio-sec erase verify 3f2a9c0e1d2b4a58 --sample 300 --file ids.csv
        cio-sec erase --attributes ssn --all-matching --ticket INC-7 --dry-run
    """
    from cio_sec import erase
    from cio_sec.errors import InputError

    context = start(ctx, "erase", fmt)
    words = list(job or ())
    if words[:1] == [STATUS_WORD] and not status:
        status, words = True, words[1:]
    spec = erase.InputSpec(
        path=file,
        ids=tuple(ids or ()),
        column=column,
        id_type=erase.IdType(id_type.value) if id_type else None,
        v1_paths=api is ApiChoice.V1,
    )
    if attributes is not None or all_matching:
        options = _PurgeOptions(
            attributes,
            all_matching,
            unset_with,
            ticket,
            rate,
            concurrency,
            verify_rate,
            verify_window,
        )
        _purge(context, words, spec, options, max_attempts, dry_run, yes, restart, status)
        return
    if words[:1] == ["verify"]:
        _verify_later(context, words[1:], spec, sample, verify_rate, verify_window)
        return
    if status:
        if len(words) > 1:
            raise InputError("--status takes at most one JOB")
        wanted = erase.StatusRequest(job=words[0] if words else None)
        finish(erase.status(wanted, context.settings()), context)
        return
    if words or bool(ids) == (file is not None):
        raise InputError(
            "give either --file PATH or --id IDENTIFIER (repeatable); JOB goes with --status "
            "or `erase verify JOB`"
        )
    settings = context.settings()
    request = erase.ErasureRequest(
        spec=spec,
        ticket=ticket,
        api=erase.Api(api.value),
        rate=rate if rate is not None else settings.rate,
        concurrency=concurrency if concurrency is not None else settings.concurrency,
        max_attempts=max_attempts,
        dry_run=dry_run,
        yes=yes,
        restart=restart,
        skip_invalid=skip_invalid,
        verify=not no_verify,
        verify_rate=verify_rate if verify_rate is not None else settings.verify_rate,
        verify_window=verify_window,
    )
    ui = TerminalUi(context.streams)
    with stop_signals_as_interrupt():  # the engine turns them into a resumable stop
        report = erase.run(request, settings, context.opener(), ui)
    finish(report, context)


@dataclass(frozen=True)
class _PurgeOptions:
    attributes: str | None
    all_matching: bool
    unset_with: UnsetWith
    ticket: str | None
    rate: float | None
    concurrency: int | None
    verify_rate: float | None
    verify_window: float


def _purge(
    context: AppContext,
    words: list[str],
    spec: InputSpec,
    options: _PurgeOptions,
    max_attempts: int,
    dry_run: bool,
    yes: bool,
    restart: bool,
    status: bool,
) -> None:
    """``erase --attributes``: remove attributes, keep the people."""
    from cio_sec import purge
    from cio_sec.errors import InputError

    if options.attributes is None:
        raise InputError("--all-matching goes with --attributes NAMES")
    names = purge.parse_attributes(options.attributes)
    settings = context.settings()
    if status:
        finish(purge.status(purge.PurgeStatusRequest(attributes=names), settings), context)
        return
    given = bool(spec.ids) or spec.path is not None
    if words or given == options.all_matching:
        raise InputError(
            "with --attributes, give the people with --file PATH or --id, or search for "
            "them with --all-matching (one of the two)"
        )
    request = purge.PurgeRequest(
        attributes=names,
        spec=spec if given else None,
        ticket=options.ticket,
        rate=options.rate if options.rate is not None else settings.rate,
        concurrency=options.concurrency
        if options.concurrency is not None
        else settings.concurrency,
        max_attempts=max_attempts,
        dry_run=dry_run,
        yes=yes,
        restart=restart,
        verify_rate=options.verify_rate
        if options.verify_rate is not None
        else settings.verify_rate,
        verify_window=options.verify_window,
        empty="" if options.unset_with is UnsetWith.EMPTY else None,
    )
    ui = PurgeTerminalUi(context.streams)
    finish(purge.run(request, settings, context.opener(), ui), context)


def _verify_later(
    context: AppContext,
    words: list[str],
    spec: InputSpec,
    sample: int | None,
    rate: float | None,
    window: float,
) -> None:
    """``erase verify JOB``: read a finished job's people back."""
    from cio_sec.erase.recheck import RecheckRequest, recheck
    from cio_sec.errors import InputError

    if len(words) != 1:
        raise InputError("`erase verify` takes exactly one JOB (see `cio-sec erase --status`)")
    settings = context.settings()
    given = spec if spec.ids or spec.path is not None else None
    request = RecheckRequest(
        job=words[0],
        sample=sample,
        spec=given,
        rate=rate if rate is not None else settings.verify_rate,
        window=window,
    )
    finish(recheck(request, settings, context.opener()), context)
