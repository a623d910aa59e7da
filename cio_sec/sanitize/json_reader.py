"""Strict JSON records, read in constant memory: NDJSON line by line, arrays from a buffer.

NDJSON is decoded by orjson, with the standard library for what orjson reads differently;
a JSON array is decoded one element at a time from a sliding buffer. A JSON syntax error
inside an array cannot be skipped: nothing after it can be trusted.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Callable, Iterator
from typing import IO, Any

import orjson

from cio_sec.errors import InputError
from cio_sec.sanitize.document import Document, OnInvalid, reject
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
#: ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``: what is written.
_dumps = compact_encoder(ensure_ascii=False, sort_keys=False)


def ndjson_records(
    stream: IO[bytes], label: str, on_invalid: OnInvalid | None
) -> Iterator[dict[str, Any]]:
    """The records of an NDJSON stream, one line at a time; blank lines are skipped."""
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
            reject(InputError(f"invalid JSON: {reason}", path=label, line=number), on_invalid)
            continue
        if type(record) is not dict:
            reject(
                InputError("a record must be a JSON object", path=label, line=number), on_invalid
            )
        elif unchecked and _lone_surrogate(record):
            reject(InputError(_LONE_SURROGATE, path=label, line=number), on_invalid)
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


class TextBuffer:
    """A sliding window over a UTF-8 stream that knows the line number of its start."""

    def __init__(self, stream: IO[bytes], label: str) -> None:
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
        """The line number of the buffer's character at ``index``."""
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
        """An InputError at the cursor's line."""
        return InputError(message, path=self.label, line=self.line_at(self.pos))


def json_document(buffer: TextBuffer, label: str, on_invalid: OnInvalid | None) -> Document:
    """One JSON object, or an array of them read element by element."""
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
    buffer: TextBuffer, label: str, on_invalid: OnInvalid | None
) -> Iterator[dict[str, Any]]:
    if buffer.skip_whitespace() == "]":
        buffer.pos += 1
    else:
        while True:
            value, line = buffer.decode_value()
            if type(value) is dict:
                yield value
            else:
                reject(
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
