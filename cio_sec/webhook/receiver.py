"""``verify-webhook serve``: a verifying receiver that reports one line per delivery.

Invalid deliveries get 401, valid ones 200 or, with ``forward_to``, the local app's own
response. Neither the key nor the body is ever printed; the body goes to the log at INFO
(``-v``) only. What an unauthenticated client can hold (connections, time, memory) is
bounded by `cio_sec.webhook.limits.ServeLimits`, in the HTTP server and request handler of
:mod:`cio_sec.webhook.serve_http`.
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
from types import TracebackType
from typing import Any

from cio_sec.errors import ConfigError, ExitCode
from cio_sec.terminal import printable
from cio_sec.webhook.capture import (
    MAX_BODY_BYTES,
)
from cio_sec.webhook.delivery import VerifyOptions
from cio_sec.webhook.keys import SigningKeys
from cio_sec.webhook.limits import (
    ConnectionSlots,
    InFlight,
    ServeLimits,
)
from cio_sec.webhook.outbound import describe_redirect, forwarded_headers, is_redirect
from cio_sec.webhook.recipe import TIMESTAMP_HEADER
from cio_sec.webhook.serve_http import Server, handler_for, json_response
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
            self._server = Server((host, port), handler_for(self), self.slots)
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
            status, response_headers, payload = json_response(
                401, {"ok": False, "reason": verdict.reason.value}
            )
        elif self.forward_to is None:
            status, response_headers, payload = json_response(200, {"ok": True})
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
                *json_response(502, {"ok": False, "reason": "forward-failed"}),
                type(exc).__name__,
            )
        if is_redirect(response):
            # NOTE: never followed: the delivery goes to --forward-to and nowhere else.
            problem = f"redirected {describe_redirect(response)}, not followed"
            return (*json_response(502, {"ok": False, "reason": "forward-redirected"}), problem)
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


__all__ = ["DeliveryLine", "Receiver", "event_type"]
