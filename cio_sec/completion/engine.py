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
        self.value_for: str | None = None
        """The option whose value the next word is; it counts as given once that comes."""
        self.after_double_dash = False
        self.lost = False
        """An unknown option or subcommand: Click stops reading there, and so does this."""

    def enter(self, command: Command) -> None:
        """Options and arguments belong to one command: a subcommand starts afresh."""
        self.command = command
        self.positionals = 0
        self.used = set()
        self.after_double_dash = False

    def feed(self, word: str) -> None:
        if self.lost:
            return
        if self.value_for is not None:
            self.used.add(self.value_for)
            self.value_for = None
        elif word == "--" and not self.after_double_dash:
            self.after_double_dash = True
        elif len(word) > 1 and _looks_like_option(word) and not self.after_double_dash:
            self._options(word)
        elif word in self.command.commands:  # NOTE: even after "--", as Click reads it
            self.enter(self.command.commands[word])
        elif self.command.commands and _next_argument(self) is None:
            self.lost = True  # a group's word that names no subcommand
        else:
            self.positionals += 1

    def _options(self, word: str) -> None:
        if word.startswith("--"):
            name, equals, _value = word.partition("=")
            self._option(name, takes_rest=bool(equals))
            return
        for index, letter in enumerate(word[1:], start=1):  # -vy: a cluster of short options
            if self._option(f"-{letter}", takes_rest=index < len(word) - 1):
                return

    def _option(self, name: str, *, takes_rest: bool) -> bool:
        """Record one option; True when it takes its value from the rest of the word."""
        option = self.command.option(name)
        if option is None:  # NOTE: Click then binds none of this command's arguments
            self.lost = True
            self.positionals = 0
            return True
        if option.value is None or takes_rest:
            self.used.add(option.names[0])
        else:
            self.value_for = option.names[0]
        return option.value is not None


def complete(
    table: Command, words: Sequence[str], *, environ: Mapping[str, str], cwd: str
) -> Answer:
    """Answer for ``words``: the words after the program name, the last one under the cursor."""
    *done, incomplete = words or [""]
    if incomplete == "=":  # NOTE: bash splits ``--opt=value`` into three words
        incomplete = ""
    elif done[-1:] == ["="] and len(done) > 1:
        done = done[:-1]
    position = _Position(table)
    for word in done:
        position.feed(word)
    if incomplete.startswith("--") and "=" in incomplete:  # zsh and fish keep it whole
        return _joined_value(position, incomplete, environ, cwd)
    if _looks_like_option(incomplete) and "--" not in done:
        return Answer(WORDS, _option_names(position, incomplete))
    waiting = _waiting_option(position.command, done)
    if waiting is not None:
        return _values(waiting, incomplete, environ, cwd)
    argument = _next_argument(position)
    if argument is not None:
        return _values(argument.value, incomplete, environ, cwd)
    commands = position.command.commands
    offered = [(name, sub.help) for name, sub in commands.items() if name.startswith(incomplete)]
    if incomplete and not incomplete[0].isalnum():  # NOTE: as Click does, even after "--"
        offered += _option_names(position, incomplete)
    return Answer(WORDS, offered)


def _joined_value(
    position: _Position, incomplete: str, environ: Mapping[str, str], cwd: str
) -> Answer:
    """``--opt=val``: the values of ``--opt``, each written as the whole word the shell keeps."""
    name, _equals, value = incomplete.partition("=")
    option = position.command.option(name)
    if option is None or option.value is None:
        return Answer(WORDS, [])
    answer = _values(option.value, value, environ, cwd)
    answer.candidates = [(f"{name}={word}", summary) for word, summary in answer.candidates]
    return answer


def _waiting_option(command: Command, done: Sequence[str]) -> Value | None:
    """The value kind of the option the last word names, if it takes one (as Click decides)."""
    if not done:
        return None
    option = command.option(done[-1])
    return None if option is None else option.value


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


def _values(value: Value, incomplete: str, environ: Mapping[str, str], cwd: str) -> Answer:
    if value == "path":
        return Answer(FILES, [])
    if value == "profile":
        names = profile_names(environ, cwd)
        return Answer(WORDS, [(name, "") for name in names if name.startswith(incomplete)])
    if isinstance(value, tuple):
        return Answer(WORDS, [(choice, "") for choice in value if choice.startswith(incomplete)])
    return Answer(WORDS, [])
