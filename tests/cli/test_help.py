"""Every command's ``--help``: examples intact, the terminal's width, ``-h``, usage lines."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Annotated

import pytest
import typer

from cio_sec.cli import app
from cio_sec.cli.help import HelpfulCommand, keep_examples
from tests.support.cli import CliHarness

pytestmark = pytest.mark.slow


def _commands(
    command: typer._click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], typer._click.Command]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands(typer.main.get_command(app)))
PATHS = sorted(COMMANDS)


def _example_lines(path: tuple[str, ...]) -> list[str]:
    """The lines of the source's indented paragraphs: the examples, as written."""
    text = inspect.cleandoc(COMMANDS[path].help or "")
    return [
        line.strip()
        for paragraph in text.split("\n\n")
        for line in paragraph.lstrip("\b\n").splitlines()
        if paragraph.lstrip("\b\n").startswith(" ") and line.strip()
    ]


def _ids(path: tuple[str, ...]) -> str:
    return " ".join(path) or "cio-sec"


def test_every_command_has_examples() -> None:
    without = [_ids(path) for path in PATHS if not _example_lines(path)]
    assert without == []


def _help_in_a_terminal(*args: str, columns: int) -> str:
    """``cio-sec ARGS`` as a separate process, in a terminal ``columns`` wide.

    In-process runs cannot show the width: Click's test runner pins help to 80 columns.
    """
    result = subprocess.run(
        [sys.executable, "-m", "cio_sec", *args],
        env={**os.environ, "COLUMNS": str(columns)},
        capture_output=True,
        text=True,
        check=True,
        timeout=50,
    )
    return result.stdout


@pytest.mark.parametrize("path", PATHS, ids=_ids)
def test_examples_print_one_per_line_as_written(run_cli: CliHarness, path: tuple[str, ...]) -> None:
    in_process = run_cli(*path, "--help").stdout
    narrow = _help_in_a_terminal(*path, "--help", columns=60)
    for text in (in_process, narrow):
        lines = [line.strip() for line in text.splitlines()]
        for example in _example_lines(path):
            assert example in lines, f"{_ids(path)} --help mangles the example {example!r}"


def test_erase_examples_are_three_lines_not_one_paragraph(run_cli: CliHarness) -> None:
    lines = run_cli("erase", "--help").stdout.splitlines()
    assert "      cio-sec erase --file ids.csv --ticket DSR-1234 --dry-run" in lines
    assert "      cio-sec erase --status" in lines


def test_help_follows_the_terminals_width() -> None:
    examples = set(_example_lines(("erase",)))
    wide = _help_in_a_terminal("erase", "--help", columns=160)
    shows = next(line for line in wide.splitlines() if line.startswith("  Shows the plan"))
    assert 120 < len(shows) <= 160
    narrow = _help_in_a_terminal("erase", "--help", columns=60)
    too_long = [
        line
        for line in narrow.splitlines()
        if len(line) > 60 and line.strip() not in examples and not line.startswith("Usage:")
    ]
    assert too_long == []
    assert max(len(line) for line in narrow.splitlines() if line.startswith("  --")) <= 60


@pytest.mark.parametrize("path", PATHS, ids=_ids)
def test_h_is_help_everywhere(run_cli: CliHarness, path: tuple[str, ...]) -> None:
    short = run_cli(*path, "-h").stdout
    assert short == run_cli(*path, "--help").stdout
    assert short.startswith("Usage: cio-sec")
    assert "-h, --help" in short


#: ``Usage: cio-sec PATH... [OPTIONS] PLACEHOLDERS``: the command path in lower case, then
#: ``[OPTIONS]``, upper-case placeholders (optional ones bracketed, ``...`` when repeatable)
#: and the one literal word ``erase`` takes, ``[verify]``.
_PLACEHOLDER = r"(?:[A-Z][A-Z_]*|\[[A-Z][A-Z_]*\]|\[verify\])(?:\.\.\.)?"
_USAGE = re.compile(
    rf"(?:Usage|   or): cio-sec(?: [a-z][a-z-]*)*(?: \[OPTIONS\])?(?: {_PLACEHOLDER})*"
    r"(?: COMMAND \[ARGS\]\.\.\.)?"
)


@pytest.mark.parametrize("path", PATHS, ids=_ids)
def test_usage_lines_follow_one_placeholder_convention(
    run_cli: CliHarness, path: tuple[str, ...]
) -> None:
    usage = [
        line
        for line in run_cli(*path, "--help").stdout.splitlines()
        if line.startswith(("Usage:", "   or:"))
    ]
    assert usage
    for line in usage:
        assert _USAGE.fullmatch(line), line
        assert line.split()[1:][: len(path) + 1] == ["cio-sec", *path], line


def test_the_odd_usage_lines_read_right(run_cli: CliHarness) -> None:
    assert run_cli("audit", "log", "verify", "-h").stdout.startswith(
        "Usage: cio-sec audit log verify [OPTIONS] [PATH]\n"
    )
    assert run_cli("audit", "-h").stdout.startswith(
        "Usage: cio-sec audit [OPTIONS] [PATH]\n   or: cio-sec audit COMMAND [ARGS]...\n"
    )
    assert run_cli("sanitize", "-h").stdout.startswith(
        "Usage: cio-sec sanitize [OPTIONS] [INPUT]\n"
    )
    credentials_set = run_cli("credentials", "set", "-h").stdout
    assert credentials_set.startswith("Usage: cio-sec credentials set [OPTIONS] NAME\n")
    assert "  NAME {site_id|track_api_key|app_api_key|webhook_signing_key|pseudonym_key}" in (
        credentials_set
    )


@pytest.mark.parametrize("path", PATHS, ids=_ids)
def test_option_values_are_upper_case_placeholders_or_choices(
    run_cli: CliHarness, path: tuple[str, ...]
) -> None:
    text = run_cli(*path, "--help").stdout
    assert not re.search(r"<[a-z][^<>=]*>", text), "Typer's <type> placeholders are replaced"
    for placeholder in re.findall(r"^  (?:-\w, )?--[\w-]+ (\S+)", text, re.MULTILINE):
        assert re.fullmatch(r"[A-Z][A-Z_|-]*|\{[\w|-]+\}", placeholder), placeholder


def test_a_paragraph_already_marked_is_left_alone() -> None:
    assert keep_examples("Intro.\n\n\b\n  a\n  b") == "Intro.\n\n\b\n  a\n  b"
    docstring = "Intro.\n\n    Text.\n\n        a\n        b\n    "
    assert keep_examples(docstring) == "Intro.\n\nText.\n\n\b\n    a\n    b"


def test_a_command_without_help_text_exit_codes_or_visible_options_still_formats() -> None:
    """The style also covers what no command of ours has today (a future one may)."""
    sample = typer.Typer(add_completion=False, rich_markup_mode=None)

    @sample.command(cls=HelpfulCommand, epilog="See the docs.", add_help_option=False)
    def bare(hidden: Annotated[str, typer.Option(hidden=True)] = "") -> None:
        del hidden

    command = typer.main.get_command(sample)
    text = command.get_help(command.make_context("bare", []))
    assert text == "Usage: bare [OPTIONS]\n\n  See the docs."
