"""Client connections: many at once, a failing handler, and the idle timeout."""

from __future__ import annotations

import time

import httpx
import pytest

from cio_sec.sandbox import Sandbox, SandboxInfo
from tests.sandbox.helpers import RawConnection, basic_auth

pytestmark = pytest.mark.timeout(30)


def test_many_concurrent_connections(sandbox: Sandbox, info: SandboxInfo) -> None:
    conns = [RawConnection(sandbox.port) for _ in range(64)]
    try:
        for round_ in range(3):
            for i, conn in enumerate(conns):
                target = f"/api/v1/customers/c{round_}-{i}"
                head = f"DELETE {target} HTTP/1.1\r\nAuthorization: {basic_auth(info)}\r\n\r\n"
                conn.send(head.encode())
            assert all(conn.response()[0] == 200 for conn in conns)
    finally:
        for conn in conns:
            conn.close()


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() -> None:
    with Sandbox(idle_timeout=0.3) as sandbox, RawConnection(sandbox.port) as conn:
        assert conn.request("GET", "/api/v1/accounts/region", basic_auth(sandbox.info)) == 200
        began = time.monotonic()
        assert conn.at_eof()
        assert 0.2 < time.monotonic() - began < 3


def test_each_request_restarts_the_idle_timeout() -> None:
    with Sandbox(idle_timeout=0.5) as sandbox, RawConnection(sandbox.port) as conn:
        for _ in range(4):  # 0.8 s in all, on one connection
            assert conn.request("GET", "/api/v1/accounts/region", basic_auth(sandbox.info)) == 200
            time.sleep(0.2)
        assert conn.request("GET", "/api/v1/accounts/region", basic_auth(sandbox.info)) == 200


def test_a_request_stalled_midway_is_closed_after_the_idle_timeout() -> None:
    with Sandbox(idle_timeout=0.3) as sandbox, RawConnection(sandbox.port) as conn:
        conn.send(b"PUT /api/v1/customers/x HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345")
        began = time.monotonic()
        assert conn.at_eof()  # no response: the request never completed
        assert 0.2 < time.monotonic() - began < 3
        assert sandbox.requests() == []


def test_a_bug_in_a_handler_is_a_500_not_a_dead_server(
    sandbox: Sandbox, track: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    with monkeypatch.context() as patch:
        patch.setattr(sandbox._router, "route", broken)
        response = track.get("/api/v1/accounts/region")
    assert response.status_code == 500
    assert response.headers["connection"] == "close"
    assert response.json() == {"meta": {"error": "internal sandbox error"}}
    assert track.get("/api/v1/accounts/region").status_code == 200
