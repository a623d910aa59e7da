"""HTTP/1.1 on the wire: reading requests (heads, bodies, queries) and rendering responses."""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import time
from http import HTTPStatus
from typing import Final
from urllib.parse import parse_qs

from cio_sec.sandbox.models import ClientError

MAX_HEAD_BYTES: Final = 64 * 1024
_MAX_HEADERS: Final = 100
_MAX_BODY_BYTES: Final = 4 * 1024 * 1024


class HttpError(Exception):
    """A request that cannot be parsed: answered with `status`, then the connection closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Request:
    """One parsed request; `body` is filled in once the head has been read."""

    __slots__ = ("body", "headers", "http10", "keep_alive", "method", "path", "query")

    def __init__(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        *,
        keep_alive: bool,
        http10: bool,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.keep_alive = keep_alive
        self.http10 = http10
        self.body = b""

    @property
    def target(self) -> str:
        """The path and query as sent (still percent-encoded), for a ``Location``."""
        return f"{self.path}?{self.query}" if self.query else self.path


class Response:
    """A status, a body and any extra header lines, ready for `render`.

    The body is JSON unless `content_type` says otherwise; "" sends no ``Content-Type``.
    """

    __slots__ = ("body", "content_type", "extra", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        extra: str = "",
        content_type: str = "application/json",
    ) -> None:
        self.status = status
        self.body = body
        self.extra = extra  # additional header lines, each ending in CRLF
        self.content_type = content_type


def json_bytes(doc: object) -> bytes:
    """Encode a JSON document compactly as UTF-8."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(status: int, doc: object, extra: str = "") -> Response:
    """Return a response carrying a JSON document (`extra`: header lines, each ending CRLF)."""
    return Response(status, json_bytes(doc), extra)


EMPTY_OK: Final = Response(200, b"{}")
NO_CONTENT: Final = Response(204, b"")
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")
_CHUNK_SIZE: Final = re.compile(rb"[0-9a-fA-F]{1,16}")
_REASONS: Final = {status.value: status.phrase for status in HTTPStatus}


class DateHeader:
    """The ``Date`` header value, formatted at most once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def get(self) -> str:
        """Return the current ``Date`` value (RFC 9110 IMF-fixdate)."""
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = email.utils.formatdate(now, usegmt=True)
        return self._value


def render(
    response: Response,
    date: str,
    *,
    keep_alive: bool,
    http10: bool = False,
    head_only: bool = False,
) -> bytes:
    """Serialise a response as one buffer, so it leaves in one write (see Nagle).

    `head_only` answers a HEAD request: the same headers, no body (RFC 9110, section 9.3.2).
    """
    status = response.status
    reason = _REASONS.get(status, "Unknown")
    head = f"HTTP/1.1 {status} {reason}\r\nDate: {date}\r\nServer: cio-sec-sandbox\r\n"
    if status != 204:
        if response.content_type:
            head += f"Content-Type: {response.content_type}\r\n"
        head += f"Content-Length: {len(response.body)}\r\n"
    if not keep_alive:
        head += "Connection: close\r\n"
    elif http10:
        head += "Connection: keep-alive\r\n"
    head = f"{head}{response.extra}\r\n"
    return head.encode("latin-1") if head_only else head.encode("latin-1") + response.body


def parse_head(head: bytes) -> Request:
    """Parse a request line and headers (without the final empty line).

    Raises:
        HttpError: anything malformed.
    """
    lines = head.decode("latin-1").split("\r\n")
    request_line = lines[0]
    if not request_line.isascii():
        raise HttpError(400, "request line is not ASCII")
    parts = request_line.split(" ")
    if len(parts) != 3:
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if not method or not method.isalpha() or not method.isupper():
        raise HttpError(400, "malformed method")
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(400, "unsupported HTTP version")
    if not target.isprintable():
        raise HttpError(400, "malformed request target")
    if target.startswith(("http://", "https://")):
        slash = target.find("/", target.index("//") + 2)
        target = "/" if slash < 0 else target[slash:]
    if not target.startswith("/"):
        raise HttpError(400, "request target must be a path")
    if len(lines) - 1 > _MAX_HEADERS:
        raise HttpError(431, "too many headers")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        name = name.lower()
        if not sep or not _HEADER_NAME.fullmatch(name):
            raise HttpError(400, "malformed header")
        value = value.strip(" \t")
        if name in headers:
            if name in ("content-length", "host", "authorization"):
                raise HttpError(400, f"duplicate {name} header")
            value = f"{headers[name]}, {value}"
        headers[name] = value
    connection = headers.get("connection", "").lower()
    http10 = version == "HTTP/1.0"
    keep_alive = "keep-alive" in connection if http10 else "close" not in connection
    path, _, query = target.partition("?")
    return Request(method, path, query, headers, keep_alive=keep_alive, http10=http10)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """Read a chunked body and its trailers.

    Raises:
        HttpError: malformed chunks or a body over the size limit.
    """
    parts: list[bytes] = []
    total = 0
    while True:
        line = await _read_line(reader)
        size_text = line[:-2].split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise HttpError(400, "malformed chunk size")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > _MAX_BODY_BYTES:
            raise HttpError(413, "request body too large")
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise HttpError(400, "malformed chunk")
    for _ in range(_MAX_HEADERS):
        if await _read_line(reader) == b"\r\n":
            return b"".join(parts)
    raise HttpError(431, "too many trailers")


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n")
    except asyncio.LimitOverrunError:
        raise HttpError(400, "chunk line too long") from None


async def read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> Request | None:
    """Read one request; None when the client closed the connection between requests.

    Raises:
        HttpError: a malformed or oversized request.
    """
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise HttpError(400, "incomplete request") from None
        return None
    except asyncio.LimitOverrunError:
        raise HttpError(431, "request head too large") from None
    # Clients may send empty lines between pipelined requests (RFC 9112, section 2.2).
    request = parse_head(head.lstrip(b"\r\n")[:-4])
    headers = request.headers
    transfer_encoding = headers.get("transfer-encoding")
    length_text = headers.get("content-length")
    if transfer_encoding is not None:
        if length_text is not None or transfer_encoding.lower() != "chunked":
            raise HttpError(400, "unsupported transfer encoding")
        _continue(request, writer)
        request.body = await _read_chunked(reader)
    elif length_text is not None:
        if not (length_text.isascii() and length_text.isdigit()) or len(length_text) > 12:
            raise HttpError(400, "malformed content-length")
        length = int(length_text)
        if length > _MAX_BODY_BYTES:
            raise HttpError(413, "request body too large")
        if length:
            _continue(request, writer)
            request.body = await reader.readexactly(length)
    return request


def _continue(request: Request, writer: asyncio.StreamWriter) -> None:
    if request.headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")


# --- request bodies, queries and methods ---------------------------------------------


def json_object(body: bytes, *, what: str) -> dict[str, object]:
    """Parse a JSON object body; an empty body is an empty object.

    Raises:
        ClientError: not JSON, or not an object.
    """
    if not body.strip():
        return {}
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise ClientError(400, f"{what} is not valid JSON") from None
    if not isinstance(doc, dict):
        raise ClientError(400, f"{what} must be a JSON object")
    return doc


def parse_query(request: Request) -> dict[str, list[str]]:
    """Return the request's query parameters (blank values kept).

    Raises:
        ClientError: a query string that is not UTF-8 once percent-decoded.
    """
    try:
        return parse_qs(request.query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise ClientError(400, "query string is not valid UTF-8") from None


def query_int(request: Request, name: str) -> int | None:
    """Return the last value of an integer query parameter; None when absent.

    Raises:
        ClientError: a value that is not an integer.
    """
    values = parse_query(request).get(name)
    if not values:
        return None
    try:
        return int(values[-1])
    except ValueError:
        raise ClientError(400, f"{name} must be an integer", errors_shape=False) from None


class MethodNotAllowedError(Exception):
    """A method the resource does not serve: answered 405 with an ``Allow`` header."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        super().__init__("method not allowed")
        self.allowed = allowed

    def response(self) -> Response:
        """Return the 405 answer."""
        doc = {"meta": {"error": "method not allowed"}}
        return json_response(405, doc, f"Allow: {', '.join(self.allowed)}\r\n")


def allow(method: str, allowed: tuple[str, ...]) -> None:
    """Check a request method against the ones a resource serves.

    Raises:
        MethodNotAllowedError: any other method.
    """
    if method not in allowed:
        raise MethodNotAllowedError(allowed)
