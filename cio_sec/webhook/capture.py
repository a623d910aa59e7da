"""Parse a captured raw HTTP request: request line, headers, blank line, body, as bytes.

Captures come from ``nc -l``, tcpdump, proxies and editors, so the parser accepts what a
lenient server would: CRLF or LF line endings, blank lines before the request line,
header names in any case, folded header lines, and chunked bodies (decoded). It never
re-encodes the body: the bytes after the headers are the bytes that were signed.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from cio_sec.errors import InputError

_REQUEST_LINE = re.compile(rb"[A-Z]{3,10} \S+ HTTP/\d(?:\.\d)?")
_HEADER_NAME = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")
#: Largest body accepted, from a file or over the wire.
MAX_BODY_BYTES = 16 * 1024 * 1024
_LENGTH_DIGITS = 12


class BodyTooLargeError(InputError):
    """A body over the size limit (a receiver answers 413, not 400)."""


class Readable(Protocol):
    """What the parser reads from: a file, or the receiver's metered request body."""

    def read(self, size: int, /) -> bytes:
        """Up to ``size`` bytes; fewer only at the end of the stream."""

    def readline(self, limit: int, /) -> bytes:
        """One line with its ending, at most ``limit`` bytes."""


@dataclass(frozen=True)
class CapturedRequest:
    """A parsed request: its method and target, headers (raw values) and decoded body."""

    method: str
    target: str
    headers: tuple[tuple[str, bytes], ...]
    """Lower-cased names with raw values, in order; values are bytes (never decoded)."""
    body: bytes = field(repr=False)
    warnings: tuple[str, ...] = ()

    def header(self, name: str) -> bytes | None:
        """The value of a header (names are case-insensitive); repeats are joined with ", "."""
        values = [value for key, value in self.headers if key == name.lower()]
        return b", ".join(values) if values else None


def parse_request(data: bytes, *, source: str = "<request>") -> CapturedRequest:
    """Parse one captured HTTP/1.x request.

    Raises:
        InputError: not an HTTP request (names the line), a malformed header or chunk,
            or a body shorter than its Content-Length.
    """
    stream = io.BytesIO(data)
    line_number, request_line = _first_line(stream, source)
    if not _REQUEST_LINE.fullmatch(request_line):
        raise InputError(
            "not an HTTP request line (expected e.g. `POST /webhook HTTP/1.1`)",
            path=source,
            line=line_number,
            hint="--request takes a raw captured request: request line, headers, blank "
            "line, body; use --body with --timestamp and --signature for a bare body",
        )
    method, target, _ = request_line.decode("latin-1").split(" ")
    headers = _headers(stream, source, line_number)
    request = CapturedRequest(method, target, headers, b"")
    body, warnings = _body(request, stream, source)
    return CapturedRequest(method, target, headers, body, warnings)


def _lines(stream: Readable) -> tuple[bytes, bool]:
    """One line without its CRLF/LF, and whether a line ending was found."""
    raw = stream.readline(MAX_BODY_BYTES)
    ended = raw.endswith(b"\n")
    raw = raw[:-1] if ended else raw
    return (raw[:-1] if raw.endswith(b"\r") else raw), ended


def _first_line(stream: BinaryIO, source: str) -> tuple[int, bytes]:
    line_number = 0
    while True:
        line, ended = _lines(stream)
        line_number += 1
        if line or not ended:
            break
    if not line:
        raise InputError("the request is empty", path=source)
    return line_number, line


def _headers(stream: BinaryIO, source: str, line_number: int) -> tuple[tuple[str, bytes], ...]:
    headers: list[tuple[str, bytes]] = []
    while True:
        line, ended = _lines(stream)
        line_number += 1
        if not line:
            if not ended:
                raise InputError(
                    "the headers are not followed by a blank line",
                    path=source,
                    line=line_number,
                    hint="a captured request ends its headers with an empty line",
                )
            return tuple(headers)
        if line[:1] in (b" ", b"\t") and headers:
            folded_name, folded = headers[-1]  # an obsolete folded continuation line
            headers[-1] = (folded_name, folded + b" " + line.strip(b" \t"))
            continue
        raw_name, colon, value = line.partition(b":")
        if not colon or not _HEADER_NAME.fullmatch(raw_name):
            raise InputError("not a header line (`Name: value`)", path=source, line=line_number)
        headers.append((raw_name.decode("ascii").lower(), value.strip(b" \t")))


def _body(request: CapturedRequest, stream: BinaryIO, source: str) -> tuple[bytes, tuple[str, ...]]:
    encoding = (request.header("transfer-encoding") or b"").lower()
    if b"chunked" in encoding:
        return read_chunked(stream, source), ()
    rest = stream.read(MAX_BODY_BYTES + 1)
    if len(rest) > MAX_BODY_BYTES:
        raise InputError(f"the body is larger than {MAX_BODY_BYTES} bytes", path=source)
    length_header = request.header("content-length")
    if length_header is None:
        return rest, ()
    length = declared_length(length_header.decode("latin-1"))
    if length is None:
        raise InputError("Content-Length is not a number", path=source)
    if length > MAX_BODY_BYTES:
        raise BodyTooLargeError(
            f"Content-Length declares more than {MAX_BODY_BYTES} bytes", path=source
        )
    if len(rest) < length:
        raise InputError(
            f"the body is truncated: Content-Length says {length} bytes, the capture has "
            f"{len(rest)}",
            path=source,
        )
    extra = len(rest) - length
    warnings = (
        (f"ignored {extra} bytes after the {length}-byte body (Content-Length)",) if extra else ()
    )
    return rest[:length], warnings


def declared_length(value: str) -> int | None:
    """A Content-Length value as a number of bytes; None when it is not ASCII digits.

    NOTE: a value of thousands of digits is not converted (``int`` refuses more than 4300
    digits); any value past `_LENGTH_DIGITS` digits is returned as ``10**_LENGTH_DIGITS``,
    more than any body is allowed to be.
    """
    if not (value.isascii() and value.isdigit()):
        return None
    digits = value.lstrip("0") or "0"
    return int(digits) if len(digits) <= _LENGTH_DIGITS else 10**_LENGTH_DIGITS


def read_chunked(stream: Readable, source: str, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """Decode a chunked body (RFC 9112 §7.1) from a stream, up to the last chunk's trailers.

    Raises:
        BodyTooLargeError: the body is over ``limit``.
        InputError: a malformed chunk size or a truncated chunk.
    """
    body = bytearray()
    while True:
        size_line, _ = _lines(stream)
        match = _CHUNK_SIZE.fullmatch(size_line)
        if match is None:
            raise InputError("malformed chunk size in a chunked body", path=source)
        size = int(match.group(1), 16)
        if len(body) + size > limit:
            raise BodyTooLargeError(f"the body is larger than {limit} bytes", path=source)
        if size == 0:
            _skip_trailers(stream)
            return bytes(body)
        chunk = stream.read(size)
        if len(chunk) < size:
            raise InputError("the chunked body is truncated", path=source)
        body += chunk
        terminator, _ = _lines(stream)
        if terminator:
            raise InputError("a chunk is longer than its declared size", path=source)


def _skip_trailers(stream: Readable) -> None:
    while True:
        line, ended = _lines(stream)
        if not line or not ended:
            return
