"""The pieces every text renderer shares: a table, a cell of untrusted text, drawing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.table import Table
from rich.text import Text

from cio_sec.redact import redact

if TYPE_CHECKING:
    from rich.console import RenderableType

    from cio_sec.render.streams import Streams

_NO_WRAP = frozenset({"credential", "value", "fingerprint", "status", "job", "created"})


def new_table(title: str, columns: list[str]) -> Table:
    """A titled table; short identifying columns never wrap, free text folds."""
    drawn = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for column in columns:
        drawn.add_column(column, overflow="fold", no_wrap=column in _NO_WRAP)
    return drawn


def cell(text: object) -> Text:
    """Untrusted text (paths, references) as a Rich Text, so markup is never interpreted."""
    return Text(redact("" if text is None else str(text)))


def draw(streams: Streams, renderable: RenderableType, *, stderr: bool = False) -> None:
    """Print a table (or any Rich renderable) on stdout, or on stderr."""
    streams.console(stderr=stderr).print(renderable)
