"""``cio-sec credentials``: store, show and test credentials."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from cio_sec.cli.common import (
    EXIT_CODES_EPILOG,
    FormatOption,
    finish,
    read_secret,
    start,
    sub_app,
)
from cio_sec.cli.help import HelpfulCommand
from cio_sec.render import OutputFormat

credentials_app = sub_app(
    "Store, show and test Customer.io credentials (values are never printed).\n\n"
    'Example:\n\n\b\n  printf %s "$KEY" | cio-sec credentials set track_api_key --stdin\n'
    "  cio-sec credentials check",
)


class CredentialName(str, Enum):
    """The credentials cio-sec manages."""

    SITE_ID = "site_id"
    TRACK_API_KEY = "track_api_key"
    APP_API_KEY = "app_api_key"
    WEBHOOK_SIGNING_KEY = "webhook_signing_key"
    PSEUDONYM_KEY = "pseudonym_key"


@credentials_app.command("show", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)
def credentials_show(ctx: typer.Context, fmt: FormatOption = OutputFormat.TEXT) -> None:
    """Show where each credential comes from: reference, version, masked value, fingerprint.

    Values are never printed. Example:

        cio-sec --profile prod credentials show --format json
    """
    from cio_sec import credentials

    context = start(ctx, "credentials show", fmt)
    finish(
        credentials.show(credentials.ShowRequest(), context.settings(), context.opener()), context
    )


@credentials_app.command("set", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)
def credentials_set(
    ctx: typer.Context,
    name: Annotated[CredentialName, typer.Argument(help="Which credential to store.")],
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            metavar="REF",
            help="Secret reference to write, e.g. keyring:cio-sec/prod/track_api_key, "
            "dotenv:.env#CUSTOMERIO_TRACK_API_KEY, aws-sm:NAME#FIELD, aws-ssm:/PATH or "
            "vault:MOUNT/PATH#FIELD (default: the keyring entry of the profile, or the only "
            "writable store in the chain).",
        ),
    ] = None,
    from_stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the value from stdin instead of a prompt.")
    ] = False,
    generate: Annotated[
        bool,
        typer.Option(
            "--generate",
            help="pseudonym_key only: make a strong random key and store it (never printed), "
            "in the first writable store of the chain unless --store is given.",
        ),
    ] = False,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Store a credential; the value comes from a hidden prompt or stdin, never an option.

    The value it replaces is kept as the previous value (for rollback). Example:

        printf %s "$KEY" | cio-sec credentials set track_api_key --stdin
        cio-sec credentials set pseudonym_key --generate
    """
    from cio_sec import credentials

    context = start(ctx, "credentials set", fmt)
    destination = credentials.parse_store_option(store) if store is not None else None
    if generate and from_stdin:
        raise typer.BadParameter("--generate makes the value; do not pass --stdin too")
    value = (
        ""
        if generate
        else read_secret(
            name.value,
            from_stdin=from_stdin,
            context=context,
            stdin_hint=f"pipe it in: ... | cio-sec credentials set {name.value} --stdin",
        )
    )
    request = credentials.SaveRequest(
        name=name.value, value=value, store=destination, generate=generate
    )
    finish(credentials.save(request, context.settings(), context.opener()), context)


@credentials_app.command("check", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)
def credentials_check(ctx: typer.Context, fmt: FormatOption = OutputFormat.TEXT) -> None:
    """Test the credentials against Customer.io with read-only calls.

    Track pair: GET /api/v1/accounts/region; App key: GET /v1/workspaces. Reports the
    workspace and region, and says when the configured region is wrong. Example:

        cio-sec --profile prod credentials check
    """
    from cio_sec import credentials

    context = start(ctx, "credentials check", fmt)
    finish(
        credentials.check(credentials.CheckRequest(), context.settings(), context.opener()), context
    )
