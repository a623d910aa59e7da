"""Reading the people to erase: CSV or one-per-line files, ``--id`` values, validation.

The input is read as a stream (it may hold a million rows) and never kept whole in memory:
`read_input` walks it once to validate it and digest its bytes, and `iter_rows` walks it
again to load the journal. Messages name lines, never the identifiers on them.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from cio_sec.errors import InputError
from cio_sec.pseudonym import IdentifierKind

MAX_IDENTIFIER_BYTES = 150
MAX_LISTED_INVALID = 1000
"""Invalid rows listed in messages and reports; the count covers them all."""
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
"""Bytes that are not UTF-8, as ``surrogateescape`` decoding leaves them."""
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""Unicode category Cc: NUL, line breaks, tabs, escapes (ESC starts terminal sequences)."""
_CIO_PREFIX = "cio_"
_SPOOL_PREFIX = "stdin-"
AMBIGUOUS_IN_V1 = "an id with @ or a cio_ prefix is ambiguous in v1 paths (use --api batch)"


class IdType(str, Enum):
    """What kind of identifier a value is; Customer.io addresses people by each of them."""

    ID = "id"
    EMAIL = "email"
    CIO_ID = "cio_id"

    @property
    def pseudonym_kind(self) -> IdentifierKind:
        """How the identifier is normalised before it is pseudonymised."""
        return IdentifierKind.EMAIL if self is IdType.EMAIL else IdentifierKind.ID

    def normalise(self, value: str) -> str:
        """The value as erased and pseudonymised: trimmed emails, cio_ids without ``cio_``."""
        if self is IdType.EMAIL:
            return value.strip()
        if self is IdType.CIO_ID:
            return value.strip().removeprefix(_CIO_PREFIX)
        return value


# Header names recognised without --column, in order of preference.
_COLUMNS: dict[str, IdType] = {
    "id": IdType.ID,
    "customer_id": IdType.ID,
    "cio_id": IdType.CIO_ID,
    "email": IdType.EMAIL,
}


@dataclass(frozen=True)
class InvalidRow:
    """A row that cannot be erased, and why (the value itself is never kept)."""

    line: int
    reason: str

    def to_json(self) -> dict[str, object]:
        """Line number and reason."""
        return {"line": self.line, "reason": self.reason}


@dataclass(frozen=True)
class Row:
    """One valid identifier and where it came from."""

    line: int
    value: str
    id_type: IdType


@dataclass(frozen=True)
class InputSpec:
    """Where the people come from and how to read them."""

    path: Path | None = None
    """The file; None for ``--id`` values."""
    ids: tuple[str, ...] = ()
    column: str | None = None
    id_type: IdType | None = None
    """Overrides the type a column name implies; ``id`` for headerless files and ``--id``."""
    v1_paths: bool = True
    """Whether identifiers travel in URL paths, where Customer.io guesses their type."""

    @property
    def label(self) -> str:
        """How messages name the input."""
        return "--id" if self.path is None else str(self.path)


@dataclass(frozen=True)
class InputSummary:
    """The outcome of validating an input: its digest, layout and invalid rows."""

    sha256: str
    column: str | None
    """The header column read, or None for headerless files and ``--id`` values."""
    id_type: IdType
    rows: int
    """Valid rows, duplicates included."""
    invalid: int
    invalid_rows: tuple[InvalidRow, ...] = field(default=())
    """The first `MAX_LISTED_INVALID` invalid rows."""


def read_input(spec: InputSpec) -> InputSummary:
    """Validate the whole input and digest its bytes, without keeping it in memory.

    Raises:
        InputError: the file cannot be read, its CSV structure is broken, or ``--column``
            names no column of its header.
    """
    digest = hashlib.sha256()
    if spec.path is None:
        digest.update("\n".join(sorted(spec.ids)).encode("utf-8", "surrogateescape"))
    else:
        with _open(spec.path) as handle:
            for chunk in iter(lambda: handle.read(1 << 16), b""):
                digest.update(chunk)
    count, invalid = 0, 0
    listed: list[InvalidRow] = []
    layout = _layout(spec)
    for item in _walk(spec, layout):
        if isinstance(item, InvalidRow):
            invalid += 1
            if len(listed) < MAX_LISTED_INVALID:
                listed.append(item)
        else:
            count += 1
    return InputSummary(
        digest.hexdigest(), layout.column, layout.id_type, count, invalid, tuple(listed)
    )


def iter_rows(spec: InputSpec) -> Iterator[Row]:
    """The valid rows of an input already checked by `read_input`, in file order.

    Raises:
        InputError: as `read_input` (the file changed in between).
    """
    layout = _layout(spec)
    for item in _walk(spec, layout):
        if isinstance(item, Row):
            yield item


def spool_stdin(directory: Path) -> Path:
    """Copy stdin to a private file so that it can be read twice; the caller deletes it.

    The file's name holds this process's id, so that a copy left by a killed process can be
    told apart and removed (`remove_stale_spools`).

    Raises:
        InputError: stdin cannot be read.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - handed to the caller by name
        dir=directory, prefix=f"{_SPOOL_PREFIX}{os.getpid()}-", suffix=".csv", delete=False
    )
    with handle:
        try:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        except OSError as exc:
            raise InputError(f"cannot read stdin: {exc.strerror}", path="<stdin>") from None
    return Path(handle.name)


def remove_stale_spools(directory: Path) -> None:
    """Delete the copies of stdin that killed processes left behind (they hold identifiers).

    A copy belongs to the process named in its file name: it is stale once that process is
    gone, or when it names this process (which has not spooled yet: an earlier process had
    the same id, as a container's processes often do).
    """
    for path in directory.glob(f"{_SPOOL_PREFIX}*-*.csv"):
        pid = path.name[len(_SPOOL_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                path.unlink()


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process (EPERM)
    return True


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Layout:
    column: str | None
    index: int | None
    """The column's position; None for headerless files and ``--id`` values."""
    id_type: IdType


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", path=path) from None


def _layout(spec: InputSpec) -> _Layout:
    if spec.path is None:
        return _Layout(None, None, spec.id_type or IdType.ID)
    records = _records(spec.path)
    try:
        header = next(records, None)
    finally:
        records.close()
    names = [name.strip().lstrip("\ufeff").casefold() for name in header[1]] if header else []
    if spec.column is not None:
        wanted = spec.column.strip().casefold()
        if wanted not in names:
            raise InputError(
                f"the header has no column {spec.column!r}",
                path=spec.path,
                line=header[0] if header else None,
                hint="name a column of the first line with --column, or leave it out",
            )
        implied = _COLUMNS.get(wanted, IdType.ID)
        return _Layout(wanted, names.index(wanted), spec.id_type or implied)
    for name, implied in _COLUMNS.items():
        if name in names:
            return _Layout(name, names.index(name), spec.id_type or implied)
    return _Layout(None, None, spec.id_type or IdType.ID)


# --------------------------------------------------------------------------- walking


def _decoded_lines(handle: BinaryIO) -> Iterator[str]:
    """Lines as text; bytes that are not UTF-8 become lone surrogates, found later."""
    first = True
    for raw in handle:
        if first and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        first = False
        yield raw.decode("utf-8", "surrogateescape")


def _records(path: Path) -> Generator[tuple[int, list[str]], None, None]:
    """(first line number, fields) of every non-blank CSV record."""
    with _open(path) as handle:
        reader = csv.reader(_decoded_lines(handle), strict=True)
        line = 1
        try:
            for fields in reader:
                start, line = line, reader.line_num + 1
                if fields and any(field_text.strip() for field_text in fields):
                    yield start, fields
        except csv.Error as exc:
            raise InputError(
                f"not valid CSV: {exc}",
                path=path,
                line=reader.line_num,
                hint="quote fields that contain commas, quotes or line breaks",
            ) from None


def _walk(spec: InputSpec, layout: _Layout) -> Iterator[Row | InvalidRow]:
    if spec.path is None:
        for number, value in enumerate(spec.ids, start=1):
            yield _check(number, value, layout.id_type, spec.v1_paths)
        return
    records = _records(spec.path)
    if layout.index is not None:
        next(records)  # the header
    for line, fields in records:
        if layout.index is None:
            if len(fields) != 1:
                yield InvalidRow(line, "more than one value on a line of a file without header")
                continue
            index = 0
        elif layout.index >= len(fields):
            yield InvalidRow(line, f"no {layout.column} column on this line")
            continue
        else:
            index = layout.index
        # A quoted field may span lines: count those before the value, so a problem is
        # reported on the line that holds it.
        start = line + sum(field_text.count("\n") for field_text in fields[:index])
        yield _check(start, fields[index], layout.id_type, spec.v1_paths)


def _check(line: int, value: str, id_type: IdType, v1_paths: bool) -> Row | InvalidRow:
    """The row, or why it is invalid, at the line holding the offending character."""
    bad = _SURROGATE.search(value)
    if bad is not None:
        return InvalidRow(line + value.count("\n", 0, bad.start()), "not valid UTF-8")
    value = id_type.normalise(value)
    control = _CONTROL.search(value)
    if control is not None:
        where = line + value.count("\n", 0, control.start())
        return InvalidRow(where, f"contains a control character (U+{ord(control[0]):04X})")
    problem = _problem(value, id_type, v1_paths)
    return InvalidRow(line, problem) if problem else Row(line, value, id_type)


def _problem(value: str, id_type: IdType, v1_paths: bool) -> str | None:
    if not value:
        return "empty value"
    if len(value.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        return f"longer than {MAX_IDENTIFIER_BYTES} bytes"
    if id_type is IdType.EMAIL and not _EMAIL.fullmatch(value):
        return "not an email address"
    if id_type is IdType.CIO_ID and not value.isalnum():
        return "not a cio_id (letters and digits)"
    if v1_paths and ambiguous_in_v1_path(value, id_type):
        return AMBIGUOUS_IN_V1
    return None


def ambiguous_in_v1_path(value: str, id_type: IdType) -> bool:
    """Whether a v1 URL path would name someone else: Customer.io reads the path's shape.

    An id with ``@`` is read as an email, one starting with ``cio_`` as a cio_id.
    """
    return id_type is IdType.ID and ("@" in value or value.startswith(_CIO_PREFIX))


def check_valid(spec: InputSpec, summary: InputSummary, *, skip_invalid: bool) -> None:
    """Refuse an input with invalid rows unless they are to be skipped.

    Raises:
        InputError: invalid rows and no ``skip_invalid``, or no valid row at all.
    """
    if summary.invalid and not skip_invalid:
        first = summary.invalid_rows[0]
        message = first.reason
        if summary.invalid > 1:
            shown = summary.invalid_rows[:10]
            message = f"{summary.invalid} invalid rows: " + "; ".join(
                f"line {row.line}: {row.reason}" for row in shown
            )
            message += " ..." if summary.invalid > len(shown) else ""
        raise InputError(
            message,
            path=spec.label,
            line=first.line,
            hint="fix the input, or pass --skip-invalid to erase the valid rows only "
            "(invalid rows are counted and listed)",
        )
    if not summary.rows:
        raise InputError("no identifiers to erase", path=spec.label)
