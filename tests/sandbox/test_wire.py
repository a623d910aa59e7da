"""HTTP/1.1 over raw sockets: keep-alive, pipelining, chunked bodies, malformed input."""

from __future__ import annotations

import socket
import struct
from typing import Any

import httpx
import pytest

from cio_sec.sandbox import Sandbox, SandboxInfo
from tests.sandbox.helpers import (
    RawConnection,
    basic_auth,
    exchange,
    people,
    status_of,
)

pytestmark = pytest.mark.timeout(30)


def test_keep_alive_serves_many_requests_on_one_connection(
    sandbox: Sandbox, info: SandboxInfo
) -> None:
    with RawConnection(sandbox.port) as conn:
        for i in range(300):
            assert conn.request("DELETE", f"/api/v1/customers/{i}", basic_auth(info)) == 200
    deleted: dict[str, Any] = sandbox.people()
    assert len(deleted["deleted"]) == 300


def test_httpx_reuses_its_connection(sandbox: Sandbox, track: httpx.Client) -> None:
    ports = set()
    for _ in range(50):
        response = track.get("/api/v1/accounts/region")
        assert response.status_code == 200
        stream = response.extensions["network_stream"]
        ports.add(stream.get_extra_info("client_addr"))
    assert len(ports) == 1


def test_connection_close_is_honoured(sandbox: Sandbox, info: SandboxInfo) -> None:
    with RawConnection(sandbox.port) as conn:
        conn.send(
            b"GET /api/v1/accounts/region HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            + f"Authorization: {basic_auth(info)}\r\n\r\n".encode()
        )
        status, headers, _ = conn.response()
        assert (status, headers["connection"]) == (200, "close")
        assert conn.at_eof()


def test_http10_closes_unless_keep_alive_is_asked(sandbox: Sandbox) -> None:
    with RawConnection(sandbox.port) as conn:
        conn.send(b"GET /nope HTTP/1.0\r\n\r\n")
        status, headers, _ = conn.response()
        assert (status, headers["connection"]) == (404, "close")
        assert conn.at_eof()
    with RawConnection(sandbox.port) as conn:
        for _ in range(2):
            conn.send(b"GET /nope HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            status, headers, _ = conn.response()
            assert (status, headers["connection"]) == (404, "keep-alive")


def test_pipelined_requests_are_answered_in_order(sandbox: Sandbox, info: SandboxInfo) -> None:
    auth = f"Authorization: {basic_auth(info)}\r\n".encode()
    with RawConnection(sandbox.port) as conn:
        conn.send(
            b"PUT /api/v1/customers/p1 HTTP/1.1\r\nContent-Length: 2\r\n" + auth + b"\r\n{}"
            b"\r\n"  # a stray empty line between requests is allowed
            b"GET /nope HTTP/1.1\r\n\r\n"
            b"GET /api/v1/accounts/region HTTP/1.1\r\n" + auth + b"\r\n"
        )
        assert [conn.response()[0] for _ in range(3)] == [200, 404, 200]


def test_head_requests_get_headers_without_a_body(sandbox: Sandbox, info: SandboxInfo) -> None:
    with RawConnection(sandbox.port) as conn:
        conn.send(b"HEAD /api/v1/accounts/region HTTP/1.1\r\n\r\n")
        status_line = conn.file.readline()
        assert status_line.startswith(b"HTTP/1.1 405 ")
        while conn.file.readline() != b"\r\n":
            pass
        # The next response starts right away: no body was sent for the HEAD.
        assert conn.request("GET", "/api/v1/accounts/region", basic_auth(info)) == 200


def test_repeated_headers_are_combined(sandbox: Sandbox, info: SandboxInfo) -> None:
    with RawConnection(sandbox.port) as conn:
        conn.send(
            b"GET /api/v1/accounts/region HTTP/1.1\r\nAccept: a\r\nAccept: b\r\n"
            + f"Authorization: {basic_auth(info)}\r\n\r\n".encode()
        )
        assert conn.response()[0] == 200


def test_absolute_form_targets_are_accepted(sandbox: Sandbox, info: SandboxInfo) -> None:
    with RawConnection(sandbox.port) as conn:
        target = f"{info.track_url}/api/v1/accounts/region"
        assert conn.request("GET", target, basic_auth(info)) == 200
        assert conn.request("GET", "http://127.0.0.1") == 404


def test_chunked_request_bodies_are_supported(
    sandbox: Sandbox, info: SandboxInfo, admin: httpx.Client
) -> None:
    auth = f"Authorization: {basic_auth(info)}\r\n".encode()
    with RawConnection(sandbox.port) as conn:
        conn.send(
            b"PUT /api/v1/customers/chunky HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
            + auth
            + b"Expect: 100-continue\r\n\r\n"
            b'6;ext=1\r\n{"a": \r\n3\r\n42}\r\n0\r\nX-Trailer: 1\r\n\r\n'
        )
        interim = conn.response()
        assert interim[0] == 100
        assert conn.response()[0] == 200
    (person,) = people(admin)["people"]
    assert person["attributes"] == {"a": 42}
    assert sandbox.requests()[-1].body == b'{"a": 42}'


def test_expect_100_continue_with_content_length(sandbox: Sandbox, info: SandboxInfo) -> None:
    with RawConnection(sandbox.port) as conn:
        conn.send(
            b"PUT /api/v1/customers/c HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
            + f"Authorization: {basic_auth(info)}\r\n\r\n".encode()
        )
        assert conn.response()[0] == 100
        conn.send(b"{}")
        assert conn.response()[0] == 200


MALFORMED = [
    (b"\x16\x03\x01\x02\x00garbage\r\n\r\n", 400),
    (b"GET\r\n\r\n", 400),
    (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
    (b"get / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\n\r\n", 400),
    (b"GET * HTTP/1.1\r\n\r\n", 400),
    (b"GET /\x7f HTTP/1.1\r\n\r\n", 400),
    ("GET /é HTTP/1.1\r\n\r\n".encode(), 400),
    (b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n folded: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    ("GET / HTTP/1.1\r\nContent-Length: \u00b2\r\n\r\n".encode("latin-1"), 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY", 400),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 70_000 + b"\r\n", 400),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400001\r\n", 413),
    (
        b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"T: 1\r\n" * 101 + b"\r\n",
        431,
    ),
    (b"GET / HTTP/1.1\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n", 431),
    (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
]


@pytest.mark.parametrize(("data", "status"), MALFORMED)
def test_malformed_requests_get_an_error_and_a_close(
    sandbox: Sandbox,
    track: httpx.Client,
    data: bytes,
    status: int,
    capfd: pytest.CaptureFixture[str],
) -> None:
    raw = exchange(sandbox.port, data)
    assert status_of(raw) == status
    assert b"Connection: close\r\n" in raw
    assert track.get("/api/v1/accounts/region").status_code == 200
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize(
    "data",
    [
        b"GET /api/v1/accounts/region HTTP/1.1\r\nHost: x",  # head cut short
        b"PUT /api/v1/customers/x HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345",  # body cut short
        b"",
    ],
)
def test_half_sent_requests_do_not_hurt_the_server(
    sandbox: Sandbox, track: httpx.Client, data: bytes
) -> None:
    raw = exchange(sandbox.port, data, shutdown=True)
    assert raw == b"" or status_of(raw) == 400
    assert track.get("/api/v1/accounts/region").status_code == 200


def test_a_reset_connection_does_not_hurt_the_server(sandbox: Sandbox, track: httpx.Client) -> None:
    sock = socket.create_connection(("127.0.0.1", sandbox.port), timeout=5)
    sock.sendall(b"PUT /api/v1/customers/x HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # RST
    for _ in range(3):
        assert track.get("/api/v1/accounts/region").status_code == 200
