"""The cio-sec command line: parse, load settings, call one core function, render, exit.

Heavy modules (httpx, keyring, rich's renderers, every capability) are imported inside the
command that needs them: shell completion runs this program on every TAB press.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cio_sec import __version__
from cio_sec.cli_boundary import ErrorBoundaryGroup
from cio_sec.errors import EXIT_CODE_TABLE, ExitCode, InputError, InteractionRequiredError
from cio_sec.output import OutputFormat, Result, Streams

if TYPE_CHECKING:
    from cio_sec.credentials import StoreOpener
    from cio_sec.sandbox import SandboxInfo
    from cio_sec.settings import Settings

# "\b" tells Click not to re-wrap the table.
EXIT_CODES_EPILOG = "Exit codes:\n\n\b\n" + "\n".join(
    f"{int(code):>3}  {meaning}" for code, meaning in EXIT_CODE_TABLE
)


app = typer.Typer(
    cls=ErrorBoundaryGroup,
    name="cio-sec",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    epilog=EXIT_CODES_EPILOG,
    help="Keep a Customer.io integration secure: credentials and a local API sandbox.\n\n"
    "Example:\n\n\b\n  cio-sec credentials show\n"
    "  CIO_SEC_TRACK_URL=http://127.0.0.1:8765 CIO_SEC_APP_URL=http://127.0.0.1:8765 \\\n"
    "    cio-sec credentials check",
)
credentials_app = typer.Typer(
    cls=ErrorBoundaryGroup,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    epilog=EXIT_CODES_EPILOG,
    help="Store, show and test Customer.io credentials (values are never printed).\n\n"
    'Example:\n\n\b\n  printf %s "$KEY" | cio-sec credentials set track_api_key --stdin\n'
    "  cio-sec credentials check",
)
app.add_typer(credentials_app, name="credentials")


@dataclass
class AppContext:
    """What the root callback learned, shared with every command through ``ctx.obj``."""

    profile: str | None
    env_file: Path | None
    non_interactive: bool
    color: bool
    command: str = ""
    """The running command (``credentials check``), set when its body starts."""
    fmt: OutputFormat = OutputFormat.TEXT
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def streams(self) -> Streams:
        """Stdout for data, stderr for messages (looked up now: test runners swap them)."""
        return Streams.system(color=self.color)

    def settings(self) -> Settings:
        """Load settings on first use, so commands that need none never read config.

        Raises:
            InputError: the config file is invalid.
            ConfigError: the profile or a setting is invalid.
        """
        if self._settings is None:
            self._settings = _load_settings(self)
            for warning in self._settings.warnings:
                self.streams.message(f"warning: {warning}")
        return self._settings

    def opener(self) -> StoreOpener:
        """Open secret stores for the current settings."""
        from cio_sec.credentials import store_opener

        return store_opener(self.settings(), os.environ)


def _load_settings(context: AppContext) -> Settings:
    from cio_sec.settings import CliFlags, read_settings

    flags = CliFlags(
        profile=context.profile,
        env_file=context.env_file,
        non_interactive=context.non_interactive,
        stdin_is_tty=sys.stdin.isatty(),
    )
    return read_settings(flags, os.environ, cwd=Path.cwd())


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
            "--profile", envvar="CIO_SEC_PROFILE", show_envvar=True, help="Profile in config.toml."
        ),
    ] = None,
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", help="Dotenv file to read (default: ./.env)."),
    ] = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="Never use colour.")] = False,
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
    )


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        "-f",
        envvar="CIO_SEC_FORMAT",
        show_envvar=True,
        case_sensitive=False,
        help="text for people, json for scripts (one object on stdout).",
    ),
]


class CredentialName(str, Enum):
    """The credentials cio-sec manages."""

    SITE_ID = "site_id"
    TRACK_API_KEY = "track_api_key"
    APP_API_KEY = "app_api_key"
    WEBHOOK_SIGNING_KEY = "webhook_signing_key"
    PSEUDONYM_KEY = "pseudonym_key"


def _start(ctx: typer.Context, command: str, fmt: OutputFormat) -> AppContext:
    """Record which command runs in which format (errors are rendered in it too)."""
    context: AppContext = ctx.obj
    context.command = command
    context.fmt = fmt
    return context


def _finish(result: Result, context: AppContext) -> None:
    from cio_sec.cli_boundary import silence_closed_stdout
    from cio_sec.output import emit

    code = getattr(result, "exit_code", 0 if result.ok else ExitCode.CHECK_FAILED)
    try:
        emit(context.command, result, context.fmt, context.streams)
    except BrokenPipeError:
        silence_closed_stdout()  # `| head`: the answer, and so the exit code, stands
    if code:
        raise typer.Exit(int(code))


@credentials_app.command("show", epilog=EXIT_CODES_EPILOG)
def credentials_show(ctx: typer.Context, fmt: FormatOption = OutputFormat.TEXT) -> None:
    """Show where each credential comes from: reference, masked value, fingerprint.

    Values are never printed. Example:

        cio-sec --profile prod credentials show --format json
    """
    from cio_sec.credentials import show_credentials

    context = _start(ctx, "credentials show", fmt)
    _finish(show_credentials(context.settings(), context.opener()), context)


@credentials_app.command("set", epilog=EXIT_CODES_EPILOG)
def credentials_set(
    ctx: typer.Context,
    name: Annotated[CredentialName, typer.Argument(help="Which credential to store.")],
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Secret reference to write, e.g. keyring:cio-sec/prod/track_api_key or "
            "dotenv:.env#CUSTOMERIO_TRACK_API_KEY (default: the keyring entry of the "
            "profile, or the only writable store in the chain).",
        ),
    ] = None,
    from_stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the value from stdin instead of a prompt.")
    ] = False,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Store a credential; the value comes from a hidden prompt or stdin, never an option.

    The value it replaces is kept as the previous value (for rollback). Example:

        printf %s "$KEY" | cio-sec credentials set track_api_key --stdin
    """
    from cio_sec.credentials import parse_store_option, set_credential

    context = _start(ctx, "credentials set", fmt)
    destination = parse_store_option(store) if store is not None else None
    value = _read_secret(name.value, from_stdin=from_stdin, context=context)
    result = set_credential(
        context.settings(), name.value, value, context.opener(), store=destination
    )
    _finish(result, context)


def _read_secret(name: str, *, from_stdin: bool, context: AppContext) -> str:
    from cio_sec.redact import register

    if from_stdin:
        raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        try:
            value = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            raise InputError("the value on stdin is not valid UTF-8", path="<stdin>") from None
        register(value)  # before anything can echo it
        value = value[:-1] if value.endswith("\n") else value
        return value[:-1] if value.endswith("\r") else value
    if context.settings().non_interactive:
        raise InteractionRequiredError(
            f"a value for {name} is needed but the session is non-interactive",
            hint=f"pipe it in: ... | cio-sec credentials set {name} --stdin",
        )
    value = typer.prompt(f"{name} (input hidden)", hide_input=True, err=True)
    register(value)
    return str(value)


@credentials_app.command("check", epilog=EXIT_CODES_EPILOG)
def credentials_check(ctx: typer.Context, fmt: FormatOption = OutputFormat.TEXT) -> None:
    """Test the credentials against Customer.io with read-only calls.

    Track pair: GET /api/v1/accounts/region; App key: GET /v1/workspaces. Reports the
    workspace and region, and says when the configured region is wrong. Example:

        cio-sec --profile prod credentials check
    """
    from cio_sec.credentials import check_credentials

    context = _start(ctx, "credentials check", fmt)
    _finish(check_credentials(context.settings(), context.opener()), context)


@app.command("sandbox", epilog=EXIT_CODES_EPILOG)
def sandbox(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 picks a free port.")] = 0,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Run a local Customer.io API emulator on 127.0.0.1 until interrupted.

    Prints one JSON line on stdout with track_url, app_url, admin_url and the sandbox's
    credentials (throwaway values, valid only in this sandbox), whatever the format; text
    adds a human summary on stderr. Example:

        cio-sec sandbox --port 8765
    """
    from cio_sec.sandbox import Sandbox

    context = _start(ctx, "sandbox", fmt)

    def announce(info: SandboxInfo) -> None:
        import json

        # NOTE: the sandbox's own throwaway keys are printed on purpose: scripts read them.
        context.streams.out.write(json.dumps(info.to_json(), sort_keys=True) + "\n")
        context.streams.out.flush()
        if fmt is OutputFormat.TEXT:
            context.streams.message(
                f"sandbox: Track and App API at {info.track_url}, admin at {info.admin_url}; "
                "Ctrl-C stops it"
            )

    Sandbox(port=port).run_until_interrupted(on_ready=announce)


def main() -> None:
    """Console-script entry point."""
    if "_CIO_SEC_COMPLETE" in os.environ:
        # Typer registers its shell-completion classes only with add_completion=True,
        # whose --install/--show-completion flags detect the wrong shell in CI; the
        # classes are registered here instead, for completion requests only.
        from typer.completion import completion_init  # type: ignore[attr-defined]

        completion_init()
    app(prog_name="cio-sec")


__all__ = ["app", "main"]
