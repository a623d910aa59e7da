"""Tiny local HTTP apps on 127.0.0.1 for webhook tests: a forwarding target, unsafe handlers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class LocalApp:
    """A running app: its URL and what it received (headers and bodies)."""

    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@contextmanager
def local_app(status: int = 202, body: bytes = b'{"app":"handled"}') -> Iterator[LocalApp]:
    """Answer every POST with ``status`` and ``body``, recording what arrived.

    ``status=200`` makes the deliberately unsafe endpoint that accepts everything.
    """
    app = LocalApp("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            app.received.append((dict(self.headers.items()), self.rfile.read(length)))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
