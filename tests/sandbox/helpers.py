"""Helpers for the sandbox tests: HTTP clients, a byte-exact raw connection, admin reads."""

from __future__ import annotations

import base64
import socket
import ssl
from typing import Any

import httpx

from cio_sec.sandbox import SandboxInfo

HEX = set("0123456789abcdef")

#: One TLS context for every client: building one per client costs more than a request.
TLS = ssl.create_default_context()


def http(base_url: str, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=base_url, verify=TLS, timeout=10, **kwargs)


def basic(site_id: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{site_id}:{key}".encode()).decode()


def basic_auth(info: SandboxInfo) -> str:
    return basic(info.site_id, info.track_api_key)


def people(admin: httpx.Client, workspace_id: int | None = None) -> dict[str, Any]:
    params = {} if workspace_id is None else {"workspace_id": workspace_id}
    response = admin.get("/people", params=params)
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def person_ids(admin: httpx.Client) -> list[object]:
    return [person["id"] for person in people(admin)["people"]]


class RawConnection:
    """A byte-exact HTTP/1.1 client over one socket (no URL normalisation, no retries)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.file = self.sock.makefile("rb")

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        status_line = self.file.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.file.read(int(headers.get("content-length", "0")))
        return status, headers, body

    def request(self, method: str, target: str, auth: str | None = None, body: bytes = b"") -> int:
        lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
        if auth is not None:
            lines.append(f"Authorization: {auth}")
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return self.response()[0]

    def at_eof(self) -> bool:
        try:
            return self.file.read(1) == b""
        except ConnectionResetError:
            return True


def exchange(port: int, data: bytes, *, shutdown: bool = False) -> bytes:
    """Send bytes on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        if shutdown:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])
