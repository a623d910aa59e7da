"""``cio-sec completion show|install SHELL``: the shell-completion scripts."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from cio_sec.cli.common import EXIT_CODES_EPILOG, FormatOption, finish, start, sub_app
from cio_sec.cli.help import HelpfulCommand
from cio_sec.render import OutputFormat

completion_app = sub_app(
    "Print or install the shell-completion script (bash, zsh, fish).\n\n"
    "Example:\n\n\b\n  cio-sec completion install bash\n  cio-sec completion show zsh > _cio-sec"
)


class Shell(str, Enum):
    """The shells cio-sec ships a completion script for."""

    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"


ShellArgument = Annotated[Shell, typer.Argument(help="bash, zsh or fish.")]


def register(app: typer.Typer) -> None:
    """Add ``completion`` to the root app."""
    app.add_typer(completion_app, name="completion")


@completion_app.command("show", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)
def completion_show(
    ctx: typer.Context, shell: ShellArgument, fmt: FormatOption = OutputFormat.TEXT
) -> None:
    """Print the completion script for SHELL on stdout.

    To save it somewhere other than where `completion install` puts it. Examples:

        cio-sec completion show fish > ~/.config/fish/completions/cio-sec.fish

        source <(cio-sec completion show bash)
    """
    from cio_sec.completion.install import CompletionScript, script_text

    context = start(ctx, "completion show", fmt)
    finish(CompletionScript(shell.value, script_text(shell.value)), context)


@completion_app.command("install", cls=HelpfulCommand, epilog=EXIT_CODES_EPILOG)
def completion_install(
    ctx: typer.Context, shell: ShellArgument, fmt: FormatOption = OutputFormat.TEXT
) -> None:
    """Write the completion script into SHELL's per-user completion directory.

    Prints the file written, and the lines to add to the rc file if it needs any (zsh
    only). Examples:

        cio-sec completion install zsh

        cio-sec completion install bash --format json
    """
    import os

    from cio_sec.completion.install import install_script

    context = start(ctx, "completion install", fmt)
    finish(install_script(shell.value, os.environ), context)
