"""What every command's core entry point returns: the `Result` protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cio_sec.errors import ExitCode


class Result(Protocol):
    """A command's report: its verdict, its exit code and its JSON payload."""

    @property
    def ok(self) -> bool:
        """Whether the answer is "yes"."""

    @property
    def exit_code(self) -> ExitCode:
        """The process's exit code for this result (0 when ``ok``)."""

    def to_json(self) -> dict[str, object]:
        """The command-specific part of the JSON document."""
