"""Shared helpers for the client tests: a scripted loopback server, the sandbox, log capture."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from cio_sec.client import TrackApi
from cio_sec.sandbox import Sandbox

#: Identifiers that break naive path building, each with the segment that must go out.
AWKWARD_IDENTIFIERS = {
    "a/b": "a%2Fb",
    "a?b#c": "a%3Fb%23c",
    "100%": "100%25",
    "..": "%2E%2E",
    ".": "%2E",
    " ": "%20",
    "a b": "a%20b",
    "a+b@example.com": "a%2Bb%40example.com",
    "José": "Jos%C3%A9",
    "日本": "%E6%97%A5%E6%9C%AC",
    "😀": "%F0%9F%98%80",
    "%2E%2E": "%252E%252E",
    "cio_03000001": "cio_03000001",
}

SITE_ID = "f82ad78f695bd32f9d99"
TRACK_KEY = "1a621ef65edfe6d3b6ae"
APP_KEY = "20436c6351668b25a74a2c289a639d3f"


def no_random() -> float:
    return 1.0


def must_not_sleep(delay: float) -> None:
    pytest.fail(f"unexpected retry (would wait {delay}s)")


# --- A scripted HTTP server on loopback (redirects, status mapping, headers) ---------------


@dataclass
class ScriptedServer:
    """Answers each request with the next scripted (status, headers); the last repeats."""

    script: list[tuple[int, dict[str, str]]]
    body: bytes = b""
    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        handler.rfile.read(length)
        self.paths.append(handler.path)
        self.headers.append(dict(handler.headers.items()))
        status, extra = self.script[min(len(self.paths), len(self.script)) - 1]
        handler.send_response(status)
        for name, value in {"Content-Length": str(len(self.body)), **extra}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(self.body)


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    """A real HTTP/1.1 server on 127.0.0.1 that plays a script and records requests."""
    state = ScriptedServer(script=[(200, {})])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            state.respond(self)

        def do_POST(self) -> None:
            state.respond(self)

        def do_DELETE(self) -> None:
            state.respond(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- The sandbox (the shipped Customer.io emulator) over real HTTP -------------------------


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


def track_api(
    client: httpx.Client, sleeps: list[float] | None = None, **kwargs: object
) -> TrackApi:
    recorder = sleeps.append if sleeps is not None else must_not_sleep
    return TrackApi(client, sleep=recorder, random=no_random, **kwargs)  # type: ignore[arg-type]


def sandbox_list(sb: Sandbox, name: str, workspace_id: int | None = None) -> list[object]:
    value = sb.people(workspace_id)[name]
    assert isinstance(value, list)
    return value


def statuses(sb: Sandbox) -> list[int]:
    return [request.status for request in sb.requests()]


# --- Logs ----------------------------------------------------------------------------------


@pytest.fixture
def client_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every logger at DEBUG, cio-sec's too (its CLI handler may stop propagation)."""
    monkeypatch.setattr(logging.getLogger("cio_sec"), "propagate", True)
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="cio_sec"):
        yield caplog
