"""The cio-sec command line: parse, load settings, call one core function, render, exit.

One module per capability registers its commands here. Heavy modules (httpx, keyring,
rich's renderers, every capability's core) are imported inside the command that needs
them: shell completion runs this program on every TAB press.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cio_sec import __version__
from cio_sec.cli import (
    audit,
    completion,
    credentials,
    erase,
    rotate,
    sandbox,
    sanitize,
    scan_repo,
    webhook,
)
from cio_sec.cli.boundary import guard_standard_streams
from cio_sec.cli.common import EXIT_CODES_EPILOG, AppContext
from cio_sec.cli.credentials import CredentialName
from cio_sec.cli.global_flags import RootGroup
from cio_sec.cli.help import CONTEXT_SETTINGS

app = typer.Typer(
    cls=RootGroup,
    name="cio-sec",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    epilog=EXIT_CODES_EPILOG,
    context_settings=CONTEXT_SETTINGS,
    help="Keep a Customer.io integration secure: credentials in secret stores, safe key "
    "rotation, webhook signatures, PII sanitisation, GDPR erasure, audits, leaked-key scans "
    "and a local API sandbox.\n\n"
    "Example:\n\n\b\n  cio-sec credentials show\n"
    "  cio-sec erase --file ids.csv --ticket GDPR-123 --dry-run\n"
    "  cio-sec scan-repo . --format json\n"
    "  cio-sec audit --strict",
)
app.add_typer(credentials.credentials_app, name="credentials")
sandbox.register(app)
webhook.register(app)
audit.register(app)
rotate.register(app)
scan_repo.register(app)
sanitize.register(app)
erase.register(app)
completion.register(app)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"cio-sec {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            envvar="CIO_SEC_PROFILE",
            show_envvar=True,
            metavar="NAME",
            help="Profile in config.toml.",
        ),
    ] = None,
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", help="Dotenv file to read (default: ./.env)."),
    ] = None,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="Never use colour (also after the subcommand).")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            envvar="CIO_SEC_QUIET",
            show_envvar=True,
            help="No progress bars or notes on stderr; errors and results still print.",
        ),
    ] = False,
    non_interactive: Annotated[
        bool,
        typer.Option(
            "--non-interactive",
            help="Never prompt; fail with exit 3 instead (implied when stdin is not a TTY).",
        ),
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More logging on stderr.")
    ] = 0,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks of internal errors (no locals).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """Keep a Customer.io integration secure."""
    from cio_sec.logs import configure_logging

    configure_logging(verbose, debug=debug)
    ctx.obj = AppContext(
        profile=profile,
        env_file=env_file,
        non_interactive=non_interactive,
        color=not no_color and "NO_COLOR" not in os.environ,
        quiet=quiet,
    )


def main() -> None:
    """Console-script entry point."""
    guard_standard_streams()
    if "_CIO_SEC_COMPLETE" in os.environ:
        # Typer registers its shell-completion classes only with add_completion=True,
        # whose --install/--show-completion flags detect the wrong shell in CI; the
        # classes are registered here instead, for completion requests only.
        from typer.completion import completion_init  # type: ignore[attr-defined]

        completion_init()
    app(prog_name="cio-sec")


__all__ = ["CredentialName", "app", "main"]
