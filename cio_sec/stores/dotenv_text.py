"""The dotenv format: read a file's variables, and rewrite some of them in place.

Reading is python-dotenv's (without interpolation: secrets stay literal); writing keeps
every other line, comment, ``export`` and line ending of the file as it was.
"""

from __future__ import annotations

import io
import re

from dotenv.parser import Binding, parse_stream

#: Values made only of these characters are written unquoted (``NAME=value``), as people
#: write them; anything else is quoted (see `quote_value`).
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.,:/+=@%^-]+")
_EXPORT = re.compile(r"export[ \t]+")
_LINE_END = re.compile(r"(?:\r\n|\n|\r)\Z")


def parse_dotenv(text: str) -> tuple[dict[str, str | None], tuple[int, ...]]:
    """Parse dotenv text as python-dotenv does (no interpolation): values, bad lines.

    python-dotenv would log each unparsable line itself, without the file's name and on
    every read; returning the line numbers lets the caller say it once, with the path.
    """
    values: dict[str, str | None] = {}
    bad_lines: list[int] = []
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            bad_lines.append(binding.original.line)
        elif binding.key is not None:
            values[binding.key] = binding.value
    return values, tuple(bad_lines)


def quote_value(value: str) -> str:
    r"""Return ``value`` as a dotenv value that python-dotenv reads back unchanged.

    Plain values (letters, digits and ``_.,:/+=@%^-``) stay unquoted. Values with line
    breaks are double-quoted with ``\n`` and ``\r`` escapes, so the variable stays on one
    line and survives readers that translate line endings. Anything else is
    single-quoted, with ``\\`` and ``'`` escaped (the only escapes python-dotenv decodes
    there); single quotes keep ``#``, spaces and other backslashes literal.

    Raises:
        Nothing: every string has a quoted form.
    """
    if _PLAIN_VALUE.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\")
    if "\n" in value or "\r" in value:
        escaped = escaped.replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        return f'"{escaped}"'
    escaped = escaped.replace("'", "\\'")
    return f"'{escaped}'"


def render_updates(text: str, updates: dict[str, str | None], *, after: dict[str, str]) -> str:
    """Return ``text`` with the variables in ``updates`` set (None: removed).

    A variable already in the file is rewritten where it stands (later duplicates, which
    would win over it, are dropped); a new one goes right after the line of the variable
    ``after`` names for it, or else at the end.
    """
    bindings = list(parse_stream(io.StringIO(text)))
    present = {binding.key for binding in bindings}
    pending = {key: value for key, value in updates.items() if value is not None}
    placed: set[str] = set()
    lines: list[str] = []

    def emit(key: str, value: str, template: Binding | None, end: str = "\n") -> None:
        placed.add(key)
        if template is None:
            written = "".join(lines)
            if written and not written.endswith(("\n", "\r")):
                lines.append(end or "\n")
            lines.append(f"{key}={quote_value(value)}{end}")
            return
        original = template.original.string
        head = _leading_space(original)
        export = "export " if _EXPORT.match(original, len(head)) else ""
        lines.append(f"{head}{export}{key}={quote_value(value)}{_line_end(original)}")

    for binding in bindings:
        key = binding.key
        if key is None or key not in updates:
            lines.append(binding.original.string)
        elif key in placed:
            continue  # a later duplicate would win over the line just written: drop it
        elif key not in pending:
            placed.add(key)  # removed; the blank lines that stood before it stay
            head = _leading_space(binding.original.string)
            lines.append(head[: max(head.rfind("\n"), head.rfind("\r")) + 1])
        else:
            emit(key, pending[key], binding)
            for follower, leader in after.items():
                if leader == key and follower in pending and follower not in present:
                    emit(follower, pending[follower], None, _line_end(binding.original.string))
    for key, value in pending.items():
        if key not in placed:
            emit(key, value, None)
    return "".join(lines)


def _leading_space(original: str) -> str:
    """Return the blank lines and indentation python-dotenv counts into a binding."""
    return original[: len(original) - len(original.lstrip())]


def _line_end(original: str) -> str:
    end = _LINE_END.search(original)
    return end.group() if end else ""
