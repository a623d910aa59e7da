"""Answer a completion request from the table, the way Click would resolve it.

The words before the cursor are walked like Click's parser does: options (and the value
an option takes), subcommand names, then positional arguments. The word under the cursor
is then completed as an option name, an option's value, an argument, or a subcommand.
"""

from __future__ import annotations

from cio_sec.completion.model import Argument, Command, Value
from cio_sec.completion.profiles import profile_names

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

FILES = "files"
WORDS = "words"


class Answer:
    """What to offer: file names (``mode`` FILES, left to the shell) or these words."""

    __slots__ = ("candidates", "mode")

    def __init__(self, mode: str, candidates: list[tuple[str, str]]) -> None:
        self.mode = mode
        self.candidates = candidates
        """(word, help) pairs, in the order the shell should show them."""


class _Position:
    """Where the complete words leave the parser: a command, what it has seen, what waits."""

    def __init__(self, command: Command) -> None:
        self.command = command
        self.positionals = 0
        self.used: set[str] = set()
        self.pending: Value | None = None
        """The value the last option still waits for."""
        self.after_double_dash = False

    def enter(self, command: Command) -> None:
        """Options and arguments belong to one command: a subcommand starts afresh."""
        self.command = command
        self.positionals = 0
        self.used = set()

    def feed(self, word: str) -> None:
        if self.pending is not None:
            self.pending = None
        elif word == "--" and not self.after_double_dash:
            self.after_double_dash = True
        elif _looks_like_option(word) and not self.after_double_dash:
            self._option(word)
        elif self.positionals == 0 and word in self.command.commands:
            self.enter(self.command.commands[word])
        else:
            self.positionals += 1

    def _option(self, word: str) -> None:
        name, equals, _value = word.partition("=")
        option = self.command.option(name)
        if option is None:
            return
        self.used.add(option.names[0])
        if option.value is not None and not equals:
            self.pending = option.value


def complete(
    table: Command, words: Sequence[str], *, environ: Mapping[str, str], cwd: Path
) -> Answer:
    """Answer for ``words``: the words after the program name, the last one under the cursor."""
    *done, incomplete = words or [""]
    position = _Position(table)
    for word in done:
        position.feed(word)
    if incomplete == "=":  # NOTE: bash splits ``--opt=value`` into three words
        incomplete = ""
    if _looks_like_option(incomplete) and not position.after_double_dash:
        return Answer(WORDS, _option_names(position, incomplete))
    if position.pending is not None:
        return _values(position.pending, incomplete, environ, cwd)
    argument = _next_argument(position)
    if argument is not None:
        return _values(argument.value, incomplete, environ, cwd)
    commands = position.command.commands
    return Answer(
        WORDS, [(name, sub.help) for name, sub in commands.items() if name.startswith(incomplete)]
    )


def _looks_like_option(word: str) -> bool:
    return word.startswith("-")


def _option_names(position: _Position, incomplete: str) -> list[tuple[str, str]]:
    return [
        (name, option.help)
        for option in position.command.options
        if option.multiple or option.names[0] not in position.used
        for name in option.names
        if name.startswith(incomplete)
    ]


def _next_argument(position: _Position) -> Argument | None:
    taken = position.positionals
    for argument in position.command.arguments:
        if argument.nargs < 0 or taken < argument.nargs:
            return argument
        taken -= argument.nargs
    return None


def _values(value: Value, incomplete: str, environ: Mapping[str, str], cwd: Path) -> Answer:
    if value == "path":
        return Answer(FILES, [])
    if value == "profile":
        names = profile_names(environ, cwd)
        return Answer(WORDS, [(name, "") for name in names if name.startswith(incomplete)])
    if isinstance(value, tuple):
        return Answer(WORDS, [(choice, "") for choice in value if choice.startswith(incomplete)])
    return Answer(WORDS, [])
