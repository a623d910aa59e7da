"""``verify-webhook serve``: a verifying receiver that reports one line per delivery.

Invalid deliveries get 401, valid ones 200 or, with ``forward_to``, the local app's own
response. Neither the key nor the body is ever printed; the body goes to the log at INFO
(``-v``) only. What an unauthenticated client can hold (connections, time, memory) is
bounded by `cio_sec.webhook.limits.ServeLimits`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import socket
from types import TracebackType
from typing import Any

from cio_sec import __version__
from cio_sec.errors import ConfigError, ExitCode, InputError
from cio_sec.terminal import printable
from cio_sec.webhook.capture import (
    MAX_BODY_BYTES,
    BodyTooLargeError,
    declared_length,
    read_chunked,
)
from cio_sec.webhook.delivery import VerifyOptions
from cio_sec.webhook.keys import SigningKeys
from cio_sec.webhook.limits import (
    READ_PIECE_BYTES,
    ConnectionSlots,
    DeadlineReader,
    InFlight,
    MeteredBody,
    ServeLimits,
)
from cio_sec.webhook.outbound import describe_redirect, forwarded_headers, is_redirect
from cio_sec.webhook.recipe import TIMESTAMP_HEADER
from cio_sec.webhook.signing import Verification, verify

LOG = logging.getLogger("cio_sec.webhook")
_EVENT_NAME = re.compile(r"[\w.:-]{1,64}")
_FORWARD_TIMEOUT = 10.0
#: How often the server loop checks for shutdown (stopping waits up to this long).
_POLL_INTERVAL = 0.05


@dataclass(frozen=True)
class DeliveryLine:
    """What ``serve`` prints for one delivery: never the body, never a key."""

    time: str
    verdict: str
    reason: str
    size: int
    event: str | None
    status: int
    matched: str | None
    forwarded: str | None = None
    """``ok``, or why forwarding failed; None when not forwarding."""

    @property
    def ok(self) -> bool:
        """True when the delivery was accepted: valid, and forwarded when forwarding."""
        return self.verdict == "valid" and self.forwarded in (None, "ok")

    @property
    def exit_code(self) -> ExitCode:
        """What ``verify-webhook`` would exit for this delivery: 1 invalid, 4 not forwarded."""
        if self.ok:
            return ExitCode.OK
        return ExitCode.CHECK_FAILED if self.verdict != "valid" else ExitCode.REMOTE

    def failure(self) -> tuple[str, str, str | None]:
        """Why the delivery was not accepted."""
        if self.verdict != "valid":
            return "InvalidDelivery", f"rejected with {self.status}: {self.reason}", None
        return (
            "ForwardError",
            f"verified, but not forwarded ({self.forwarded}); answered {self.status}",
            "check that the --forward-to app is up and answers without redirecting",
        )

    def to_json(self) -> dict[str, object]:
        """The JSON form (one object per line under ``--format json``)."""
        return {
            "time": self.time,
            "verdict": self.verdict,
            "reason": self.reason,
            "size": self.size,
            "event": self.event,
            "status": self.status,
            "matched_secret": self.matched,
            "forwarded": self.forwarded,
        }

    def text(self) -> str:
        """One human-readable line."""
        parts = [self.time, f"{self.verdict:<7}", f"{self.reason:<19}", f"{self.size} B"]
        parts.append(self.event or "-")
        parts.append(f"-> {self.status}")
        if self.forwarded and self.forwarded != "ok":
            parts.append(f"(forward failed: {self.forwarded})")
        return printable("  ".join(parts), keep_newlines=False)


def event_type(body: bytes) -> str | None:
    """The event type of a JSON body (``email.opened``), sanitised; None when not JSON."""
    try:
        data = json.loads(body) if len(body) <= MAX_BODY_BYTES else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    names = [data.get(key) for key in ("object_type", "metric")]
    parts = [name for name in names if isinstance(name, str)]
    if not parts:
        parts = [
            value for key in ("event", "type", "name") if isinstance(value := data.get(key), str)
        ][:1]
    event = ".".join(parts)
    # NOTE: the body is untrusted until verified; print only a tame identifier.
    return event if _EVENT_NAME.fullmatch(event) else ("?" if event else None)


class Receiver:
    """A threaded HTTP server that verifies every POST and reports it to ``on_delivery``.

    ``in_flight`` counts the body bytes held at any moment (at most
    ``limits.max_in_flight_bytes``); ``slots`` the connections served and refused.

    Raises:
        ConfigError: the address cannot be bound.
    """

    def __init__(
        self,
        keys: SigningKeys,
        options: VerifyOptions,
        on_delivery: Callable[[DeliveryLine], None],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        forward_to: str | None = None,
        limits: ServeLimits | None = None,
    ) -> None:
        self.keys = keys
        self.options = options
        self.forward_to = forward_to
        self.limits = limits or ServeLimits()
        self.in_flight = InFlight()
        self.slots = ConnectionSlots(self.limits.max_connections)
        self._report = on_delivery
        self._lock = threading.Lock()
        try:
            self._server = _Server((host, port), _handler_for(self), self.slots)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="choose another --port, or --port 0 for a free one",
            ) from exc
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(_POLL_INTERVAL,),
            name="cio-sec-receiver",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """The URL the receiver answers on."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self.slots.hang_up_all()  # handlers waiting on a slow client return at once
        self._server.server_close()
        self._thread.join()

    def run_until_interrupted(self, on_ready: Callable[[str], None]) -> None:
        """Serve until Ctrl-C, SIGTERM or SIGHUP; ``on_ready`` gets the URL once listening."""
        # a closed terminal (SIGHUP) stops the receiver as cleanly as SIGTERM does
        previous = {signum: signal.signal(signum, _interrupt) for signum in _STOP_SIGNALS}
        try:
            with self, contextlib.suppress(KeyboardInterrupt):
                on_ready(self.url)
                threading.Event().wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def handle(self, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Verify one delivery, forward it when valid, report it; return the response."""
        verdict = verify(
            body,
            headers.get(TIMESTAMP_HEADER),
            headers.get(self.options.scheme.signature_header),
            self.keys.active,
            tolerance=self.options.tolerance,
            now=self.options.now,
            scheme=self.options.scheme,
            allow_stale=self.options.allow_stale,
        )
        if LOG.isEnabledFor(logging.INFO):
            # NOTE: the body is not verified yet; its escapes and newlines are shown, not obeyed.
            text = printable(body.decode("utf-8", "replace"), keep_newlines=False)
            LOG.info("delivery body (%d bytes): %s", len(body), text)
        forwarded = None
        if not verdict.ok:
            status, response_headers, payload = _json_response(
                401, {"ok": False, "reason": verdict.reason.value}
            )
        elif self.forward_to is None:
            status, response_headers, payload = _json_response(200, {"ok": True})
        else:
            status, response_headers, payload, forwarded = self._forward(headers, body)
        self._emit(verdict, body, status, forwarded)
        return status, response_headers, payload

    def _forward(self, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes, str]:
        import httpx

        assert self.forward_to is not None  # noqa: S101 - only called when forwarding
        outgoing, dropped = forwarded_headers(headers.items())
        for name in dropped:
            LOG.warning("forwarded without the %s header: its value is not valid in HTTP", name)
        try:
            response = httpx.post(
                self.forward_to,
                content=body,
                headers=outgoing,
                timeout=_FORWARD_TIMEOUT,
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            return (
                *_json_response(502, {"ok": False, "reason": "forward-failed"}),
                type(exc).__name__,
            )
        if is_redirect(response):
            # NOTE: never followed: the delivery goes to --forward-to and nowhere else.
            problem = f"redirected {describe_redirect(response)}, not followed"
            return (*_json_response(502, {"ok": False, "reason": "forward-redirected"}), problem)
        kept = {"Content-Type": response.headers.get("content-type", "application/octet-stream")}
        return response.status_code, kept, response.content, "ok"

    def _emit(self, verdict: Verification, body: bytes, status: int, forwarded: str | None) -> None:
        line = DeliveryLine(
            time=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            verdict="valid" if verdict.ok else "invalid",
            reason=verdict.reason.value,
            size=len(body),
            event=event_type(body),
            status=status,
            matched=verdict.matched.label if verdict.matched else None,
            forwarded=forwarded,
        )
        for warning in verdict.warnings:
            LOG.warning(warning)
        with self._lock:
            self._report(line)


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _json_response(status: int, document: dict[str, object]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(document).encode() + b"\n"


_BUSY_BODY = b'{"ok": false, "reason": "too-busy"}\n'
#: The answer to a connection over the cap: sent without waiting, then the socket closes.
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_BUSY_BODY), _BUSY_BODY)
)


class _Server(ThreadingHTTPServer):
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
        if not self.slots.take(request):
            _turn_away(request)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # NOTE: never a traceback on stderr for a client that misbehaved.
        LOG.debug("connection from %s failed", client_address[0], exc_info=True)


def _turn_away(connection: socket) -> None:
    """Answer 503 without blocking the accepting thread; a client that is not reading loses it."""
    LOG.debug("refused a connection: every slot is taken (--max-connections)")
    with contextlib.suppress(OSError):
        connection.setblocking(False)
        connection.send(_BUSY)


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
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
            self._respond(*_json_response(status, {"ok": False, "reason": reason}))

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


__all__ = ["DeliveryLine", "Receiver", "event_type"]
