"""Tests for cio_sec.client.retry: the pure policy rules, then the send loops over real HTTP."""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import socket
import ssl
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.client import (
    AsyncTrackApi,
    RetryEvent,
    RetryPolicy,
    Sent,
    TrackApi,
    TransportFailedError,
    asend_counted,
    asend_with_retry,
    build_async_track_client,
    build_track_client,
    check_response,
    send_with_retry,
)
from cio_sec.errors import ApiError, CredentialRejectedError, ExitCode, RemoteUnavailableError
from cio_sec.sandbox import Faults, Sandbox
from tests.client.conftest import (
    SITE_ID,
    TRACK_KEY,
    ScriptedServer,
    must_not_sleep,
    no_random,
    sandbox_list,
    statuses,
    track_api,
)

FIXED_NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- RetryPolicy ---------------------------------------------------------------------------


def test_retry_policy_defaults() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 8
    assert policy.base_delay == 0.25
    assert policy.max_delay == 30.0
    assert policy.max_retry_after == 300.0
    assert policy.retry_statuses == frozenset({408, 429, 500, 502, 503, 504, 522, 524})


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_delay": -1.0}, {"max_delay": -0.1}])
def test_retry_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 522, 524])
def test_retryable_statuses(status: int) -> None:
    assert RetryPolicy().should_retry_status(status)


@pytest.mark.parametrize(
    "status", [200, 207, 301, 400, 401, 403, 404, 409, 422, 501, 520, 521, 523, 525]
)
def test_final_statuses(status: int) -> None:
    assert not RetryPolicy().should_retry_status(status)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectTimeout("t"), True),
        (httpx.ReadTimeout("t"), True),
        (httpx.PoolTimeout("t"), True),
        (httpx.ConnectError("c"), True),
        (httpx.RemoteProtocolError("r"), True),
        (httpx.ReadError("r"), True),
        (httpx.WriteError("w"), True),
        (httpx.UnsupportedProtocol("u"), False),
        (httpx.LocalProtocolError("l"), False),
        (httpx.DecodingError("d"), False),
        (ValueError("v"), False),
        (KeyboardInterrupt(), False),
    ],
)
def test_retryable_exceptions(exc: BaseException, expected: bool) -> None:
    assert RetryPolicy().should_retry_exception(exc) is expected


def test_delay_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy()
    delays = [policy.delay(n, retry_after=None, random=no_random) for n in range(1, 11)]
    assert delays == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert policy.delay(3, retry_after=None, random=lambda: 0.5) == 0.5
    assert policy.delay(10**6, retry_after=None, random=no_random) == 30.0


def test_delay_honours_retry_after_up_to_its_cap() -> None:
    policy = RetryPolicy()
    assert policy.delay(1, retry_after=7.0, random=no_random) == 7.0
    assert policy.delay(8, retry_after=1.0, random=no_random) == 30.0
    assert policy.delay(1, retry_after=3600.0, random=no_random) == 300.0
    assert policy.delay(1, retry_after=-5.0, random=lambda: 0.0) == 0.0
    assert policy.delay(1, retry_after=float("nan"), random=no_random) == 0.25


def test_delay_counts_attempts_from_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        RetryPolicy().delay(0, retry_after=None, random=no_random)


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    fraction=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    retry_after=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    base_delay=st.floats(min_value=0.0, max_value=10.0),
    max_delay=st.floats(min_value=0.0, max_value=100.0),
)
def test_delay_stays_within_bounds(
    attempt: int,
    fraction: float,
    retry_after: float | None,
    base_delay: float,
    max_delay: float,
) -> None:
    policy = RetryPolicy(base_delay=base_delay, max_delay=max_delay)
    delay = policy.delay(attempt, retry_after=retry_after, random=lambda: fraction)
    cap = min(max_delay, base_delay * 2.0 ** min(attempt - 1, 64))
    assert delay >= 0.0
    if retry_after is None or retry_after != retry_after:  # absent or NaN: back-off only
        assert delay <= cap
    else:
        assert delay >= min(max(retry_after, 0.0), policy.max_retry_after)
        assert delay <= max(cap, policy.max_retry_after)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Tue, 01 Jan 2030 00:02:00 GMT", 120.0),
        ("Tue, 01 Jan 2030 00:00:30 -0000", 30.0),
        ("Mon, 31 Dec 2029 23:00:00 GMT", 0.0),
        ("", None),
        ("soon", None),
        ("1e3", None),
        ("12 seconds", None),
        ("Tue, 99 Jan 2030 00:02:00 GMT", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert RetryPolicy().parse_retry_after(value, now=FIXED_NOW) == expected


def test_parse_retry_after_takes_naive_now_as_utc() -> None:
    naive = datetime(2030, 1, 1)
    assert RetryPolicy().parse_retry_after("Tue, 01 Jan 2030 00:01:00 GMT", now=naive) == 60.0


@given(st.integers(min_value=0, max_value=10**9))
def test_parse_retry_after_delta_seconds(seconds: int) -> None:
    assert RetryPolicy().parse_retry_after(str(seconds), now=FIXED_NOW) == float(seconds)


@given(st.integers(min_value=-(10**6), max_value=10**7))
def test_parse_retry_after_http_date(offset: int) -> None:
    header = email.utils.format_datetime(FIXED_NOW + timedelta(seconds=offset), usegmt=True)
    assert RetryPolicy().parse_retry_after(header, now=FIXED_NOW) == max(offset, 0)


@pytest.mark.slow
@given(st.text())
def test_parse_retry_after_never_raises(value: str) -> None:
    parsed = RetryPolicy().parse_retry_after(value, now=FIXED_NOW)
    assert parsed is None or parsed >= 0.0


# --- The send loops against a scripted server ----------------------------------------------


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_no_retry_on_client_errors(scripted: ScriptedServer, status: int) -> None:
    scripted.script = [(status, {})]
    with (
        build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client,
        pytest.raises(ApiError) as info,
    ):
        TrackApi(client, sleep=must_not_sleep).suppress("someone")
    assert info.value.status == status
    assert len(scripted.paths) == 1


def test_retry_after_http_date_is_honoured(scripted: ScriptedServer) -> None:
    scripted.script = [(503, {"Retry-After": "Tue, 01 Jan 2030 00:02:00 GMT"}), (200, {})]
    sleeps: list[float] = []
    events: list[RetryEvent] = []
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client:
        response = send_with_retry(
            client,
            client.build_request("GET", "/api/v1/accounts/region"),
            sleep=sleeps.append,
            random=no_random,
            now=lambda: FIXED_NOW,
            on_retry=events.append,
        )
    assert response.status_code == 200
    assert sleeps == [120.0]
    assert events == [RetryEvent(attempt=1, delay=120.0, status=503, error=None)]


EDGE_TIMEOUT_PAGE = b"<html><head><title>522: Connection timed out</title></head></html>"


def test_edge_timeouts_with_html_bodies_are_retried_then_succeed(
    scripted: ScriptedServer,
) -> None:
    scripted.body = EDGE_TIMEOUT_PAGE
    html = {"Content-Type": "text/html; charset=UTF-8"}
    scripted.script = [(522, html), (524, html), (200, {})]
    events: list[RetryEvent] = []
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client:
        TrackApi(client, sleep=lambda _: None, random=no_random, on_retry=events.append).suppress(
            "someone"
        )
    assert [event.status for event in events] == [522, 524]
    assert scripted.paths == ["/api/v1/customers/someone/suppress"] * 3


@pytest.mark.parametrize("status", [522, 524])
def test_sandbox_edge_timeouts_with_html_bodies_are_retried_then_succeed(
    sb: Sandbox, status: int
) -> None:
    info = sb.info
    sb.set_faults(Faults(error_rate=1.0, error_status=status))
    pages: list[str] = []

    def sleep(delay: float) -> None:
        if len(pages) == 1:
            sb.set_faults(Faults())

    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        request = client.build_request("GET", "/api/v1/accounts/region")
        first = client.send(request)
        pages.append(first.headers["Content-Type"])
        assert first.status_code == status
        assert first.text.lstrip().startswith("<")
        sent = send_with_retry(client, request, sleep=sleep, random=no_random)
    assert pages == ["text/html; charset=UTF-8"]
    assert sent.status_code == 200
    assert statuses(sb) == [status, status, 200]


def test_429_without_retry_after_backs_off_with_full_jitter(sb: Sandbox) -> None:
    info = sb.info
    sb.set_faults(Faults(throttle_rate=1.0, retry_after=None))
    sleeps: list[float] = []
    draws = iter([0.5, 0.25, 1.0])

    def sleep(delay: float) -> None:
        sleeps.append(delay)
        if len(sleeps) == 3:
            sb.set_faults(Faults())

    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        TrackApi(client, sleep=sleep, random=lambda: next(draws)).region()
    assert sleeps == [0.5 * 0.25, 0.25 * 0.5, 1.0 * 1.0]  # random() x 0.25 x 2**(n-1)
    assert statuses(sb) == [429, 429, 429, 200]


def test_exhausted_retryable_status_returns_last_response(scripted: ScriptedServer) -> None:
    scripted.script = [(502, {})]
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=3)
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client:
        request = client.build_request("POST", "/api/v2/batch", json={"batch": []})
        response = send_with_retry(client, request, policy=policy, sleep=sleeps.append)
    assert response.status_code == 502
    assert len(scripted.paths) == 3
    assert len(sleeps) == 2
    assert all(0.0 <= delay <= 0.5 for delay in sleeps)


def test_non_transient_transport_error_is_not_retried(scripted: ScriptedServer) -> None:
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client:
        request = client.build_request("GET", "ftp://127.0.0.1/secret")
        with pytest.raises(RemoteUnavailableError, match="attempt 1 of 8") as info:
            send_with_retry(client, request, sleep=must_not_sleep)
    assert "secret" not in str(info.value)
    assert isinstance(info.value.__cause__, httpx.UnsupportedProtocol)


# --- Transport failures --------------------------------------------------------------------


def test_unreachable_host_is_remote_unavailable() -> None:
    port = closed_port()
    sleeps: list[float] = []
    with build_track_client(f"http://127.0.0.1:{port}", SITE_ID, TRACK_KEY) as client:
        api = TrackApi(client, policy=RetryPolicy(max_attempts=4), sleep=sleeps.append)
        with pytest.raises(RemoteUnavailableError) as info:
            api.delete("person/with/path")
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message
    assert "attempt 4 of 4" in message
    assert "person" not in message
    assert "/api/" not in message
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert info.value.exit_code == ExitCode.REMOTE
    assert len(sleeps) == 3


def test_unreachable_host_async() -> None:
    port = closed_port()
    sleeps: list[float] = []

    async def fake_sleep(delay: float) -> None:
        sleeps.append(delay)

    async def scenario() -> None:
        async with build_async_track_client(
            f"http://127.0.0.1:{port}", SITE_ID, TRACK_KEY
        ) as client:
            api = AsyncTrackApi(client, policy=RetryPolicy(max_attempts=2), sleep=fake_sleep)
            await api.region()

    with pytest.raises(RemoteUnavailableError, match=f"127.0.0.1:{port}"):
        asyncio.run(scenario())
    assert len(sleeps) == 1


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key; return their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_untrusted_certificate_fails_at_once(tmp_path: Path) -> None:
    cert_path, key_path = self_signed_certificate(tmp_path)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}"
        with (
            build_track_client(url, SITE_ID, TRACK_KEY) as client,
            pytest.raises(RemoteUnavailableError, match="TLS certificate") as error,
        ):
            TrackApi(client, sleep=must_not_sleep).region()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert "attempt 1 of 8" in error.value.message
    assert error.value.hint is not None
    assert "SSL_CERT_FILE" in error.value.hint
    assert isinstance(error.value.__cause__, httpx.ConnectError)


# --- The send loops against the sandbox ----------------------------------------------------


def test_throttling_is_retried_after_retry_after(sb: Sandbox) -> None:
    info = sb.info
    sb.add_person("x")  # suppressing someone who does not exist changes nothing
    sb.set_faults(Faults(throttle_rate=1.0, retry_after=1.0))
    sleeps: list[float] = []
    events: list[RetryEvent] = []

    def sleep(delay: float) -> None:
        sleeps.append(delay)
        sb.set_faults(Faults())

    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        TrackApi(client, sleep=sleep, random=lambda: 0.0, on_retry=events.append).suppress("x")
    assert sleeps == [1.0]
    assert events == [RetryEvent(attempt=1, delay=1.0, status=429, error=None)]
    assert statuses(sb) == [429, 200]
    assert "x" in sandbox_list(sb, "suppressed")


def test_long_retry_after_is_waited_for(sb: Sandbox) -> None:
    info = sb.info
    sb.set_faults(Faults(throttle_rate=1.0, retry_after=2.5))
    sleeps: list[float] = []

    def sleep(delay: float) -> None:
        sleeps.append(delay)
        if len(sleeps) == 2:
            sb.set_faults(Faults())

    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        TrackApi(client, sleep=sleep, random=no_random).region()
    assert sleeps == [3.0, 3.0]  # the sandbox rounds Retry-After up to whole seconds
    assert statuses(sb) == [429, 429, 200]


def test_max_attempts_bounds_the_requests(sb: Sandbox) -> None:
    info = sb.info
    sb.set_faults(Faults(throttle_rate=1.0, retry_after=1.0))
    sleeps: list[float] = []
    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        api = track_api(client, sleeps, policy=RetryPolicy(max_attempts=3))
        with pytest.raises(RemoteUnavailableError, match="HTTP 429") as info_:
            api.delete("someone")
    assert statuses(sb) == [429, 429, 429]
    assert sleeps == [1.0, 1.0]
    assert f"127.0.0.1:{sb.port}" in str(info_.value)
    assert "someone" not in str(info_.value)


def test_persistent_server_errors_end_as_remote_unavailable(sb: Sandbox) -> None:
    info = sb.info
    sb.set_faults(Faults(error_rate=1.0, error_status=502))
    sleeps: list[float] = []
    with (
        build_track_client(info.track_url, info.site_id, info.track_api_key) as client,
        pytest.raises(RemoteUnavailableError, match="HTTP 502") as error,
    ):
        track_api(client, sleeps).region()
    assert statuses(sb) == [502] * 8
    assert sleeps == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0]
    assert error.value.exit_code == ExitCode.REMOTE


def test_random_errors_are_ridden_out(sb: Sandbox) -> None:
    info = sb.info
    sb.set_faults(Faults(error_rate=0.5, seed=20261129))
    sleeps: list[float] = []
    identifiers = [f"person-{n}" for n in range(40)]
    for identifier in identifiers:  # suppressing someone who does not exist changes nothing
        sb.add_person(identifier)
    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        api = track_api(client, sleeps)
        for identifier in identifiers:
            api.suppress(identifier)
    seen = statuses(sb)
    assert seen.count(200) == len(identifiers)
    assert seen.count(503) == len(sleeps) > 0
    assert set(seen) == {200, 503}
    assert set(sleeps) <= {0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0}
    assert set(identifiers) <= set(sandbox_list(sb, "suppressed"))


def test_dropped_connections_are_retried(sb: Sandbox) -> None:
    info = sb.info
    sb.set_faults(Faults(drop_rate=1.0))
    sleeps: list[float] = []

    def sleep(delay: float) -> None:
        sleeps.append(delay)
        if len(sleeps) == 2:
            sb.set_faults(Faults())

    events: list[RetryEvent] = []
    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        TrackApi(client, sleep=sleep, random=no_random, on_retry=events.append).delete("d")
    assert statuses(sb) == [0, 0, 200]
    assert [event.error for event in events] == ["RemoteProtocolError"] * 2
    assert "d" in sandbox_list(sb, "deleted")


@pytest.mark.parametrize(("identifier", "status"), [("x" * 151, 400), ("é" * 76, 400)])
def test_no_retry_on_400(sb: Sandbox, identifier: str, status: int) -> None:
    info = sb.info
    with (
        build_track_client(info.track_url, info.site_id, info.track_api_key) as client,
        pytest.raises(ApiError, match=f"HTTP {status}") as error,
    ):
        track_api(client).suppress(identifier)
    assert error.value.status == status
    assert identifier not in str(error.value)
    assert statuses(sb) == [status]


def test_no_retry_on_404(sb: Sandbox) -> None:
    info = sb.info
    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        request = client.build_request("GET", "/api/v1/nothing/here")
        response = send_with_retry(client, request, sleep=must_not_sleep)
    assert response.status_code == 404
    with pytest.raises(ApiError, match="the probe failed") as error:
        check_response(response, what="the probe")
    assert error.value.status == 404
    assert "nothing" not in str(error.value)
    assert statuses(sb) == [404]


class RecordingLimiter:
    """A rate limiter hook that only records what the send loop tells it."""

    def __init__(self) -> None:
        self.acquired = 0
        self.throttles: list[float | None] = []

    async def acquire(self) -> None:
        self.acquired += 1

    def throttled(self, retry_after: float | None) -> None:
        self.throttles.append(retry_after)


def test_async_loop_paces_every_attempt_and_reports_429s_to_the_limiter(sb: Sandbox) -> None:
    info = sb.info
    limiter = RecordingLimiter()
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)
        if len(sleeps) == 2:
            sb.set_faults(Faults())

    async def scenario() -> Sent:
        async with build_async_track_client(
            info.track_url, info.site_id, info.track_api_key
        ) as client:
            request = client.build_request("DELETE", "/api/v1/customers/p1")
            return await asend_counted(
                client, request, sleep=sleep, random=no_random, limiter=limiter
            )

    sb.set_faults(Faults(throttle_rate=1.0, retry_after=2.0))
    sent = asyncio.run(scenario())
    assert (sent.response.status_code, sent.attempts) == (200, 3)
    assert limiter.acquired == 3
    assert limiter.throttles == [2.0, 2.0]
    assert sleeps == [2.0, 2.0]
    assert statuses(sb) == [429, 429, 200]


def test_async_transport_failure_says_how_many_attempts(sb: Sandbox) -> None:
    info = sb.info
    sb.set_faults(Faults(drop_rate=1.0))

    async def scenario() -> Sent:
        async with build_async_track_client(
            info.track_url, info.site_id, info.track_api_key
        ) as client:
            request = client.build_request("GET", "/api/v1/accounts/region")
            return await asend_counted(
                client, request, policy=RetryPolicy(max_attempts=3), sleep=_no_wait
            )

    with pytest.raises(TransportFailedError, match="attempt 3 of 3") as error:
        asyncio.run(scenario())
    assert error.value.attempts == 3
    assert error.value.exit_code == ExitCode.REMOTE
    assert statuses(sb) == [0, 0, 0]


async def _no_wait(delay: float) -> None:
    return None


def test_async_revoked_key_and_retry_loop(sb: Sandbox) -> None:
    keys = sb.add_track_keys()
    sb.revoke_track_keys(keys.site_id)
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    async def scenario() -> int:
        async with build_async_track_client(
            sb.info.track_url, keys.site_id, keys.track_api_key
        ) as client:
            sb.set_faults(Faults(error_rate=1.0))
            request = client.build_request("GET", "/api/v1/accounts/region")
            response = await asend_with_retry(
                client, request, policy=RetryPolicy(max_attempts=2), sleep=sleep
            )
            sb.set_faults(Faults())
            assert response.status_code == 503
            await AsyncTrackApi(client, sleep=sleep).region()
        return 0

    with pytest.raises(CredentialRejectedError):
        asyncio.run(scenario())
    assert statuses(sb) == [503, 503, 401]
    assert len(sleeps) == 1
