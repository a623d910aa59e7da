"""The table answers every TAB exactly as Typer itself would, and is freshly generated."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer.main
from hypothesis import given, settings
from hypothesis import strategies as st
from typer._click.shell_completion import _resolve_context, _resolve_incomplete

from cio_sec.cli import app
from cio_sec.completion.engine import FILES, complete
from cio_sec.completion.model import Command
from cio_sec.completion.table import TABLE

ROOT = Path(__file__).resolve().parents[2]
CLICK_ROOT = typer.main.get_command(app)


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts/gen_completions.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_table_is_a_fresh_generation() -> None:
    committed = (ROOT / "cio_sec/completion/table.py").read_text()
    assert _generator().table_source() == committed, "run `make completions`"


def _paths(command: Command, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, sub in command.commands.items():
        yield from _paths(sub, (*prefix, name))


def _command(path: tuple[str, ...]) -> Command:
    command = TABLE
    for name in path:
        command = command.commands[name]
    return command


def _first_letters(command: Command) -> set[str]:
    words = set(command.commands)
    for argument in command.arguments:
        if isinstance(argument.value, tuple):
            words.update(argument.value)
    return {word[:1] for word in words}


def _cases() -> Iterator[tuple[list[str], str]]:
    """Command lines that reach every command, option, argument and choice of the table."""
    for path in _paths(TABLE):
        command = _command(path)
        words = list(path)
        for incomplete in ("", "-", "--", "--h", "x", *_first_letters(command)):
            yield words, incomplete
            yield ["--profile", "p", "-v", *words], incomplete
        for option in command.options:
            name = option.names[-1]
            if option.value is None:
                yield [*words, name], "-"  # an option used once is not offered again
                continue
            yield [*words, name], ""
            yield [*words, name, "a-value"], "-"
            if isinstance(option.value, tuple):
                yield [*words, name], option.value[-1][:2]
        if command.arguments:
            yield [*words, "first"], ""
            yield [*words, "first", "second"], ""
            yield [*words, "--", "-x"], "-"


def _typer_answer(words: list[str], incomplete: str) -> list[str]:
    """What Typer's own completion offers (Click's resolution, Typer's parameters)."""
    ctx = _resolve_context(CLICK_ROOT, {}, "cio-sec", list(words))
    handler: Any
    handler, incomplete = _resolve_incomplete(ctx, list(words), incomplete)
    return [item.value for item in handler.shell_complete(ctx, incomplete)]


CASES = list(_cases())


@pytest.mark.parametrize(
    ("words", "incomplete"), CASES, ids=[" ".join([*w, repr(i)]) for w, i in CASES]
)
def test_the_table_answers_as_typer_does(words: list[str], incomplete: str) -> None:
    # No config.toml: --profile offers nothing, as Typer does.
    answer = complete(TABLE, [*words, incomplete], environ={}, cwd=os.getcwd())
    ours = [] if answer.mode == FILES else [word for word, _help in answer.candidates]
    assert ours == _typer_answer(words, incomplete)


def test_every_command_path_is_in_the_table() -> None:
    def click_paths(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
        yield prefix
        for name, sub in getattr(command, "commands", {}).items():
            yield from click_paths(sub, (*prefix, name))

    assert sorted(click_paths(CLICK_ROOT)) == sorted(_paths(TABLE))


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["sanitize", ""], FILES),
        (["sanitize", "-o", ""], FILES),
        (["sanitize", "--policy", ""], FILES),
        (["erase", "--file", ""], FILES),
        (["scan-repo", ""], FILES),
        (["audit", "check", ""], FILES),
        (["audit", "log", "verify", ""], FILES),
        (["--env-file", ""], FILES),
        (["verify-webhook", "--body", ""], FILES),
    ],
)
def test_file_arguments_and_options_let_the_shell_complete_paths(
    words: list[str], expected: str
) -> None:
    assert complete(TABLE, words, environ={}, cwd=os.getcwd()).mode == expected


@st.composite
def _command_lines(draw: st.DrawFn) -> list[str]:
    """A well-formed line: options (with values) at each level, a subcommand or arguments."""
    words: list[str] = []
    command = TABLE
    while True:
        descend = bool(command.commands) and draw(st.booleans())
        # NOTE: not --help: a line with it only prints help, and Click's resilient parse
        # of what follows it is not worth copying.
        options = [option for option in command.options if "--help" not in option.names]
        if descend and command.arguments:
            options = []
        chosen = draw(st.lists(st.sampled_from(options), max_size=2)) if options else []
        for option in chosen:
            words.append(draw(st.sampled_from(option.names)))
            if isinstance(option.value, tuple):
                words.append(draw(st.sampled_from(option.value)))
            elif option.value is not None:
                words.append("some-value")
        if descend:
            name = draw(st.sampled_from(sorted(command.commands)))
            words.append(name)
            command = command.commands[name]
            continue
        for argument in command.arguments:
            count = 1 if argument.nargs > 0 else draw(st.integers(0, 2))
            for _ in range(count):
                choices = argument.value if isinstance(argument.value, tuple) else ("./file",)
                words.append(draw(st.sampled_from(choices)))
        return words[: draw(st.integers(0, len(words)))]  # the cursor may be anywhere


@pytest.mark.slow
@settings(max_examples=500)
@given(
    words=_command_lines(),
    incomplete=st.sampled_from(["", "-", "--", "--f", "a", "c", "j", "s", "t", "v"]),
)
def test_any_command_line_is_answered_as_typer_does(words: list[str], incomplete: str) -> None:
    answer = complete(TABLE, [*words, incomplete], environ={}, cwd=os.getcwd())
    ours = [] if answer.mode == FILES else [word for word, _help in answer.candidates]
    assert ours == _typer_answer(words, incomplete)
