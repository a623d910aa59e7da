"""``verify-webhook`` against hostile clients and servers: slow, huge, excess, redirecting.

Real sockets on 127.0.0.1 only. Every client loop here is bounded in count and time, so a
receiver that failed to cut a client makes the test fail, never hang.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from cio_sec.errors import ExitCode, RedirectError
from cio_sec.webhook import Secret, sign
from cio_sec.webhook.delivery import VerifyOptions
from cio_sec.webhook.keys import SigningKeys
from cio_sec.webhook.limits import DeadlineReader, ServeLimits
from cio_sec.webhook.outbound import forwarded_headers
from cio_sec.webhook.probe import ANSWER_CHARACTERS, probe
from cio_sec.webhook.receiver import DeliveryLine, Receiver
from tests.support.cli import CliHarness
from tests.support.hostile import redirect_trap
from tests.support.http_apps import local_app

pytestmark = pytest.mark.slow

KEY = "hostile-webhook-signing-key"
BODY = b'{"object_type":"email","metric":"opened","data":{"email":"zoe@example.com"}}'
#: A bound on any single wait in these tests: reaching it means the receiver misbehaved.
PATIENCE = 10.0


@contextmanager
def receiver(
    limits: ServeLimits | None = None, forward_to: str | None = None
) -> Iterator[tuple[Receiver, list[DeliveryLine]]]:
    lines: list[DeliveryLine] = []
    keys = SigningKeys((Secret("env:KEY", KEY),))
    with Receiver(
        keys, VerifyOptions(), lines.append, forward_to=forward_to, limits=limits
    ) as running:
        yield running, lines


def _connect(running: Receiver) -> socket.socket:
    host, port = running.url.removeprefix("http://").rstrip("/").split(":")
    connection = socket.create_connection((host, int(port)), timeout=PATIENCE)
    return connection


def _answer(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes (or PATIENCE runs out)."""
    received = b""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        try:
            piece = connection.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not piece:
            break
        received += piece
    return received


def _head(connection: socket.socket) -> bytes:
    """The status line and headers of the next answer."""
    received = b""
    while b"\r\n\r\n" not in received:
        piece = connection.recv(4096)
        if not piece:
            break
        received += piece
    return received


def _wait_until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds; fail after PATIENCE (a bound, not a measurement)."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "the receiver never got there"
        time.sleep(0.01)


def _drip_until_cut(connection: socket.socket, *, drips: int = 200) -> int | None:
    """Send a header byte every 50 ms; return how many went out before the server hung up.

    None when the server never hung up within ``drips`` bytes (10 s): a slowloris that won.
    """
    sent = 0
    try:
        for sent in range(drips):
            connection.sendall(b"X")
            readable, _, _ = select.select([connection], [], [], 0.05)
            if readable and not connection.recv(4096):
                return sent
    except (ConnectionResetError, BrokenPipeError):
        return sent
    return None


# ----------------------------------------------------------------- slow clients


def test_slow_clients_are_cut_after_the_header_timeout_and_deliveries_get_through() -> None:
    limits = ServeLimits(max_connections=16, header_timeout=1.0)
    with receiver(limits) as (running, lines):
        slow = [_connect(running) for _ in range(8)]
        for connection in slow:
            connection.sendall(b"POST / HTTP/1.1\r\nX-Slow: ")
        outcomes: list[int | None] = [None] * len(slow)

        def drip(index: int) -> None:
            outcomes[index] = _drip_until_cut(slow[index])

        threads = [threading.Thread(target=drip, args=(i,)) for i in range(len(slow))]
        for thread in threads:
            thread.start()
        response = httpx.post(running.url, content=BODY, headers=sign(BODY, KEY))
        for thread in threads:
            thread.join()
        for connection in slow:
            connection.close()
        _wait_until(lambda: running.slots.open == 0)
    assert response.status_code == 200
    assert [line.reason for line in lines] == ["valid"]
    assert None not in outcomes, "a slow client was never cut off"
    assert running.slots.refused == 0  # served and timed out, not turned away


def test_a_slow_body_is_answered_408_after_the_body_timeout() -> None:
    limits = ServeLimits(body_timeout=0.3)
    with receiver(limits) as (running, lines), _connect(running) as connection:
        connection.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n{}")
        answer = _answer(connection)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b'"body-timeout"' in answer
    assert lines == []


def test_an_idle_keep_alive_connection_is_closed_after_the_header_timeout() -> None:
    limits = ServeLimits(header_timeout=0.3)
    headers = sign(BODY, KEY)
    request = (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(BODY)
        + "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()
        + b"\r\n"
        + BODY
    )
    with receiver(limits) as (running, lines), _connect(running) as connection:
        connection.sendall(request)
        answer = _answer(connection)  # the 200, then the close once idle too long
    assert answer.startswith(b"HTTP/1.1 200")
    assert [line.reason for line in lines] == ["valid"]


def test_stopping_the_receiver_hangs_up_on_clients_it_is_waiting_for() -> None:
    limits = ServeLimits(header_timeout=3600, body_timeout=3600)
    with receiver(limits) as (running, _):
        idle = _connect(running)
        body_pending = _connect(running)
        body_pending.sendall(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n")
        _wait_until(lambda: running.slots.open == 2)
    # The block ended although both clients would have been waited for for an hour.
    assert _answer(idle) == b""
    assert _answer(body_pending) == b""
    idle.close()
    body_pending.close()


# ----------------------------------------------------------------- too many clients


def test_connections_over_the_cap_are_answered_503_at_once() -> None:
    limits = ServeLimits(max_connections=4, header_timeout=60)
    with receiver(limits) as (running, lines):
        held = [_connect(running) for _ in range(4)]
        for connection in held:
            connection.sendall(b"POST / HTTP/1.1\r\n")
        _wait_until(lambda: running.slots.open == 4)
        with _connect(running) as extra:
            refused = _answer(extra)
        for connection in held:
            connection.close()
        _wait_until(lambda: running.slots.open == 0)
        response = httpx.post(running.url, content=BODY, headers=sign(BODY, KEY))
    assert refused.startswith(b"HTTP/1.1 503")
    assert b'"too-busy"' in refused
    assert running.slots.refused == 1
    assert response.status_code == 200
    assert len(lines) == 1


def test_hundreds_of_half_open_connections_hold_at_most_the_cap_in_threads() -> None:
    limits = ServeLimits(max_connections=8, header_timeout=60)
    with receiver(limits) as (running, _):
        half_open = [_connect(running) for _ in range(200)]
        _wait_until(lambda: running.slots.open + running.slots.refused == 200)
        handlers = [t for t in threading.enumerate() if "process_request" in t.name]
        open_now = running.slots.open
        for connection in half_open:
            connection.close()
    assert open_now == 8
    assert running.slots.refused == 192
    assert len(handlers) <= 8


# ----------------------------------------------------------------- huge bodies


def test_bodies_declared_over_the_limit_are_refused_unread() -> None:
    limits = ServeLimits(max_connections=32)
    with receiver(limits) as (running, lines):
        clients = [_connect(running) for _ in range(20)]
        for connection in clients:  # almost 16 MB each, as in the finding, never sent
            connection.sendall(b"POST / HTTP/1.1\r\nContent-Length: 16777000\r\n\r\n")
        answers = [_answer(connection) for connection in clients]
        for connection in clients:
            connection.close()
    assert all(answer.startswith(b"HTTP/1.1 413") for answer in answers)
    assert running.in_flight.peak == 0
    assert lines == []


def test_body_bytes_are_held_as_they_arrive_never_from_the_declared_length() -> None:
    limits = ServeLimits(max_connections=8, max_body_bytes=256 * 1024)
    declared = limits.max_body_bytes
    with receiver(limits) as (running, lines):
        clients = [_connect(running) for _ in range(8)]
        for connection in clients:
            connection.sendall(b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % declared)
            connection.sendall(b"x" * 10_000)
        _wait_until(lambda: running.in_flight.current == 8 * 10_000)
        held_while_waiting = running.in_flight.current
        for connection in clients:
            connection.sendall(b"x" * (declared - 10_000))
        answers = [_head(connection) for connection in clients]
        for connection in clients:
            connection.close()
        _wait_until(lambda: running.in_flight.current == 0)
    assert held_while_waiting == 80_000  # not 8 x 256 KiB
    assert all(answer.startswith(b"HTTP/1.1 401") for answer in answers)
    assert [line.size for line in lines] == [declared] * 8
    assert running.in_flight.peak <= limits.max_in_flight_bytes


@pytest.mark.parametrize(
    ("length", "answer_starts"),
    [
        (b"\xb2", b"HTTP/1.1 400"),  # superscript two in Latin-1: isdigit(), yet no int
        (b"-1", b"HTTP/1.1 400"),
        (b"9" * 5000, b"HTTP/1.1 413"),  # int() refuses more than 4300 digits
        (b"0" * 5000 + b"2", b"HTTP/1.1 401"),  # read, and found unsigned
    ],
    ids=["superscript", "negative", "5000-digits", "leading-zeros"],
)
def test_a_content_length_that_is_no_plain_number_is_answered_not_dropped(
    length: bytes, answer_starts: bytes
) -> None:
    """The handler once raised on these and closed the connection without a word."""
    with receiver() as (running, lines), _connect(running) as connection:
        request = b"POST / HTTP/1.1\r\nConnection: close\r\nContent-Length: %s\r\n\r\n{}"
        connection.sendall(request % length)
        answer = _answer(connection)
    assert answer.startswith(answer_starts)
    assert [line.reason for line in lines] == (
        ["missing-header"] if b"401" in answer_starts else []
    )


def test_a_capture_declaring_thousands_of_digits_is_exit_2(
    run_cli: CliHarness, tmp_path: Path
) -> None:
    capture = tmp_path / "capture.http"
    capture.write_bytes(b"POST / HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n{}")
    outcome = run_cli("verify-webhook", "--request", str(capture), expect=ExitCode.USAGE)
    assert "Content-Length declares more than 16777216 bytes" in outcome.stderr


def test_a_chunked_body_over_the_limit_is_refused_before_it_is_read_whole() -> None:
    limits = ServeLimits(max_body_bytes=100_000)
    chunk = b"x" * 60_000
    with receiver(limits) as (running, lines), _connect(running) as connection:
        connection.sendall(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        connection.sendall(b"%x\r\n" % len(chunk))  # the second chunk would pass the limit
        answer = _answer(connection)
    assert answer.startswith(b"HTTP/1.1 413")
    assert running.in_flight.peak == len(chunk)
    assert lines == []


def test_expect_100_continue_is_refused_before_the_body_when_too_large() -> None:
    limits = ServeLimits(max_body_bytes=1000)
    with receiver(limits) as (running, lines):
        with _connect(running) as connection:
            connection.sendall(
                b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1001\r\n\r\n"
            )
            refused = _answer(connection)
        with _connect(running) as connection:
            headers = "".join(f"{k}: {v}\r\n" for k, v in sign(BODY, KEY).items()).encode()
            connection.sendall(
                b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: %d\r\n" % len(BODY)
                + headers
                + b"\r\n"
            )
            interim = _head(connection)
            connection.sendall(BODY)
            final = _head(connection)
    assert refused.startswith(b"HTTP/1.1 413")
    assert b"100 Continue" not in refused
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    assert final.startswith(b"HTTP/1.1 200")
    assert [line.reason for line in lines] == ["valid"]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", b"414"),
        (b"POST / HTTP/1.1\r\n" + b"X-A: b\r\n" * 101 + b"\r\n", b"431"),
        (b"POST / HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", b"431"),
        (b"GET / HTTP/1.1\r\n\r\n", b"501"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 5000 + b"\r\n", b"400"),
    ],
)
def test_malformed_requests_are_answered_and_closed(
    request_bytes: bytes, status: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    with receiver() as (running, lines), _connect(running) as connection:
        connection.sendall(request_bytes)
        answer = _answer(connection)
    assert answer.startswith(b"HTTP/1.1 " + status) or answer.startswith(b"HTTP/1.0 " + status)
    assert lines == []
    assert "Traceback" not in capsys.readouterr().err


def test_a_deadline_bounds_the_whole_read_not_each_call() -> None:
    client, server = socket.socketpair()
    with client, server:
        reader = DeadlineReader(server)
        reader.expire_in(PATIENCE)
        client.sendall(b"ab")
        buffer = bytearray(10)
        assert reader.readinto(buffer) == 2
        reader.expire_in(0.05)
        with pytest.raises(TimeoutError):  # nothing arrives before the deadline
            reader.readinto(buffer)
        client.sendall(b"late")
        with pytest.raises(TimeoutError, match="took too long"):  # arrived, but too late
            reader.readinto(buffer)
        assert not reader.ended
        client.shutdown(socket.SHUT_WR)
        reader.expire_in(PATIENCE)
        assert reader.readinto(buffer) == 4
        assert reader.readinto(buffer) == 0
        assert reader.ended


def test_limits_refuse_values_that_would_disable_them() -> None:
    for bad in (
        {"max_connections": 0},
        {"max_body_bytes": 0},
        {"max_body_bytes": 16 * 1024 * 1024 + 1},
        {"header_timeout": 0},
        {"body_timeout": -1},
    ):
        with pytest.raises(ValueError, match="must be"):
            ServeLimits(**bad)
    assert ServeLimits().max_in_flight_bytes == 64 * 1024 * 1024


# ----------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 303, 308])
def test_forwarding_never_follows_a_redirect(status: int) -> None:
    with (
        redirect_trap(status) as trap,
        receiver(forward_to=trap.url + "/hooks") as (running, lines),
    ):
        response = httpx.post(running.url, content=BODY, headers=sign(BODY, KEY))
    assert trap.received == []
    assert [(r.method, r.path, r.body) for r in trap.redirected] == [("POST", "/hooks", BODY)]
    assert response.status_code == 502
    assert response.json() == {"ok": False, "reason": "forward-redirected"}
    trap_host = trap.trap_url.removeprefix("http://")
    assert lines[0].forwarded is not None
    assert lines[0].forwarded.startswith(f"redirected {status} ")
    assert lines[0].forwarded.endswith(f" to {trap_host}, not followed")
    assert f"(forward failed: redirected {status}" in lines[0].text()


@pytest.mark.parametrize("status", [302, 307])
def test_probe_never_follows_a_redirect_and_names_where_it_pointed(status: int) -> None:
    with redirect_trap(status) as trap, pytest.raises(RedirectError) as caught:
        probe(trap.url + "/hooks", Secret("env:KEY", KEY))
    assert trap.received == []
    assert len(trap.redirected) == 1  # it stopped at the first answer
    trap_host = trap.trap_url.removeprefix("http://")
    assert f"answered {status} " in caught.value.message
    assert f" to {trap_host}; cio-sec never follows a redirect" in caught.value.message
    assert caught.value.exit_code == ExitCode.REMOTE


def test_probe_redirect_through_the_cli(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", KEY)
    with redirect_trap(307) as trap:
        outcome = run_cli("verify-webhook", "probe", trap.url, expect=ExitCode.REMOTE)
    assert trap.received == []
    trap_host = trap.trap_url.removeprefix("http://")
    assert f"error: the endpoint answered 307 Temporary Redirect to {trap_host}" in outcome.stderr
    assert "hint: probe the URL the endpoint redirects to" in outcome.stderr


def test_a_redirect_without_a_location_is_named_as_such() -> None:
    with local_app(status=302) as app:
        with pytest.raises(RedirectError, match="302 Found without a usable destination"):
            probe(app.url, Secret("env:KEY", KEY))
        with receiver(forward_to=app.url) as (running, lines):
            response = httpx.post(running.url, content=BODY, headers=sign(BODY, KEY))
    assert response.status_code == 502
    assert lines[0].forwarded == "redirected 302 Found without a usable destination, not followed"


# ----------------------------------------------------------------- huge answers


def test_probe_reads_only_the_start_of_a_huge_answer() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{server.getsockname()[1]}/"
    served = []

    def answer_hugely() -> None:  # claims 100 MB, sends 64 KiB, waits for the client to leave
        for _ in range(4):  # the probe's four requests, one connection each at most
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(PATIENCE)
                _head(connection)
                connection.sendall(
                    b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 100000000\r\n\r\n"
                    + b"denied " * 10_000
                )
                served.append(_answer(connection))

    thread = threading.Thread(target=answer_hugely, daemon=True)
    thread.start()
    try:
        report = probe(url, Secret("env:KEY", KEY), timeout=PATIENCE)
    finally:
        server.close()
        thread.join(PATIENCE)
    assert [attempt.status for attempt in report.attempts] == [401] * 4
    assert report.attempts[0].answer.startswith("denied denied")
    assert len(report.attempts[0].answer) == ANSWER_CHARACTERS + 1  # and an ellipsis


# ----------------------------------------------------------------- headers as received


def _raw_delivery(running: Receiver, extra_headers: bytes) -> bytes:
    headers = "".join(f"{k}: {v}\r\n" for k, v in sign(BODY, KEY).items()).encode()
    with _connect(running) as connection:
        connection.sendall(
            b"POST / HTTP/1.1\r\nContent-Length: %d\r\n" % len(BODY)
            + headers
            + extra_headers
            + b"Connection: close\r\n\r\n"
            + BODY
        )
        return _answer(connection)


def test_a_non_ascii_header_is_forwarded_as_the_bytes_received() -> None:
    with local_app(status=202) as app, receiver(forward_to=app.url) as (running, lines):
        answer = _raw_delivery(running, "X-Note: café ☕\r\n".encode())
        sent_with_httpx = httpx.post(
            running.url,
            content=BODY,
            headers=[
                *((name.encode(), value.encode()) for name, value in sign(BODY, KEY).items()),
                (b"X-Latin", "Zoë".encode("latin-1")),
            ],
        )
    assert answer.startswith(b"HTTP/1.1 202")
    assert sent_with_httpx.status_code == 202
    first, second = (headers for headers, _ in app.received)
    assert first["X-Note"].encode("latin-1") == "café ☕".encode()
    assert second["X-Latin"] == "Zoë"
    assert [line.forwarded for line in lines] == ["ok", "ok"]


def test_a_header_no_client_may_send_on_is_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with local_app(status=202) as app, receiver(forward_to=app.url) as (running, lines):
        answer = _raw_delivery(running, b"X-Bell: ring\x07ring\r\nX-Fine: yes\r\n")
    assert answer.startswith(b"HTTP/1.1 202")
    (headers, body) = app.received[0]
    assert body == BODY
    assert "X-Bell" not in headers
    assert headers["X-Fine"] == "yes"
    assert lines[0].forwarded == "ok"
    assert "forwarded without the X-Bell header" in caplog.text


def test_a_delivery_with_conflicting_lengths_reaches_the_app_framed_once() -> None:
    with local_app(status=202) as app, receiver(forward_to=app.url) as (running, lines):
        answer = _raw_delivery(running, b"Content-Length: 9999\r\nExpect: 100-continue\r\n")
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202")
    (headers, body) = app.received[0]
    assert body == BODY
    assert headers["Content-Length"] == str(len(BODY))
    assert "Expect" not in headers
    assert lines[0].forwarded == "ok"


def test_forwarded_headers_unfold_and_drop_what_http_forbids() -> None:
    kept, dropped = forwarded_headers(
        [
            ("Host", "example.com"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "5"),
            ("content-length", "500"),
            ("Expect", "100-continue"),
            ("X-Folded", "one\r\n two"),
            ("X(bad)", "value"),
            ("X-Nul", "a\x00b"),
            ("X-Sig", "abc"),
            ("X-Sig", "def"),
        ]
    )
    assert kept == [(b"X-Folded", b"one two"), (b"X-Sig", b"abc"), (b"X-Sig", b"def")]
    assert dropped == ["(a header with an invalid name)", "X-Nul"]
