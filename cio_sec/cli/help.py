"""How ``--help`` reads: examples kept as written, the terminal's width, one placeholder style.

Placeholders are upper case (``PATH``, ``JOB``, ``TEXT``), optional ones in brackets
(``[PATH]``), and a choice lists its values in braces (``{text|json}``).
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any

from typer.core import TyperArgument, TyperCommand

from cio_sec.errors import EXIT_CODE_TABLE

if TYPE_CHECKING:
    from typer._click import Context as ClickContext
    from typer._click import HelpFormatter

#: Every command's context starts from these: ``-h`` is ``--help``, and help is as wide as
#: the terminal (Click stops at 80 columns otherwise; it still never goes below 50).
CONTEXT_SETTINGS: dict[str, Any] = {
    "help_option_names": ["-h", "--help"],
    "max_content_width": 100_000,
}

#: The epilog of every command; `HelpStyle` draws it as a table that wraps like the options.
EXIT_CODES_EPILOG = "Exit codes:\n\n\b\n" + "\n".join(
    f"{int(code):>3}  {meaning}" for code, meaning in EXIT_CODE_TABLE
)

#: Click's marker for "print this paragraph as it is" (no rewrapping).
_NO_REWRAP = "\b"

_TYPE_PLACEHOLDERS = {
    "str": "TEXT",
    "path": "PATH",
    "file": "PATH",
    "directory": "PATH",
    "int": "INTEGER",
    "int range": "INTEGER",
    "float": "FLOAT",
    "float range": "FLOAT",
}

_TYPE_LABEL = re.compile(r" <(?:list\[)?([^<>\[\]]*)\]?>(\.\.\.)?$")


def keep_examples(text: str) -> str:
    """Mark every indented paragraph (an example block) so Click prints it line by line.

    Click rewraps each paragraph to the width of the terminal, which would run three
    example commands into one paragraph or break one in the middle.
    """
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        f"{_NO_REWRAP}\n{paragraph}"
        if paragraph.startswith(" ") and not paragraph.startswith(_NO_REWRAP)
        else paragraph
        for paragraph in paragraphs
    )


def argument_placeholder(argument: TyperArgument) -> str:
    """``NAME`` when required, ``[NAME]`` when not, ``...`` when repeatable.

    A metavar set on the argument is printed exactly as given.
    """
    if argument.metavar is not None:
        return argument.metavar
    name = (argument.name or "").upper()
    placeholder = name if argument.required else f"[{name}]"
    return placeholder + ("..." if argument.nargs != 1 else "")


def value_placeholder(label: str) -> str:
    """Typer's ``<str>``, ``<int range>`` or ``<text|json>`` in this module's style."""
    if "|" in label:
        return "{" + label + "}"
    return _TYPE_PLACEHOLDERS.get(label, label.upper().replace(" ", "_"))


class HelpStyle:
    """Mixed into every command and group class: how its help is laid out."""

    def get_help_option_names(self, ctx: ClickContext) -> list[str]:
        """``-h`` then ``--help``, always in that order (Click's own answer is a set's)."""
        params = getattr(self, "params", [])
        taken = {name for param in params for name in (*param.opts, *param.secondary_opts)}
        return [name for name in ctx.help_option_names if name not in taken]

    def format_help_text(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        """Write the docstring with example blocks kept line by line."""
        text = getattr(self, "help", None)
        if text:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(keep_examples(text.partition("\f")[0]))

    def collect_usage_pieces(self, ctx: ClickContext) -> list[str]:
        """``[OPTIONS]``, then each argument's placeholder (then a group's ``COMMAND``)."""
        options: str | None = getattr(self, "options_metavar", None)
        pieces = [options] if options else []
        pieces += [
            argument_placeholder(param)
            for param in self.get_params(ctx)  # type: ignore[attr-defined]
            if isinstance(param, TyperArgument)
        ]
        subcommand: str | None = getattr(self, "subcommand_metavar", None)
        return [*pieces, subcommand] if subcommand else pieces

    def format_options(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        """Arguments and options, their placeholders in this module's style."""
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):  # type: ignore[attr-defined]
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if isinstance(param, TyperArgument):
                arguments.append((_argument_label(param, record[0]), record[1]))
            else:
                options.append((_TYPE_LABEL.sub(_option_label, record[0]), record[1]))
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)
        format_commands = getattr(self, "format_commands", None)
        if format_commands is not None:
            format_commands(ctx, formatter)

    def format_epilog(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        """The exit codes as a table whose meanings wrap to the terminal's width."""
        epilog = getattr(self, "epilog", None)
        if epilog != EXIT_CODES_EPILOG:
            super().format_epilog(ctx, formatter)  # type: ignore[misc]
            return
        with formatter.section("Exit codes"):
            formatter.write_dl([(f"{int(code):>3}", meaning) for code, meaning in EXIT_CODE_TABLE])


def _argument_label(argument: TyperArgument, record: str) -> str:
    """``NAME``, with the values to choose from when it is a choice."""
    placeholder = argument_placeholder(argument)
    match = _TYPE_LABEL.search(record)
    if match is not None and "|" in match.group(1):
        return f"{placeholder} {value_placeholder(match.group(1))}"
    return placeholder


def _option_label(match: re.Match[str]) -> str:
    return " " + value_placeholder(match.group(1)) + (match.group(2) or "")


class HelpfulCommand(HelpStyle, TyperCommand):
    """A command whose help follows `HelpStyle`."""
