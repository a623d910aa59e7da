"""A stand-in App API on 127.0.0.1 that lists the workspaces it is given, for any key.

Real Customer.io lists every workspace of the account to one App key; this serves such a
listing over real HTTP where a test needs shapes the sandbox does not produce.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

from tests.support.loopback import serve


@contextmanager
def workspaces_server(body: bytes) -> Iterator[str]:
    """Answer ``GET /v1/workspaces`` with ``body`` (anything else 404); yield the base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            found = self.path == "/v1/workspaces"
            answer = body if found else b'{"errors": [{"detail": "not found"}]}'
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve(Handler) as url:
        yield url
