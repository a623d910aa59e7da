"""Where output goes: stdout for data, stderr for messages, and the Rich console on each.

Rich is imported only when a console is asked for: the CLI imports this module on every
invocation, and a JSON run never draws.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import IO, TYPE_CHECKING, Any

from cio_sec.redact import redact

if TYPE_CHECKING:
    from rich.console import Console

_PIPED_WIDTH = 160


def _is_terminal(stream: IO[str]) -> bool:
    return stream.isatty()


@cache
def _console_class() -> type[Console]:
    """Rich's console, except that a closed stdout is left to the CLI's error boundary.

    Rich would exit 1 by itself, silently, which a script cannot tell from a finding.
    """
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    return _Console


@dataclass(frozen=True)
class Streams:
    """Where data (``out``) and messages (``err``) go, and whether colour is allowed."""

    out: IO[str]
    err: IO[str]
    color: bool = True
    quiet: bool = False
    """``--quiet``: notes and progress bars are left out; errors and results still print."""

    @classmethod
    def system(cls, *, color: bool, quiet: bool = False) -> Streams:
        """The process's stdout and stderr, looked up now (test runners swap them)."""
        return cls(out=sys.stdout, err=sys.stderr, color=color, quiet=quiet)

    @property
    def shows_progress(self) -> bool:
        """Whether a progress bar belongs on stderr: a terminal, and not ``--quiet``."""
        return not self.quiet and _is_terminal(self.err)

    def console(self, *, stderr: bool = False) -> Console:
        """A Rich console on one of the streams; colour follows the TTY and NO_COLOR."""
        stream = self.err if stderr else self.out
        # Piped into a file or CI log, 80 columns would fold every reference in two.
        width = None if _is_terminal(stream) or "COLUMNS" in os.environ else _PIPED_WIDTH
        return _console_class()(
            file=stream,
            width=width,
            no_color=not self.color,
            highlight=False,
            soft_wrap=False,
            emoji=False,
        )

    def message(self, text: str) -> None:
        """Write one redacted line to stderr."""
        self.err.write(redact(text) + "\n")
        self.err.flush()

    def note(self, text: str) -> None:
        """Write one redacted line of chatter to stderr, unless ``--quiet``."""
        if not self.quiet:
            self.message(text)


Renderers = Mapping[type[Any], Callable[[Any, Streams], None]]
"""What a capability's renderer module exports as ``RENDERERS``: result type → renderer."""
