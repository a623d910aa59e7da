"""A blob as the detectors read it: line lookups, and the lines near Customer.io keywords."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import Final

from cio_sec.scan_repo.anchors import CIO_WORD, CUSTOMER_IO

CONTEXT_LINES: Final = 10
"""A hex value counts as Customer.io's when a keyword is this many lines away or closer."""


class Text:
    """A blob with line lookups and the lines that carry Customer.io keywords."""

    def __init__(self, data: bytes, lowered: bytes) -> None:
        self.data = data
        self.lowered = lowered
        self._newlines: list[int] | None = None
        self._keyword_lines: list[int] | None = None

    @property
    def newlines(self) -> list[int]:
        """Offsets of the line feeds, found on first use."""
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer(rb"\n", self.data)]
        return self._newlines

    def line_of(self, offset: int) -> int:
        """1-based line number of a byte offset."""
        return bisect_left(self.newlines, offset) + 1

    def line_start(self, offset: int) -> int:
        """Offset of the start of the line that holds ``offset``."""
        index = bisect_left(self.newlines, offset)
        return 0 if index == 0 else self.newlines[index - 1] + 1

    @property
    def keyword_lines(self) -> list[int]:
        """1-based lines that hold a Customer.io keyword, found on first use."""
        if self._keyword_lines is None:
            found = [*CUSTOMER_IO.finditer(self.lowered), *CIO_WORD.finditer(self.lowered)]
            self._keyword_lines = sorted({self.line_of(m.start()) for m in found})
        return self._keyword_lines

    def in_context(self, line: int) -> bool:
        """Whether a Customer.io keyword is within `CONTEXT_LINES` of the line."""
        lines = self.keyword_lines
        return bisect_right(lines, line + CONTEXT_LINES) > bisect_left(lines, line - CONTEXT_LINES)

    def context_spans(self) -> list[tuple[int, int]]:
        """``(start, end)`` of each run of whole lines in context, for ``finditer``.

        A value must be in context to count, so searching only these spans finds the
        same values in a long file that mentions Customer.io once. Each span starts at a
        line start and ends at a line end: what a detector reads of a value's own line
        (its label, the values before it) is always inside.
        """
        spans: list[tuple[int, int]] = []
        for line in self.keyword_lines:
            start = self._line_offset(line - CONTEXT_LINES)
            end = self._line_offset(line + CONTEXT_LINES + 1) - 1
            if spans and start <= spans[-1][1] + 1:
                start = spans.pop()[0]
            spans.append((start, end))
        return spans

    def _line_offset(self, line: int) -> int:
        """Offset of the start of a 1-based line, clamped to the data."""
        if line <= 1:
            return 0
        newlines = self.newlines
        return newlines[line - 2] + 1 if line - 2 < len(newlines) else len(self.data) + 1
