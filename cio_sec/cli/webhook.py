"""``cio-sec verify-webhook``: verify, diagnose, sign, receive and probe webhook deliveries."""

from __future__ import annotations

from enum import Enum
from typing import IO, TYPE_CHECKING, Annotated

import typer

from cio_sec.bounds import TIMEOUT
from cio_sec.cli.common import (
    EXIT_CODES_EPILOG,
    AppContext,
    FormatOption,
    finish,
    start,
    sub_app,
)
from cio_sec.cli.help import HelpfulCommand
from cio_sec.render import SCHEMA_VERSION, OutputFormat, json_document

if TYPE_CHECKING:
    from cio_sec.webhook.commands import KeyChoice
    from cio_sec.webhook.delivery import VerifyOptions
    from cio_sec.webhook.limits import ServeLimits
    from cio_sec.webhook.receiver import DeliveryLine
    from cio_sec.webhook.recipe import Scheme

webhook_app = sub_app(
    "Verify a Customer.io webhook delivery and explain why it fails; sign test deliveries, "
    "run a verifying receiver, probe your own endpoint.\n\n"
    "Without a subcommand, verifies one delivery: exit 0 valid, 1 invalid (with the "
    "reason), 2 unreadable input, 3 no signing key.\n\n"
    "Example:\n\n\b\n  cio-sec verify-webhook --request capture.http --explain\n"
    "  cio-sec verify-webhook --body body.json --timestamp 1700000000 --signature 3f9a...",
    invoke_without_command=True,
)


class SchemeChoice(str, Enum):
    """The ``--scheme`` choices (mirrors `cio_sec.webhook.recipe.Scheme`, imported lazily)."""

    REPORTING = "reporting"
    PIPELINES = "pipelines"


SchemeOption = Annotated[
    SchemeChoice,
    typer.Option(
        "--scheme",
        help="reporting (X-CIO-Signature, HMAC-SHA256 of v0:timestamp:body) or pipelines "
        "(X-Signature, HMAC-SHA1 of the body).",
    ),
]
SecretRefOption = Annotated[
    list[str] | None,
    typer.Option(
        "--secret-ref",
        metavar="REF",
        help="Another secret reference to try (env:NAME, dotenv:PATH#NAME, keyring:S/U); "
        "repeatable. A reference, never the key itself.",
    ),
]
CurrentOnlyOption = Annotated[
    bool,
    typer.Option(
        "--current-only",
        help="Reject deliveries signed with a previous (rotated-out) key.",
    ),
]
ToleranceOption = Annotated[
    int,
    typer.Option("--tolerance", min=0, metavar="SECONDS", help="Allowed clock skew either way."),
]
AllowStaleOption = Annotated[
    bool, typer.Option("--allow-stale", help="Skip the age check (replaying old captures).")
]


_MAX_TIMESTAMP = 10**15 - 1
"""Largest timestamp verify accepts (`cio_sec.webhook.recipe.MAX_TIMESTAMP_DIGITS` digits)."""
_MAX_BODY = 16 * 1024 * 1024
"""Largest ``--max-body`` (`cio_sec.webhook.capture.MAX_BODY_BYTES`)."""


def register(app: typer.Typer) -> None:
    """Add the command group to the root app."""
    app.add_typer(webhook_app, name="verify-webhook")


def _keys(secret_ref: list[str] | None, current_only: bool) -> KeyChoice:
    from cio_sec.webhook.commands import KeyChoice

    return KeyChoice(tuple(secret_ref or ()), current_only)


def _options(
    scheme: SchemeChoice, tolerance: int, allow_stale: bool, now: int | None
) -> VerifyOptions:
    from cio_sec.webhook.delivery import VerifyOptions

    return VerifyOptions(_scheme(scheme), tolerance, allow_stale, now)


def _limits(
    max_connections: int, max_body: int, header_timeout: float, body_timeout: float
) -> ServeLimits:
    from cio_sec.webhook.limits import ServeLimits

    return ServeLimits(max_connections, max_body, header_timeout, body_timeout)


def _scheme(scheme: SchemeChoice) -> Scheme:
    from cio_sec.webhook.recipe import Scheme

    return Scheme(scheme.value)


@webhook_app.callback(epilog=EXIT_CODES_EPILOG)
def verify_webhook(
    ctx: typer.Context,
    body: Annotated[
        str | None,
        typer.Option("--body", metavar="FILE|-", help="The raw body, as bytes (- for stdin)."),
    ] = None,
    request: Annotated[
        str | None,
        typer.Option(
            "--request",
            metavar="FILE|-",
            help="A captured raw HTTP request: request line, headers, blank line, body.",
        ),
    ] = None,
    timestamp: Annotated[
        str | None,
        typer.Option("--timestamp", help="The X-CIO-Timestamp header value."),
    ] = None,
    signature: Annotated[
        str | None,
        typer.Option("--signature", help="The X-CIO-Signature (or X-Signature) header value."),
    ] = None,
    tolerance: ToleranceOption = 300,
    allow_stale: AllowStaleOption = False,
    now: Annotated[
        int | None,
        typer.Option("--now", metavar="UNIX_SECONDS", help="Check the age against this time."),
    ] = None,
    scheme: SchemeOption = SchemeChoice.REPORTING,
    explain: Annotated[
        bool,
        typer.Option("--explain", help="Show the signed string's shape and every check run."),
    ] = False,
    secret_ref: SecretRefOption = None,
    current_only: CurrentOnlyOption = False,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Verify one delivery; after a rejection, say what most likely went wrong.

    The diagnosis only explains a rejection, it never accepts a delivery. Example:

        cio-sec verify-webhook --request capture.http --explain
    """
    if ctx.invoked_subcommand is not None:
        return
    from cio_sec.webhook import commands

    context = start(ctx, "verify-webhook", fmt)
    verify_request = commands.VerifyRequest(
        body=body,
        raw_request=request,
        timestamp=timestamp,
        signature=signature,
        keys=_keys(secret_ref, current_only),
        options=_options(scheme, tolerance, allow_stale, now),
        explain=explain,
    )
    report = commands.verify(verify_request, context.settings(), context.opener())
    finish(report, context)


@webhook_app.command("sign", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)
def verify_webhook_sign(
    ctx: typer.Context,
    body: Annotated[
        str, typer.Option("--body", metavar="FILE|-", help="The body to sign (- for stdin).")
    ],
    timestamp: Annotated[
        int | None,
        typer.Option(
            "--timestamp",
            min=0,
            max=_MAX_TIMESTAMP,
            metavar="UNIX_SECONDS",
            help="Default: now.",
        ),
    ] = None,
    scheme: SchemeOption = SchemeChoice.REPORTING,
    secret_ref: SecretRefOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Print the signature headers for a body, for test fixtures and curl.

    Signs with the configured webhook signing key, or the first --secret-ref. Example:

        cio-sec verify-webhook sign --body body.json
    """
    from cio_sec.webhook import commands

    context = start(ctx, "verify-webhook sign", fmt)
    request = commands.SignRequest(
        body=body, keys=_keys(secret_ref, False), scheme=_scheme(scheme), timestamp=timestamp
    )
    result = commands.sign(request, context.settings(), context.opener())
    finish(result, context)


@webhook_app.command("serve", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)
def verify_webhook_serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 picks a free port.")] = 0,
    forward_to: Annotated[
        str | None,
        typer.Option("--forward-to", metavar="URL", help="Forward verified deliveries here."),
    ] = None,
    tolerance: ToleranceOption = 300,
    allow_stale: AllowStaleOption = False,
    scheme: SchemeOption = SchemeChoice.REPORTING,
    secret_ref: SecretRefOption = None,
    current_only: CurrentOnlyOption = False,
    max_connections: Annotated[
        int,
        typer.Option(
            "--max-connections",
            min=1,
            max=10_000,
            help="Connections served at once; more are answered 503 and closed.",
        ),
    ] = 64,
    max_body: Annotated[
        int,
        typer.Option(
            "--max-body",
            min=1,
            max=_MAX_BODY,
            metavar="BYTES",
            help="Largest body accepted; a larger one is refused with 413 before it is read.",
        ),
    ] = 1024 * 1024,
    header_timeout: Annotated[
        float,
        typer.Option(
            "--header-timeout",
            min=0.1,
            max=3600,
            metavar="SECONDS",
            help="Time a client has to send a request's headers (from connecting, or from "
            "the previous answer).",
        ),
    ] = 10.0,
    body_timeout: Annotated[
        float,
        typer.Option(
            "--body-timeout",
            min=0.1,
            max=3600,
            metavar="SECONDS",
            help="Time a client has to send the whole body once the headers are in.",
        ),
    ] = 30.0,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Receive deliveries, verify each, print one line per delivery until Ctrl-C.

    Invalid deliveries get 401; valid ones 200, or the --forward-to app's response. The
    first line on stdout is the URL. Bodies are logged only with -v. Slow, huge and
    excess clients are cut off by the limits below. Example:

        cio-sec verify-webhook serve --port 8080 --forward-to http://127.0.0.1:5000/hooks
    """
    from cio_sec.webhook import commands

    context = start(ctx, "verify-webhook serve", fmt)
    request = commands.ServeRequest(
        host=host,
        port=port,
        forward_to=forward_to,
        keys=_keys(secret_ref, current_only),
        options=_options(scheme, tolerance, allow_stale, None),
        limits=_limits(max_connections, max_body, header_timeout, body_timeout),
    )
    commands.serve(request, context.settings(), context.opener(), _ServeLines(context))


class _ServeLines:
    """``serve``'s events as lines on stdout: text, or one JSON envelope per line."""

    def __init__(self, context: AppContext) -> None:
        self.context = context

    def ready(self, url: str, labels: tuple[str, ...]) -> None:
        context = self.context
        listening = {"schema_version": SCHEMA_VERSION, "command": context.command, "ok": True}
        _line(context.streams.out, context.fmt, {**listening, "kind": "listening", "url": url}, url)
        from cio_sec.terminal import printable  # labels can hold a file name

        context.streams.note(printable(f"verifying with {', '.join(labels)}; Ctrl-C stops"))

    def delivered(self, line: DeliveryLine) -> None:
        context = self.context
        document = {**json_document(context.command, line), "kind": "delivery"}
        _line(context.streams.out, context.fmt, document, line.text())


def _line(out: IO[str], fmt: OutputFormat, document: dict[str, object], text: str) -> None:
    """One line per event: text, or the event's JSON envelope on one line."""
    import json

    from cio_sec.redact import redact
    from cio_sec.terminal import printable

    if fmt is OutputFormat.JSON:
        text = json.dumps(document, sort_keys=True)
    out.write(printable(redact(text), keep_newlines=False) + "\n")
    out.flush()


@webhook_app.command("probe", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)
def verify_webhook_probe(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Your own endpoint (http:// or https://).")],
    scheme: SchemeOption = SchemeChoice.REPORTING,
    stale_age: Annotated[
        int,
        typer.Option("--stale-age", min=1, metavar="SECONDS", help="Age of the stale delivery."),
    ] = 3600,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=TIMEOUT.minimum,
            max=TIMEOUT.maximum,
            help="Seconds to wait for each answer.",
        ),
    ] = 10.0,
    secret_ref: SecretRefOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Send REAL test deliveries to your endpoint: does it accept only the valid one?

    Sends a correctly signed delivery, a tampered one, a stale one and an unsigned one;
    exit 1 when the endpoint accepts any forgery (or rejects the valid one). Example:

        cio-sec verify-webhook probe https://staging.example.com/webhooks/customerio
    """
    from cio_sec.webhook import commands

    context = start(ctx, "verify-webhook probe", fmt)
    request = commands.ProbeRequest(
        url=url,
        keys=_keys(secret_ref, False),
        scheme=_scheme(scheme),
        stale_age=stale_age,
        timeout=timeout,
    )
    report = commands.probe(request, context.settings(), context.opener(), context.streams)
    finish(report, context)
