"""``verify-webhook serve``: a verifying receiver that reports one line per delivery.

Invalid deliveries get 401, valid ones 200 or, with ``forward_to``, the local app's own
response. Neither the key nor the body is ever printed; the body goes to the log at INFO
(``-v``) only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from cio_sec import __version__
from cio_sec.errors import ConfigError, InputError
from cio_sec.webhook.capture import MAX_BODY_BYTES, read_chunked
from cio_sec.webhook.delivery import VerifyOptions
from cio_sec.webhook.keys import SigningKeys
from cio_sec.webhook.signing import TIMESTAMP_HEADER, Verification, verify

LOG = logging.getLogger("cio_sec.webhook")
_EVENT_NAME = re.compile(r"[\w.:-]{1,64}")
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}
)
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
        return "  ".join(parts)


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
    ) -> None:
        self.keys = keys
        self.options = options
        self.forward_to = forward_to
        self._report = on_delivery
        self._lock = threading.Lock()
        try:
            self._server = _Server((host, port), _handler_for(self))
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
        self._server.server_close()
        self._thread.join()

    def run_until_interrupted(self, on_ready: Callable[[str], None]) -> None:
        """Serve until Ctrl-C or SIGTERM; ``on_ready`` gets the URL once listening."""
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            with self, contextlib.suppress(KeyboardInterrupt):
                on_ready(self.url)
                threading.Event().wait()
        finally:
            signal.signal(signal.SIGTERM, previous)

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
        LOG.info("delivery body (%d bytes): %s", len(body), body.decode("utf-8", "replace"))
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
        outgoing = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            response = httpx.post(
                self.forward_to, content=body, headers=outgoing, timeout=_FORWARD_TIMEOUT
            )
        except httpx.HTTPError as exc:
            reason = type(exc).__name__
            status, response_headers, payload = _json_response(
                502, {"ok": False, "reason": "forward-failed"}
            )
            return status, response_headers, payload, reason
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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _json_response(status: int, document: dict[str, object]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(document).encode() + b"\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default of 5 resets bursts of deliveries

    def handle_error(self, request: Any, client_address: Any) -> None:
        # NOTE: never a traceback on stderr for a client that misbehaved.
        LOG.debug("connection from %s failed", client_address[0], exc_info=True)


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"cio-sec/{__version__}"
        sys_version = ""
        disable_nagle_algorithm = True  # headers and body leave in one go, no 40 ms stall

        def do_POST(self) -> None:
            body = self._read_body()
            if body is None:
                return
            status, headers, payload = receiver.handle(self.headers, body)
            self._respond(status, headers, payload)

        def _read_body(self) -> bytes | None:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                try:
                    return read_chunked(self.rfile, "request")  # type: ignore[arg-type]
                except InputError:
                    self._respond(*_json_response(400, {"ok": False, "reason": "bad-chunk"}))
                    return None
            length = self.headers.get("Content-Length", "0")
            if not length.isdigit() or int(length) > MAX_BODY_BYTES:
                self.close_connection = True
                self._respond(*_json_response(413, {"ok": False, "reason": "body-too-large"}))
                return None
            return self.rfile.read(int(length))

        def _respond(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            LOG.debug("%s %s", self.address_string(), format % args)

    return Handler


__all__ = ["DeliveryLine", "Receiver", "event_type"]
