"""The shape of the completion table: commands, their options and their arguments.

Plain classes rather than dataclasses: importing ``dataclasses`` costs more than a TAB
press is allowed to take.
"""

from __future__ import annotations

#: What a value completes to: "text" (nothing), "path" (files, completed by the shell),
#: "profile" (the profile names in config.toml), or a tuple of choices.
Value = str | tuple[str, ...]


class Option:
    """An option: its names, its help, and the value it takes (None for a flag)."""

    __slots__ = ("help", "multiple", "names", "value")

    def __init__(
        self, names: tuple[str, ...], help: str, value: Value | None, *, multiple: bool = False
    ) -> None:
        self.names = names
        self.help = help
        self.value = value
        self.multiple = multiple


class Argument:
    """A positional argument: how many words it takes (-1: all the rest) and their value."""

    __slots__ = ("nargs", "value")

    def __init__(self, nargs: int, value: Value) -> None:
        self.nargs = nargs
        self.value = value


class Command:
    """A command or group: its help, options, arguments and subcommands, in help order."""

    __slots__ = ("arguments", "commands", "help", "options")

    def __init__(
        self,
        help: str,
        options: tuple[Option, ...],
        arguments: tuple[Argument, ...] = (),
        commands: dict[str, Command] | None = None,
    ) -> None:
        self.help = help
        self.options = options
        self.arguments = arguments
        self.commands = commands or {}

    def option(self, name: str) -> Option | None:
        """The option called ``name``, if this command has one."""
        for option in self.options:
            if name in option.names:
                return option
        return None
