"""Reading and writing JSON, NDJSON and CSV records as streams, in constant memory.

The format comes from the name or the first line. JSON and NDJSON are read by
:mod:`cio_sec.sanitize.json_reader` (an array one element at a time from a sliding buffer,
NDJSON one line at a time), CSV here one row at a time; JSON is written by orjson.
Malformed input raises InputError naming the line; with ``skip_invalid`` a bad NDJSON
line, a ragged CSV row or a non-object record is counted and skipped instead (a JSON
syntax error inside an array cannot be skipped: nothing after it can be trusted).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from enum import Enum
from typing import IO, Any

import orjson

from cio_sec.errors import InputError
from cio_sec.sanitize.document import Document, OnInvalid, reject
from cio_sec.sanitize.json_reader import TextBuffer, json_document, ndjson_records
from cio_sec.sanitize.jsontext import compact_encoder


class InputFormat(str, Enum):
    """The formats ``sanitize`` reads and writes (output always matches input)."""

    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"


_EXTENSIONS = {".json": InputFormat.JSON, ".ndjson": InputFormat.NDJSON}
_EXTENSIONS |= {".jsonl": InputFormat.NDJSON, ".csv": InputFormat.CSV}


#: Bytes of the first line read to guess the format: a one-line array is not read whole.
SNIFF_LIMIT = 1 << 16


def format_from_name(name: str) -> InputFormat | None:
    """The format a file name's extension names, if any."""
    for extension, fmt in _EXTENSIONS.items():
        if name.lower().endswith(extension):
            return fmt
    return None


def format_for(name: str, first_line: bytes) -> InputFormat:
    """Guess the format from a file name, else from the first line of the content.

    ``first_line`` is the first line or its first :data:`SNIFF_LIMIT` bytes. A first line
    that is a whole JSON object (or an object longer than the limit) means NDJSON; ``[`` or
    an object spread over several lines means JSON; anything else is read as CSV.
    """
    fmt = format_from_name(name)
    if fmt is not None:
        return fmt
    stripped = first_line.strip()
    if stripped.startswith(b"["):
        return InputFormat.JSON
    if stripped.startswith(b"{"):
        if len(first_line) >= SNIFF_LIMIT and not first_line.endswith(b"\n"):
            return InputFormat.NDJSON  # a line too long to sniff whole: one object per line
        try:
            json.loads(stripped)
        except ValueError:
            return InputFormat.JSON
        return InputFormat.NDJSON
    return InputFormat.CSV


def read_document(
    stream: IO[bytes], fmt: InputFormat, label: str, on_invalid: OnInvalid | None
) -> Document:
    """Open ``stream`` as ``fmt``; ``on_invalid`` (when given) receives skipped records.

    Raises:
        InputError: malformed input (naming the line) and no ``on_invalid`` to skip it.
    """
    if fmt is InputFormat.NDJSON:
        return Document("lines", ndjson_records(stream, label, on_invalid))
    if fmt is InputFormat.CSV:
        return _csv(stream, label, on_invalid)
    return json_document(TextBuffer(stream, label), label, on_invalid)


def _csv(stream: IO[bytes], label: str, on_invalid: OnInvalid | None) -> Document:
    # NOTE: bytes that are not UTF-8 become lone surrogates and are found row by row: a
    # strict decoder fails on a whole 8 KiB chunk, lines before the bad row.
    text = io.TextIOWrapper(
        io.BufferedReader(_Borrowed(stream)),
        encoding="utf-8-sig",
        errors="surrogateescape",
        newline="",
    )
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"invalid CSV header: {exc}", path=label, line=1) from None
    if not header:
        raise InputError("a CSV file needs a header row", path=label, line=1)
    bad_line = _invalid_utf8_line(header, 1)
    if bad_line is not None:
        raise InputError(_NOT_UTF8, path=label, line=bad_line)
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:  # a record keeps one value per name: the others would be lost
        raise InputError(
            f"the CSV header repeats column(s) {', '.join(map(repr, duplicates))}",
            path=label,
            line=1,
        )
    return Document("table", _csv_rows(reader, header, label, on_invalid), header=header)


def _csv_rows(
    reader: Any, header: list[str], label: str, on_invalid: OnInvalid | None
) -> Iterator[dict[str, Any]]:
    width = len(header)
    end = reader.line_num
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # NOTE: the csv module cannot resynchronise after a broken quote; stop here.
            raise InputError(f"invalid CSV: {exc}", path=label, line=reader.line_num) from None
        end = reader.line_num
        if not all(map(str.isascii, row)):
            bad_line = _invalid_utf8_line(row, start)
            if bad_line is not None:
                reject(InputError(_NOT_UTF8, path=label, line=bad_line), on_invalid)
                continue
        if len(row) == width:
            yield dict(zip(header, row, strict=True))
        elif row:
            reject(
                InputError(
                    f"ragged CSV row: {len(row)} fields, the header has {width}",
                    path=label,
                    line=reader.line_num,
                ),
                on_invalid,
            )


_NOT_UTF8 = "invalid CSV: not valid UTF-8"
#: What ``surrogateescape`` makes of a byte that is not UTF-8.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def _invalid_utf8_line(row: list[str], start: int) -> int | None:
    """The line of the first byte in ``row`` that was not UTF-8, or None.

    ``start`` is the row's first line; a quoted field may span several.
    """
    line = start
    for value in row:
        match = None if value.isascii() else _ESCAPED_BYTE.search(value)
        if match:
            return line + _line_breaks(value[: match.start()])
        line += _line_breaks(value)
    return None


def _line_breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


class _Borrowed(io.RawIOBase):
    """A stream read or written through a text wrapper that must not close it.

    Its opener closes it.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.read_some: Callable[[int], bytes] = getattr(stream, "read1", stream.read)

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read_some(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def write(self, data: Any) -> int:
        self.stream.write(data)
        return len(data)


#: ``json.dumps(record, ensure_ascii=False, separators=(",", ":"))``, one encoder for all.
_dumps = compact_encoder(ensure_ascii=False, sort_keys=False)
_BATCH = 256  # records per write: fewer, larger writes


def encode_record(record: dict[str, Any]) -> bytes:
    """A record as compact UTF-8 JSON, byte for byte what the standard library writes.

    orjson writes it, except a record holding what orjson writes differently: a float
    below 1e-4 ("1e-05" is "0.00001" to orjson, "1.5e-07" is "1.5e-7") or an integer
    beyond 64 bits, which it cannot write. The test for the first also catches such text
    in strings, which only costs that record the slower path.
    """
    try:
        line = orjson.dumps(record)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _dumps(record).encode()
    if b"e-" in line or b"0.0000" in line:
        return _dumps(record).encode()
    return line


def _write_lines(out: IO[bytes], records: Iterator[dict[str, Any]]) -> None:
    """One record per line, written in batches (what was read before an error still is)."""
    batch: list[bytes] = []
    encode = encode_record
    try:
        for record in records:
            batch.append(encode(record))
            if len(batch) == _BATCH:
                batch.append(b"")
                out.write(b"\n".join(batch))
                batch.clear()
    finally:
        if batch:
            batch.append(b"")
            out.write(b"\n".join(batch))


def write_document(
    out: IO[bytes], shape: str, records: Iterator[dict[str, Any]], header: list[str]
) -> None:
    """Write sanitised records in the shape they were read in, as UTF-8."""
    if shape == "lines":
        _write_lines(out, records)
    elif shape == "object":
        for record in records:
            out.write(encode_record(record) + b"\n")
    elif shape == "array":
        out.write(b"[")
        separator = b"\n"
        for record in records:
            out.write(separator + encode_record(record))
            separator = b",\n"
        out.write(b"\n]\n")
    else:
        _write_csv(out, records, header)


def _write_csv(out: IO[bytes], records: Iterator[dict[str, Any]], header: list[str]) -> None:
    buffer = io.BufferedWriter(_Borrowed(out))
    text = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
    try:
        writer = csv.writer(text, lineterminator="\r\n")  # RFC 4180; quotes a bare \r too
        writer.writerow(header)
        writer.writerows([record.get(column, "") for column in header] for record in records)
    finally:
        text.detach().flush()  # what was written before an error still is; out stays open
