"""The receiver's HTTP side: a server with connection slots and a handler with deadlines.

What an unauthenticated client can hold (connections, time, memory) is bounded here, by
the receiver's `cio_sec.webhook.limits.ServeLimits`; what a body means is the receiver's
business (:mod:`cio_sec.webhook.receiver`).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import socket
from typing import Any, Protocol

from cio_sec import __version__
from cio_sec.errors import InputError
from cio_sec.terminal import printable
from cio_sec.webhook.capture import BodyTooLargeError, declared_length, read_chunked
from cio_sec.webhook.limits import (
    READ_PIECE_BYTES,
    ConnectionSlots,
    DeadlineReader,
    InFlight,
    MeteredBody,
    ServeLimits,
)

LOG = logging.getLogger("cio_sec.webhook")
#: An answer: status, headers and body.
Response = tuple[int, dict[str, str], bytes]


class Deliveries(Protocol):
    """What the handler hands each body to, and the limits it reads bodies within."""

    @property
    def limits(self) -> ServeLimits:
        """Bounds on connections, time and body size."""

    @property
    def in_flight(self) -> InFlight:
        """Body bytes held right now."""

    def handle(self, headers: Any, body: bytes) -> Response:
        """Answer one complete request."""


def json_response(status: int, document: dict[str, object]) -> Response:
    """A small JSON answer: status, headers and the document on one line."""
    return status, {"Content-Type": "application/json"}, json.dumps(document).encode() + b"\n"


_BUSY_BODY = b'{"ok": false, "reason": "too-busy"}\n'
#: The answer to a connection over the cap: sent without waiting, then the socket closes.
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_BUSY_BODY), _BUSY_BODY)
)


class Server(ThreadingHTTPServer):
    """A threaded HTTP server that serves at most as many connections as it has slots."""

    daemon_threads = True
    request_queue_size = 128  # the default of 5 resets bursts of deliveries

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        slots: ConnectionSlots,
    ) -> None:
        self.slots = slots
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a thread if a slot is free; otherwise answer 503."""
        if not self.slots.take(request):
            _turn_away(request)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve the connection, then free its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a failed connection at debug level."""
        # NOTE: never a traceback on stderr for a client that misbehaved.
        LOG.debug("connection from %s failed", client_address[0], exc_info=True)


def _turn_away(connection: socket) -> None:
    """Answer 503 without blocking the accepting thread; a client that is not reading loses it."""
    LOG.debug("refused a connection: every slot is taken (--max-connections)")
    with contextlib.suppress(OSError):
        connection.setblocking(False)
        connection.send(_BUSY)


def handler_for(receiver: Deliveries) -> type[BaseHTTPRequestHandler]:
    """A request handler that reads each body within the receiver's limits, then hands it over."""
    limits = receiver.limits

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"cio-sec/{__version__}"
        sys_version = ""
        disable_nagle_algorithm = True  # headers and body leave in one go, no 40 ms stall

        def setup(self) -> None:
            super().setup()
            self.rfile.close()  # replaced by one that reads against a deadline
            self._reader = DeadlineReader(self.connection)
            self.rfile = io.BufferedReader(self._reader, READ_PIECE_BYTES)

        def handle_one_request(self) -> None:
            # The wait for a request and its headers share one deadline (slowloris).
            self._reader.expire_in(limits.header_timeout)
            super().handle_one_request()

        def parse_request(self) -> bool:
            if not super().parse_request():
                return False
            # NOTE: http.client ends the headers at end of stream too; a client that hung
            # up mid-headers sent no request, so there is nothing to verify or answer.
            if self._reader.ended:
                self.close_connection = True
                return False
            return True

        def handle_expect_100(self) -> bool:
            if self._declared_length() is None:
                return False  # refused before the client sends the body
            return super().handle_expect_100()

        def do_POST(self) -> None:
            self._reader.expire_in(limits.body_timeout)
            body = MeteredBody(self.rfile, receiver.in_flight)
            try:
                data = self._read_body(body)
                if data is not None:
                    self._respond(*receiver.handle(self.headers, data))
            finally:
                body.release()

        def _chunked(self) -> bool:
            return "chunked" in self.headers.get("Transfer-Encoding", "").lower()

        def _declared_length(self) -> int | None:
            """The Content-Length (0 when chunked or absent); None after answering 413."""
            if self._chunked():
                return 0
            length = declared_length(self.headers.get("Content-Length", "0"))
            if length is None:
                self._refuse(400, "bad-content-length")
                return None
            if length > limits.max_body_bytes:
                self._refuse(413, "body-too-large")
                return None
            return length

        def _read_body(self, body: MeteredBody) -> bytes | None:
            length = self._declared_length()
            if length is None:
                return None
            try:
                if self._chunked():
                    return read_chunked(body, "request", limit=limits.max_body_bytes)
                data = body.read(length)
            except BodyTooLargeError:
                self._refuse(413, "body-too-large")
                return None
            except InputError:
                self._refuse(400, "bad-chunk")
                return None
            except TimeoutError:
                self._refuse(408, "body-timeout")
                return None
            if len(data) < length:  # the client hung up mid-body: nobody to answer
                self.close_connection = True
                return None
            return data

        def _refuse(self, status: int, reason: str) -> None:
            """Answer an error and close: what is left of the request is never read."""
            self.close_connection = True
            self._respond(*json_response(status, {"ok": False, "reason": reason}))

        def _respond(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            # NOTE: a client that stops reading cannot hold the thread either.
            self.connection.settimeout(limits.body_timeout)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            LOG.debug("%s %s", self.address_string(), printable(format % args))

    return Handler
