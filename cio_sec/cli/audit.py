"""``cio-sec audit check`` (the security checklist) and ``audit log verify|show|export``.

``cio-sec audit [PATH]`` is the documented alias of ``audit check [PATH]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click.core import ParameterSource
from typer.core import TyperArgument

from cio_sec.cli.boundary import ErrorBoundaryGroup
from cio_sec.cli.common import (
    EXIT_CODES_EPILOG,
    FormatOption,
    ReportFormat,
    ReportFormatOption,
    finish,
    finish_sarif,
    start,
    sub_app,
)
from cio_sec.cli.help import HelpfulCommand, argument_placeholder
from cio_sec.render import OutputFormat

if TYPE_CHECKING:
    from typer._click import Command, HelpFormatter
    from typer._click import Context as ClickContext

CHECK = "check"
"""The subcommand ``audit [PATH]`` stands for."""
LOG = "log"


class AuditGroup(ErrorBoundaryGroup):
    """``audit check [PATH]`` and ``audit log ...``; ``audit [PATH]`` means ``audit check``.

    The group has the checklist's options but no PATH: a first word that names no
    subcommand goes to ``check`` whole (``audit ./app --format sarif``), so ``audit log
    verify`` is never read as a directory named "log" (audit that one as ``./log``).
    """

    def resolve_command(
        self, ctx: ClickContext, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        """A first word that names no subcommand is the checklist's PATH."""
        if args and args[0] not in self.commands:
            return CHECK, self.commands[CHECK], args
        return super().resolve_command(ctx, args)

    def format_usage(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        """Two forms: the checklist on PATH, or a subcommand (never both)."""
        formatter.write_usage(ctx.command_path, "[OPTIONS] [PATH]")
        formatter.write_usage(ctx.command_path, self.subcommand_metavar, prefix="   or: ")

    def format_options(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        """PATH is described as ``check`` describes it, before the group's own options."""
        params = self.commands[CHECK].params
        path = next(param for param in params if isinstance(param, TyperArgument))
        with formatter.section("Arguments"):
            formatter.write_dl([(argument_placeholder(path), path.help or "")])
        super().format_options(ctx, formatter)


audit_app = typer.Typer(
    cls=AuditGroup,
    invoke_without_command=True,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)
log_app = sub_app(
    "Verify, show and export the erasure audit trail.\n\n"
    "Example:\n\n\b\n  cio-sec audit log verify\n  cio-sec audit log export --ticket GDPR-123"
)


def register(app: typer.Typer) -> None:
    """Add ``audit`` to the root app."""
    app.add_typer(audit_app, name="audit")


PathArgument = Annotated[
    str | None,
    typer.Argument(help="The application's repository (default: the current directory)."),
]
MaxKeyAgeOption = Annotated[
    int, typer.Option("--max-key-age", min=1, help="Days a credential may go unrotated.")
]
OnlineOption = Annotated[
    bool, typer.Option("--online", help="Also test each credential (read-only calls).")
]
StrictOption = Annotated[bool, typer.Option("--strict", help="WARN fails the audit too.")]
#: The checklist's options by parameter name, as typed.
_CHECKLIST_OPTIONS = {
    "max_key_age": "--max-key-age",
    "online": "--online",
    "strict": "--strict",
    "fmt": "--format",
}


@audit_app.callback(epilog=EXIT_CODES_EPILOG)
def audit_group(
    ctx: typer.Context,
    max_key_age: MaxKeyAgeOption = 90,
    online: OnlineOption = False,
    strict: StrictOption = False,
    fmt: ReportFormatOption = ReportFormat.TEXT,
) -> None:
    """Run the security checklist on an application repository and the current profile.

    `audit [PATH]` is short for `audit check [PATH]`. Each check is PASS, WARN, FAIL or
    MANUAL with one line of evidence and one of remediation. Exit 1 when anything FAILs
    (or WARNs, with --strict). No prompts, suitable for CI and cron. Example:

        cio-sec --profile prod audit check ./app --format sarif > audit.sarif
    """
    if ctx.invoked_subcommand is None:  # `audit` or `audit --strict`: the checklist on "."
        _run_checklist(ctx, None, max_key_age, online=online, strict=strict, fmt=fmt)
    elif ctx.invoked_subcommand == LOG:
        _refuse_checklist_options(ctx)


@audit_app.command(CHECK, cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)
def check(
    ctx: typer.Context,
    path: PathArgument = None,
    max_key_age: MaxKeyAgeOption = 90,
    online: OnlineOption = False,
    strict: StrictOption = False,
    fmt: ReportFormatOption = ReportFormat.TEXT,
) -> None:
    """Run the security checklist on an application repository and the current profile.

    Each check is PASS, WARN, FAIL or MANUAL with one line of evidence and one of
    remediation. Exit 1 when anything FAILs (or WARNs, with --strict). No prompts,
    suitable for CI and cron. Example:

        cio-sec --profile prod audit check ./app --format sarif > audit.sarif
    """
    _run_checklist(
        ctx,
        path,
        _typed_here_or_before(ctx, "max_key_age"),
        online=_typed_here_or_before(ctx, "online"),
        strict=_typed_here_or_before(ctx, "strict"),
        fmt=_typed_here_or_before(ctx, "fmt"),
    )


def _run_checklist(
    ctx: typer.Context,
    path: str | None,
    max_key_age: int,
    *,
    online: bool,
    strict: bool,
    fmt: ReportFormat,
) -> None:
    from cio_sec import audit

    json_or_text = OutputFormat.JSON if fmt is ReportFormat.JSON else OutputFormat.TEXT
    context = start(ctx, "audit", json_or_text)
    request = audit.AuditRequest(
        path=Path(path or "."), max_key_age=max_key_age, online=online, strict=strict
    )
    report = audit.run(request, context.settings(), context.opener())
    if fmt is ReportFormat.SARIF:
        finish_sarif(report, context)
    finish(report, context)


def _typed_here_or_before(ctx: typer.Context, name: str) -> Any:
    """An option typed after ``check``, else before it (``audit --strict ./app``).

    Otherwise ``check``'s own value: from the environment (``CIO_SEC_FORMAT``) or the default.
    """
    group = ctx.parent or ctx
    typed_before = group.get_parameter_source(name) is ParameterSource.COMMANDLINE
    if typed_before and ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
        return group.params[name]
    return ctx.params[name]


def _refuse_checklist_options(ctx: typer.Context) -> None:
    """``audit --strict log show``: the checklist's options mean nothing to ``audit log``."""
    typed = [
        spelling
        for name, spelling in _CHECKLIST_OPTIONS.items()
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    ]
    if typed:
        ctx.fail(
            f"{', '.join(typed)}: an option of `audit check`, not of `audit log`; "
            "give `audit log` commands their options after the command name"
        )


audit_app.add_typer(log_app, name=LOG)

TrailOption = Annotated[
    Path | None,
    typer.Option("--trail", help="The trail file (default: the profile's audit_log)."),
]


@log_app.command("verify", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)
def log_verify(
    ctx: typer.Context,
    path: Annotated[
        Path | None, typer.Argument(help="The trail file (default: the profile's audit_log).")
    ] = None,
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            help="A chain head recorded earlier; fail if the trail no longer contains it.",
        ),
    ] = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Check every record's hash, the chain, sequence numbers and time order.

    Prints the chain head (record it elsewhere; --expect-head detects truncation) or the
    first broken line and what is wrong there (exit 1). Example:

        cio-sec audit log verify --expect-head 3f1c…
    """
    from cio_sec import trail

    context = start(ctx, "audit log verify", fmt)
    request = trail.TrailVerifyRequest(path=path, expect_head=expect_head)
    report = trail.verify(request, context.settings(), context.opener())
    finish(report, context)


@log_app.command("show", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)
def log_show(
    ctx: typer.Context,
    ticket: Annotated[str | None, typer.Option("--ticket", help="Only this ticket.")] = None,
    job: Annotated[str | None, typer.Option("--job", help="Only this job id.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only records at or after (ISO 8601, UTC).")
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(
            "--subject",
            help="Only this person (id, email or cio_id), pseudonymised on the fly with the key.",
        ),
    ] = None,
    trail_path: TrailOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Show trail records matching every filter given; exit 1 if the chain is broken.

    The subject is never written anywhere: it is turned into its pseudonyms under the
    current and previous keys and compared. Example:

        cio-sec audit log show --subject jane@example.com
    """
    from cio_sec import trail

    context = start(ctx, "audit log show", fmt)
    request = trail.TrailShowRequest(
        ticket=ticket, job=job, since=since, subject=subject, path=trail_path
    )
    view = trail.show(request, context.settings(), context.opener())
    finish(view, context)


@log_app.command("export", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)
def log_export(
    ctx: typer.Context,
    ticket: Annotated[str, typer.Option("--ticket", help="The ticket to export evidence for.")],
    trail_path: TrailOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Export the erasure evidence of one ticket: Markdown (text) or JSON.

    Lists each subject pseudonym with its actions, outcomes and times, the jobs'
    workspace and operator, the chain head and whether the trail verifies. Exit 1 when
    the chain is broken or no record names the ticket. Example:

        cio-sec audit log export --ticket GDPR-123 > GDPR-123-evidence.md
    """
    from cio_sec import trail

    context = start(ctx, "audit log export", fmt)
    request = trail.EvidenceRequest(ticket=ticket, path=trail_path)
    report = trail.export(request, context.settings(), context.opener())
    finish(report, context)


__all__ = ["audit_app", "register"]
