"""``cio-sec audit``: the security checklist, and ``audit log verify|show|export``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperArgument

from cio_sec.cli.boundary import ErrorBoundaryGroup
from cio_sec.cli.common import (
    EXIT_CODES_EPILOG,
    FormatOption,
    ReportFormat,
    ReportFormatOption,
    finish,
    start,
    sub_app,
)
from cio_sec.cli.help import HelpfulCommand
from cio_sec.output import OutputFormat

if TYPE_CHECKING:
    from typer._click import Context as ClickContext
    from typer._click import HelpFormatter


class AuditGroup(ErrorBoundaryGroup):
    """``audit [PATH]`` runs the checks; ``audit log ...`` is a subcommand.

    NOTE: Click gives the group's optional PATH the first word, so ``audit log verify``
    would audit a directory named "log". A first word that names a subcommand is put back
    as the subcommand (audit a directory called ``log`` as ``./log``). Otherwise options
    may follow PATH (``audit ./app --format sarif``), which a group does not allow.
    """

    def parse_args(self, ctx: ClickContext, args: list[str]) -> list[str]:
        """Parse, then hand a PATH that is really a subcommand name back to dispatch."""
        ctx.allow_interspersed_args = not (args and args[0] in self.commands)
        super().parse_args(ctx, args)
        word = ctx.params.get("path")
        if isinstance(word, str) and word in self.commands:
            ctx.params["path"] = None
            ctx._protected_args, ctx.args = [word], [*ctx._protected_args, *ctx.args]
        return ctx.args

    def get_params(self, ctx: ClickContext) -> list[Any]:
        """Leave PATH out of a subcommand's usage line (``cio-sec audit log verify``)."""
        params = super().get_params(ctx)
        if ctx.command is self:
            return params
        return [param for param in params if not isinstance(param, TyperArgument)]

    def format_usage(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        """Two forms: the checklist on PATH, or a subcommand (never both)."""
        pieces = [piece for piece in self.collect_usage_pieces(ctx) if piece != _SUBCOMMAND]
        formatter.write_usage(ctx.command_path, " ".join(pieces))
        formatter.write_usage(ctx.command_path, _SUBCOMMAND, prefix="   or: ")


_SUBCOMMAND = "COMMAND [ARGS]..."
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
audit_app.add_typer(log_app, name="log")


def register(app: typer.Typer) -> None:
    """Add ``audit`` to the root app."""
    app.add_typer(audit_app, name="audit")


@audit_app.callback(epilog=EXIT_CODES_EPILOG)
def audit(
    ctx: typer.Context,
    path: Annotated[
        str | None,
        typer.Argument(help="The application's repository (default: the current directory)."),
    ] = None,
    max_key_age: Annotated[
        int, typer.Option("--max-key-age", min=1, help="Days a credential may go unrotated.")
    ] = 90,
    online: Annotated[
        bool, typer.Option("--online", help="Also test each credential (read-only calls).")
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="WARN fails the audit too.")] = False,
    fmt: ReportFormatOption = ReportFormat.TEXT,
) -> None:
    """Run the security checklist on an application repository and the current profile.

    Each check is PASS, WARN, FAIL or MANUAL with one line of evidence and one of
    remediation. Exit 1 when anything FAILs (or WARNs, with --strict). No prompts,
    suitable for CI and cron. Example:

        cio-sec --profile prod audit ./app --format sarif > audit.sarif
    """
    if ctx.invoked_subcommand is not None:
        return
    from cio_sec import audit
    from cio_sec.cli.audit_render import register_audit_renderers, write_sarif

    json_or_text = OutputFormat.JSON if fmt is ReportFormat.JSON else OutputFormat.TEXT
    context = start(ctx, "audit", json_or_text)
    request = audit.AuditRequest(
        path=Path(path or "."), max_key_age=max_key_age, online=online, strict=strict
    )
    report = audit.run(request, context.settings(), context.opener())
    if fmt is ReportFormat.SARIF:
        write_sarif(report, context)
    register_audit_renderers()
    finish(report, context)


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
    from cio_sec.cli.audit_render import register_audit_renderers

    context = start(ctx, "audit log verify", fmt)
    request = trail.TrailVerifyRequest(path=path, expect_head=expect_head)
    report = trail.verify(request, context.settings(), context.opener())
    register_audit_renderers()
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
    from cio_sec.cli.audit_render import register_audit_renderers

    context = start(ctx, "audit log show", fmt)
    request = trail.TrailShowRequest(
        ticket=ticket, job=job, since=since, subject=subject, path=trail_path
    )
    view = trail.show(request, context.settings(), context.opener())
    register_audit_renderers()
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
    from cio_sec.cli.audit_render import register_audit_renderers

    context = start(ctx, "audit log export", fmt)
    request = trail.EvidenceRequest(ticket=ticket, path=trail_path)
    report = trail.export(request, context.settings(), context.opener())
    register_audit_renderers()
    finish(report, context)


__all__ = ["audit_app", "register"]
