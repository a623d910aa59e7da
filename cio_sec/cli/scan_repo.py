"""``cio-sec scan-repo``: find leaked Customer.io credentials in a repository's history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cio_sec.cli.common import (
    EXIT_CODES_EPILOG,
    AppContext,
    ReportFormat,
    ReportFormatOption,
    finish,
    finish_sarif,
    start,
    stop_signals_as_interrupt,
)
from cio_sec.cli.help import HelpfulCommand
from cio_sec.render import OutputFormat

if TYPE_CHECKING:
    from rich.progress import Progress

    from cio_sec.scan_repo import Endpoints


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command("scan-repo", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)(scan_repo_command)


def scan_repo_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATH",
            help="Repository (or, with --no-history, directory) to scan; with --files, the files.",
            show_default=False,
        ),
    ] = None,
    include_unreachable: Annotated[
        bool,
        typer.Option(
            "--include-unreachable",
            help="Also scan dangling and unreachable objects (what a force-push left behind).",
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="REV", help="Only commits not reachable from REV."),
    ] = None,
    branch: Annotated[
        list[str] | None,
        typer.Option("--branch", metavar="NAME", help="Only history reachable from NAME (repeat)."),
    ] = None,
    staged: Annotated[
        bool,
        typer.Option("--staged", help="Scan only what is staged for the next commit (pre-commit)."),
    ] = False,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Scan the files on disk only, not git history.")
    ] = False,
    files: Annotated[
        bool,
        typer.Option(
            "--files",
            help="Scan the PATHs given as files, as they are on disk (pre-commit, --all-files).",
        ),
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", metavar="FILE", help="Accepted fingerprints (JSON)."),
    ] = None,
    write_baseline: Annotated[
        bool,
        typer.Option("--write-baseline", help="Write every finding to the --baseline file."),
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Ask Customer.io (read-only GETs, both regions) whether each credential is live.",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --verify.")] = False,
    fmt: ReportFormatOption = ReportFormat.TEXT,
) -> None:
    """Find leaked Customer.io credentials in every blob of a repository's history.

    Exit 1 when there are findings the baseline does not accept. Example:

        cio-sec scan-repo . --include-unreachable --format json
    """
    from cio_sec import scan_repo

    output = OutputFormat.TEXT if fmt is ReportFormat.SARIF else OutputFormat(fmt.value)
    context = start(ctx, "scan-repo", output)
    path, targets = scan_repo.scan_targets(paths or [], files=files)
    endpoints = _endpoints(context, yes=yes) if verify else None
    request = scan_repo.ScanRequest(
        path=path,
        include_unreachable=include_unreachable,
        since=since,
        branches=tuple(branch or ()),
        staged=staged,
        no_history=no_history,
        files=targets,
        baseline=baseline,
        write_baseline=write_baseline,
        verify=endpoints,
    )
    with stop_signals_as_interrupt(), _progress_bar(context) as ui:
        report = scan_repo.run(request, ui)
    if fmt is ReportFormat.SARIF:
        finish_sarif(report, context)
    finish(report, context)


def _endpoints(context: AppContext, *, yes: bool) -> Endpoints:
    """Confirm the network check first; then where to send it (settings honour overrides)."""
    from cio_sec.errors import InteractionRequiredError
    from cio_sec.scan_repo import Endpoints

    settings = context.settings()
    if not yes:
        if settings.non_interactive:
            raise InteractionRequiredError(
                "--verify sends requests to Customer.io and needs confirmation",
                hint="add --yes to confirm non-interactively",
            )
        typer.confirm(
            "Check each credential found against Customer.io (read-only GET requests, "
            "both regions)?",
            abort=True,
            err=True,
        )
    return Endpoints(
        track_url=settings.track_url, app_url=settings.app_url, timeout=settings.timeout
    )


class _ProgressBar:
    """A progress bar over objects on stderr: the scan's `ScanUi`."""

    def __init__(self, bar: Progress) -> None:
        self._bar = bar
        self._task = bar.add_task("scanning objects", total=None)

    def progress(self, done: int, total: int) -> None:
        self._bar.update(self._task, completed=done, total=max(total, done))


@contextmanager
def _progress_bar(context: AppContext) -> Iterator[_ProgressBar | None]:
    """A progress bar, only on a terminal and without --quiet."""
    if not context.streams.shows_progress:
        yield None
        return
    from rich.progress import Progress

    with Progress(console=context.streams.console(stderr=True), transient=True) as bar:
        yield _ProgressBar(bar)
