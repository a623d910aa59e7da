"""``cio-sec sandbox``: the local Customer.io API emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cio_sec.cli.common import EXIT_CODES_EPILOG, FormatOption, start
from cio_sec.cli.help import HelpfulCommand
from cio_sec.render import OutputFormat

if TYPE_CHECKING:
    from cio_sec.sandbox import SandboxInfo


def register(app: typer.Typer) -> None:
    """Add the command to the root app."""
    app.command("sandbox", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)(sandbox)


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

    context = start(ctx, "sandbox", fmt)

    def announce(info: SandboxInfo) -> None:
        import json

        # NOTE: the sandbox's own throwaway keys are printed on purpose: scripts read them.
        context.streams.out.write(json.dumps(info.to_json(), sort_keys=True) + "\n")
        context.streams.out.flush()
        if fmt is OutputFormat.TEXT:
            context.streams.note(
                f"sandbox: Track and App API at {info.track_url}, admin at {info.admin_url}; "
                "Ctrl-C stops it"
            )

    Sandbox(port=port).run_until_interrupted(on_ready=announce)
