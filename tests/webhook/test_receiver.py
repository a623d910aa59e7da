"""The verifying receiver and the endpoint probe, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from cio_sec.client.urls import check_http_url
from cio_sec.errors import ConfigError, ExitCode, InputError, RemoteUnavailableError
from cio_sec.webhook import Scheme, Secret, sign
from cio_sec.webhook.delivery import VerifyOptions
from cio_sec.webhook.keys import SigningKeys
from cio_sec.webhook.probe import probe
from cio_sec.webhook.receiver import DeliveryLine, Receiver, event_type
from tests.support.http_apps import local_app

KEY = "receiver-signing-key"
BODY = b'{"object_type":"email","metric":"opened","data":{"email":"zoe@example.com"}}'


@contextmanager
def receiver(
    scheme: Scheme = Scheme.REPORTING, forward_to: str | None = None, *, allow_stale: bool = False
) -> Iterator[tuple[Receiver, list[DeliveryLine]]]:
    lines: list[DeliveryLine] = []
    keys = SigningKeys((Secret("env:KEY", KEY), Secret("env:KEY (previous)", "old-key", True)))
    with Receiver(
        keys,
        VerifyOptions(scheme, allow_stale=allow_stale),
        lines.append,
        forward_to=forward_to,
    ) as running:
        yield running, lines


def test_valid_delivery_gets_200_and_one_line_without_the_body() -> None:
    with receiver() as (running, lines):
        response = httpx.post(running.url, content=BODY, headers=sign(BODY, KEY))
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    (line,) = lines
    assert (line.verdict, line.reason, line.size, line.event) == (
        "valid",
        "valid",
        len(BODY),
        "email.opened",
    )
    assert line.matched == "env:KEY"
    assert line.forwarded is None
    assert "zoe@example.com" not in line.text()
    assert "zoe@example.com" not in str(line.to_json())
    assert "valid    valid" in line.text()
    assert line.text().endswith("email.opened  -> 200")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing-header"),
        ({"X-CIO-Timestamp": "1", "X-CIO-Signature": "00" * 32}, "mismatch"),
        ({"X-CIO-Timestamp": "x", "X-CIO-Signature": "00" * 32}, "malformed-timestamp"),
        ({"X-CIO-Timestamp": "1", "X-CIO-Signature": "é".encode() * 32}, "malformed-signature"),
    ],
)
def test_invalid_deliveries_get_401_with_the_reason(headers: dict[str, Any], reason: str) -> None:
    with receiver() as (running, lines):
        response = httpx.post(running.url, content=BODY, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"ok": False, "reason": reason}
    assert [(line.verdict, line.reason, line.status) for line in lines] == [
        ("invalid", reason, 401)
    ]


def test_stale_delivery_and_allow_stale() -> None:
    old = sign(BODY, KEY, int(time.time()) - 3600)
    with receiver() as (running, lines):
        assert httpx.post(running.url, content=BODY, headers=old).status_code == 401
    assert lines[0].reason == "stale"
    with receiver(allow_stale=True) as (running, lines):
        assert httpx.post(running.url, content=BODY, headers=old).status_code == 200


def test_previous_key_is_accepted_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with receiver() as (running, lines):
        response = httpx.post(running.url, content=BODY, headers=sign(BODY, "old-key"))
    assert response.status_code == 200
    assert lines[0].matched == "env:KEY (previous)"
    assert "only the previous signing key" in caplog.text


def test_the_body_is_logged_only_at_info(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="cio_sec"), receiver() as (running, _):
        httpx.post(running.url, content=BODY, headers=sign(BODY, KEY))
    assert "zoe@example.com" not in caplog.text
    with caplog.at_level(logging.INFO, logger="cio_sec"), receiver() as (running, _):
        httpx.post(running.url, content=BODY, headers=sign(BODY, KEY))
    assert "zoe@example.com" in caplog.text


def test_pipelines_scheme() -> None:
    with receiver(Scheme.PIPELINES) as (running, lines):
        good = httpx.post(running.url, content=b"{}", headers=sign(b"{}", KEY, scheme="pipelines"))
        bad = httpx.post(running.url, content=b"{}", headers=sign(b"{}", KEY))
    assert (good.status_code, bad.status_code) == (200, 401)
    assert lines[0].event is None
    assert lines[1].reason == "missing-header"


def test_verified_deliveries_are_forwarded_and_answered_by_the_app() -> None:
    with local_app(status=202) as app, receiver(forward_to=app.url) as (running, lines):
        headers = sign(BODY, KEY)
        response = httpx.post(running.url, content=BODY, headers=headers)
        rejected = httpx.post(running.url, content=BODY, headers={})
    assert response.status_code == 202
    assert response.json() == {"app": "handled"}
    assert rejected.status_code == 401
    (forwarded_headers, forwarded_body) = app.received[0]
    assert len(app.received) == 1
    assert forwarded_body == BODY
    assert forwarded_headers["X-CIO-Signature"] == headers["X-CIO-Signature"]
    assert lines[0].forwarded == "ok"
    assert lines[0].status == 202


def test_forwarding_to_an_app_that_is_down_is_a_502() -> None:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    with receiver(forward_to=f"http://127.0.0.1:{port}/") as (running, lines):
        response = httpx.post(running.url, content=BODY, headers=sign(BODY, KEY))
    assert response.status_code == 502
    assert lines[0].forwarded == "ConnectError"
    assert "(forward failed: ConnectError)" in lines[0].text()


def test_chunked_deliveries_are_read() -> None:
    def chunks() -> Iterator[bytes]:
        yield BODY[:10]
        yield BODY[10:]

    with receiver() as (running, lines):
        response = httpx.post(running.url, content=chunks(), headers=sign(BODY, KEY))
    assert response.status_code == 200
    assert lines[0].size == len(BODY)


def _raw(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


def test_bad_framing_is_answered_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with receiver() as (running, lines):
        bad_chunk = _raw(
            running.url, b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n"
        )
        too_large = _raw(running.url, b"POST / HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n")
        not_a_number = _raw(running.url, b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n")
        garbage = _raw(running.url, b"\x00\xff garbage HTTP/1.1 extra\r\n\r\n")
    assert bad_chunk.startswith(b"HTTP/1.1 400")
    assert too_large.startswith(b"HTTP/1.1 413")
    assert not_a_number.startswith(b"HTTP/1.1 400")  # malformed, not too large (RFC 9112 §6.3)
    assert b"400" in garbage
    assert lines == []
    assert "Traceback" not in capsys.readouterr().err


def test_a_client_that_hangs_up_is_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with receiver() as (running, _):
        host, port = running.url.removeprefix("http://").rstrip("/").split(":")
        with socket.create_connection((host, int(port))) as connection:
            connection.sendall(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n{}")
        with socket.create_connection((host, int(port))) as connection:
            connection.sendall(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
            connection.shutdown(socket.SHUT_WR)
            connection.close()
        httpx.post(running.url, content=BODY, headers=sign(BODY, KEY))
    assert "Traceback" not in capsys.readouterr().err


def test_a_port_in_use_is_a_config_error() -> None:
    with receiver() as (running, _):
        port = int(running.url.rstrip("/").rsplit(":", 1)[1])
        with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1"):
            Receiver(SigningKeys(()), VerifyOptions(), print, port=port)


@pytest.mark.parametrize(
    ("body", "event"),
    [
        (b'{"object_type":"email","metric":"sent"}', "email.sent"),
        (b'{"metric":"clicked"}', "clicked"),
        (b'{"event":"Signed Up"}', "?"),
        (b'{"type":"track"}', "track"),
        (b'{"name":"x\\u001b[31m"}', "?"),
        (b'{"other":1}', None),
        (b"[1,2]", None),
        (b"not json", None),
        (b"[" * 100_000, None),
    ],
)
def test_event_type_is_a_tame_identifier(body: bytes, event: str | None) -> None:
    assert event_type(body) == event


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x/",
        "file:///etc/passwd",
        "http://",
        "localhost:80",
        "http://[::1",
        "http://127.0.0.1:abc/",
        "http://127.0.0.1/\x01",
    ],
)
def test_forward_and_probe_urls_must_be_http_urls_httpx_accepts(url: str) -> None:
    with pytest.raises(InputError, match="the URL must be an http:// or https:// URL") as caught:
        check_http_url(url, "the URL")
    assert caught.value.exit_code == ExitCode.USAGE
    with pytest.raises(InputError):
        probe(url, Secret("key", KEY))


# ----------------------------------------------------------------------------- probe


def test_probe_finds_the_receiver_safe() -> None:
    with receiver() as (running, _):
        report = probe(running.url, Secret("env:KEY", KEY))
    assert report.ok
    assert report.exit_code == ExitCode.OK
    assert [(a.name, a.status) for a in report.attempts] == [
        ("valid", 200),
        ("tampered", 401),
        ("stale", 401),
        ("unsigned", 401),
    ]
    assert report.summary() == "the endpoint accepts only the correctly signed delivery"
    assert report.to_json()["secret"] == "env:KEY"


def test_probe_flags_a_handler_that_accepts_everything() -> None:
    with local_app(status=200) as app:
        report = probe(app.url, Secret("env:KEY", KEY))
    assert not report.ok
    assert report.exit_code == ExitCode.CHECK_FAILED
    assert [a.name for a in report.unsafe] == ["tampered", "stale", "unsigned"]
    assert report.summary().startswith("UNSAFE: the endpoint accepted forged deliveries")
    bodies = [body for _, body in app.received]
    assert bodies[0] != bodies[1]
    assert b"cio-sec-probe" in bodies[0]
    assert "X-CIO-Signature" not in app.received[3][0]


def test_probe_says_when_the_valid_delivery_is_rejected() -> None:
    with receiver() as (running, _):
        report = probe(running.url, Secret("env:WRONG", "some-other-key"))
    assert not report.ok
    assert report.unsafe == ()
    assert "rejected a correctly signed delivery" in report.summary()


def test_probe_pipelines_sends_no_stale_delivery() -> None:
    with receiver(Scheme.PIPELINES) as (running, _):
        report = probe(running.url, Secret("env:KEY", KEY), scheme=Scheme.PIPELINES)
    assert [a.name for a in report.attempts] == ["valid", "tampered", "unsigned"]
    assert report.ok


def test_probe_of_an_endpoint_that_is_down_is_a_remote_error() -> None:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    with pytest.raises(RemoteUnavailableError) as caught:
        probe(f"http://127.0.0.1:{port}/", Secret("env:KEY", KEY), timeout=2)
    assert caught.value.exit_code == ExitCode.REMOTE
