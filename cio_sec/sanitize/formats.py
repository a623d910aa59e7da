"""Reading and writing JSON, NDJSON and CSV records as streams, in constant memory.

A JSON array is decoded one element at a time from a sliding buffer, NDJSON one line at a
time (by orjson, with the standard library for what orjson reads differently), CSV one row
at a time. JSON is written by orjson. Malformed input raises InputError naming the line; with
``skip_invalid`` a bad NDJSON line, a ragged CSV row or a non-object record is counted and
skipped instead (a JSON syntax error inside an array cannot be skipped: nothing after it
can be trusted).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import IO, Any

import orjson

from cio_sec.errors import InputError
from cio_sec.sanitize.jsontext import compact_encoder

_CHUNK = 1 << 16
_CUT_MARGIN = 8  # longer than any JSON literal or escape a chunk can cut


def _not_json(name: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity`` are Python's extension, not JSON."""
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    """A float literal, unless it overflows to infinity (``1e999``), which JSON cannot hold."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:20]} is too large for JSON")
    return value


#: Strict JSON: what is written must be what Customer.io (and any JSON parser) accepts.
_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite)
_WHITESPACE = " \t\n\r"
#: The decoder's own C scanner: one value from an index, and where it ends. An NDJSON line
#: is one value and (usually) a newline; ``JSONDecoder.decode`` would add two Python frames
#: and two whitespace matches to every line.
_SCAN: Callable[[str, int], tuple[Any, int]] = vars(_DECODER)["scan_once"]
#: A \uD800-\uDFFF escape. JSON allows a lone one, UTF-8 cannot hold it: only text with
#: such an escape needs :func:`_lone_surrogate`'s full check.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = "invalid JSON: a lone UTF-16 surrogate (\\ud800-\\udfff) is not text"
#: Every ASCII digit to "0", every other byte to a space: a line holding no run of 19
#: digits holds no integer beyond 64 bits, which orjson would read as a float.
_DIGITS_AS_ZEROS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_NINETEEN_DIGITS = b"0" * 19


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


@dataclass
class Document:
    """An open input: its shape and a lazy iterator over its records."""

    shape: str
    """``object`` (one JSON object), ``array``, ``lines`` (NDJSON) or ``table`` (CSV)."""
    records: Iterator[dict[str, Any]]
    header: list[str] = field(default_factory=list)
    """CSV column names."""


OnInvalid = Callable[[InputError], None]


def read_document(
    stream: IO[bytes], fmt: InputFormat, label: str, on_invalid: OnInvalid | None
) -> Document:
    """Open ``stream`` as ``fmt``; ``on_invalid`` (when given) receives skipped records.

    Raises:
        InputError: malformed input (naming the line) and no ``on_invalid`` to skip it.
    """
    if fmt is InputFormat.NDJSON:
        return Document("lines", _ndjson(stream, label, on_invalid))
    if fmt is InputFormat.CSV:
        return _csv(stream, label, on_invalid)
    return _json(_TextBuffer(stream, label), label, on_invalid)


def _reject(error: InputError, on_invalid: OnInvalid | None) -> None:
    if on_invalid is None:
        raise error
    on_invalid(error)


def _ndjson(
    stream: IO[bytes], label: str, on_invalid: OnInvalid | None
) -> Iterator[dict[str, Any]]:
    loads, digits_as_zeros = orjson.loads, _DIGITS_AS_ZEROS
    for number, line in enumerate(stream, start=1):
        # NOTE: orjson reads strict UTF-8 JSON and refuses lone surrogates. Anything else (a
        # BOM, UTF-16, bad input, an integer beyond 64 bits it would read as a float,
        # nesting deeper than it reads) takes the standard library's path, as before.
        try:
            record = loads(line)
        except orjson.JSONDecodeError:
            record = None
        else:
            if _NINETEEN_DIGITS in line.translate(digits_as_zeros):
                record = None
        # json.loads decodes with "surrogatepass": its records may hold surrogates unescaped.
        unchecked = record is None
        try:
            if record is None:
                record = _stdlib_loads(line)
        except (ValueError, RecursionError) as exc:
            if not line.strip():
                continue
            reason = _reason(exc)
            _reject(InputError(f"invalid JSON: {reason}", path=label, line=number), on_invalid)
            continue
        if type(record) is not dict:
            _reject(
                InputError("a record must be a JSON object", path=label, line=number), on_invalid
            )
        elif unchecked and _lone_surrogate(record):
            _reject(InputError(_LONE_SURROGATE, path=label, line=number), on_invalid)
        else:
            yield record


def _lone_surrogate(value: Any) -> bool:
    """Whether a decoded value holds a surrogate no pair completed (it cannot be written)."""
    try:
        _dumps(value).encode()
    except UnicodeEncodeError:
        return True
    return False


def _strict_loads(line: bytes) -> Any:
    return json.loads(line, parse_constant=_not_json, parse_float=_finite)


def _stdlib_loads(line: bytes) -> Any:
    """One line by the standard library: plain UTF-8 through the decoder's own scanner.

    Skips json.loads' encoding detection; anything else (a BOM, UTF-16, leading blanks,
    bad input) takes json.loads' path, which says what is wrong.
    """
    try:
        text = line.decode()
        record, end = _SCAN(text, 0)
        if not text[end:].strip(_WHITESPACE):
            return record
    except (ValueError, RecursionError, StopIteration):
        pass
    return _strict_loads(line)


def _reason(exc: ValueError | RecursionError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    if isinstance(exc, UnicodeDecodeError):
        return "not valid UTF-8"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


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
                _reject(InputError(_NOT_UTF8, path=label, line=bad_line), on_invalid)
                continue
        if len(row) == width:
            yield dict(zip(header, row, strict=True))
        elif row:
            _reject(
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


class _TextBuffer:
    """A sliding window over a UTF-8 stream that knows the line number of its start."""

    def __init__(self, stream: IO[bytes], label: str) -> None:
        import codecs

        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.stream = stream
        self.label = label
        self.text = ""
        self.pos = 0
        self.line = 1  # line number of text[0]
        self.eof = False
        self.chunk = _CHUNK

    def fill(self) -> bool:
        """Read more; False at end of input. Drops what was consumed, keeping memory flat."""
        if self.eof:
            return False
        raw = self.stream.read(self.chunk)
        try:
            more = self.decoder.decode(raw, final=not raw)
        except UnicodeDecodeError:
            line = self.line_at(len(self.text))
            raise InputError("not valid UTF-8", path=self.label, line=line) from None
        self.line += self.text.count("\n", 0, self.pos)
        self.text = self.text[self.pos :] + more
        self.pos = 0
        self.eof = not raw
        return True

    def skip_whitespace(self) -> str:
        """The next non-blank character ("" at the end), without consuming it."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.text) or not self.fill():
                return self.text[self.pos : self.pos + 1]

    def line_at(self, index: int) -> int:
        return self.line + self.text.count("\n", 0, index)

    def decode_value(self) -> tuple[Any, int]:
        """Decode the JSON value at the cursor; returns it and the line it started on."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if self._maybe_cut(exc) and self.fill():
                    self.chunk = min(self.chunk * 2, 1 << 24)  # a long value: read faster
                    continue
                raise InputError(
                    f"invalid JSON: {exc.msg}", path=self.label, line=self.line + exc.lineno - 1
                ) from None
            except (ValueError, RecursionError) as exc:  # NaN, 1e999, absurd nesting
                raise self.error(f"invalid JSON: {_reason(exc)}") from None
            # A number cut at the end of the buffer may continue in the next chunk.
            if end == len(self.text) and self.fill():
                continue
            self.chunk = _CHUNK
            line = self.line_at(self.pos)
            if _SURROGATE_ESCAPE.search(self.text, self.pos, end) and _lone_surrogate(value):
                raise InputError(_LONE_SURROGATE, path=self.label, line=line)
            self.pos = end
            return value, line

    def _maybe_cut(self, exc: json.JSONDecodeError) -> bool:
        """Whether the error may only mean the value continues past the buffer's end.

        Anything else is reported at once, without reading the rest of a large file.
        """
        if exc.msg.startswith("Unterminated string"):
            return "\n" not in self.text[exc.pos :]  # JSON strings never hold a raw newline
        return len(self.text) - exc.pos <= _CUT_MARGIN  # a cut literal, number or \u escape

    def error(self, message: str) -> InputError:
        return InputError(message, path=self.label, line=self.line_at(self.pos))


def _json(buffer: _TextBuffer, label: str, on_invalid: OnInvalid | None) -> Document:
    first = buffer.skip_whitespace()
    if first == "{":
        record, _ = buffer.decode_value()
        if buffer.skip_whitespace():
            raise buffer.error("unexpected data after the JSON object")
        return Document("object", iter([record]))
    if first != "[":
        raise buffer.error("expected a JSON object or an array of objects")
    buffer.pos += 1
    return Document("array", _json_elements(buffer, label, on_invalid))


def _json_elements(
    buffer: _TextBuffer, label: str, on_invalid: OnInvalid | None
) -> Iterator[dict[str, Any]]:
    if buffer.skip_whitespace() == "]":
        buffer.pos += 1
    else:
        while True:
            value, line = buffer.decode_value()
            if type(value) is dict:
                yield value
            else:
                _reject(
                    InputError("a record must be a JSON object", path=label, line=line), on_invalid
                )
            separator = buffer.skip_whitespace()
            buffer.pos += 1
            if separator == "]":
                break
            if separator != ",":
                buffer.pos -= 1
                raise buffer.error("expected ',' or ']' in the JSON array")
            buffer.skip_whitespace()
    if buffer.skip_whitespace():
        raise buffer.error("unexpected data after the JSON array")


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
