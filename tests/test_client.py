"""Tests for cio_sec.client: pure retry/encoding rules, then real HTTP on loopback."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import ipaddress
import logging
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec import __version__
from cio_sec.client import (
    APP_URLS,
    TRACK_URLS,
    AccountRegion,
    AppApi,
    AsyncAppApi,
    AsyncTrackApi,
    BatchItemError,
    BatchResult,
    RetryEvent,
    RetryPolicy,
    TrackApi,
    Workspace,
    app_base_url,
    asend_with_retry,
    build_app_client,
    build_async_app_client,
    build_async_track_client,
    build_track_client,
    check_response,
    quote_identifier,
    send_with_retry,
    track_base_url,
)
from cio_sec.errors import (
    ApiError,
    ConfigError,
    CredentialRejectedError,
    ExitCode,
    RedirectError,
    RemoteUnavailableError,
)
from cio_sec.redact import REDACTOR
from cio_sec.sandbox import Faults, Sandbox

FIXED_NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
UNRESERVED_OR_ESCAPE = re.compile(r"(?:[A-Za-z0-9_.~-]|%[0-9A-F]{2})+")

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


def no_random() -> float:
    return 1.0


def must_not_sleep(delay: float) -> None:
    pytest.fail(f"unexpected retry (would wait {delay}s)")


# --- Regions -------------------------------------------------------------------------------


def test_regional_base_urls() -> None:
    assert track_base_url("us") == TRACK_URLS["us"] == "https://track.customer.io"
    assert track_base_url("eu") == "https://track-eu.customer.io"
    assert app_base_url("us") == APP_URLS["us"] == "https://api.customer.io"
    assert app_base_url("eu") == "https://api-eu.customer.io"


def test_override_wins_over_region() -> None:
    assert track_base_url("eu", "http://127.0.0.1:9/") == "http://127.0.0.1:9"
    assert app_base_url("nowhere", "http://127.0.0.1:9") == "http://127.0.0.1:9"


@pytest.mark.parametrize("region", ["", "US", "ap", "us-east"])
def test_unknown_region_is_a_config_error(region: str) -> None:
    with pytest.raises(ConfigError, match="region") as info:
        track_base_url(region)
    assert info.value.exit_code == ExitCode.CONFIG
    with pytest.raises(ConfigError):
        app_base_url(region)


# --- quote_identifier ----------------------------------------------------------------------


@pytest.mark.parametrize(("identifier", "encoded"), sorted(AWKWARD_IDENTIFIERS.items()))
def test_quote_identifier_examples(identifier: str, encoded: str) -> None:
    assert quote_identifier(identifier) == encoded


def test_quote_identifier_rejects_empty_and_invalid_text() -> None:
    with pytest.raises(ValueError, match="empty"):
        quote_identifier("")
    with pytest.raises(ValueError, match="Unicode"):
        quote_identifier("a\ud800b")


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1))
def test_quote_identifier_is_one_opaque_segment(identifier: str) -> None:
    encoded = quote_identifier(identifier)
    assert UNRESERVED_OR_ESCAPE.fullmatch(encoded)
    assert not set("/?#") & set(encoded)
    assert re.fullmatch(r"(?:[^%]|%[0-9A-F]{2})*", encoded)  # every % starts an escape
    assert encoded not in {".", ".."}
    assert unquote(encoded, errors="strict") == identifier


# --- RetryPolicy ---------------------------------------------------------------------------


def test_retry_policy_defaults() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 8
    assert policy.base_delay == 0.25
    assert policy.max_delay == 30.0
    assert policy.max_retry_after == 300.0
    assert policy.retry_statuses == frozenset({408, 429, 500, 502, 503, 504})


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_delay": -1.0}, {"max_delay": -0.1}])
def test_retry_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    assert RetryPolicy().should_retry_status(status)


@pytest.mark.parametrize("status", [200, 207, 301, 400, 401, 403, 404, 409, 422, 501])
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


@given(st.text())
def test_parse_retry_after_never_raises(value: str) -> None:
    parsed = RetryPolicy().parse_retry_after(value, now=FIXED_NOW)
    assert parsed is None or parsed >= 0.0


# --- A scripted HTTP server on loopback (redirects, status mapping, headers) ----------------


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


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SITE_ID = "f82ad78f695bd32f9d99"
TRACK_KEY = "1a621ef65edfe6d3b6ae"
APP_KEY = "20436c6351668b25a74a2c289a639d3f"


def test_clients_send_user_agent_and_auth(scripted: ScriptedServer) -> None:
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client:
        client.get("/api/v1/accounts/region")
    with build_app_client(scripted.url, APP_KEY) as client:
        client.get("/v1/workspaces")
    track, app = scripted.headers
    token = base64.b64encode(f"{SITE_ID}:{TRACK_KEY}".encode()).decode()
    assert track["User-Agent"] == f"cio-sec/{__version__}"
    assert track["Authorization"] == f"Basic {token}"
    assert app["User-Agent"] == f"cio-sec/{__version__}"
    assert app["Authorization"] == f"Bearer {APP_KEY}"


def test_builders_register_credentials_with_the_redactor(scripted: ScriptedServer) -> None:
    token = base64.b64encode(f"{SITE_ID}:{TRACK_KEY}".encode()).decode()
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY):
        pass
    client = build_async_app_client(scripted.url, APP_KEY)
    assert APP_KEY not in repr(client.auth)
    asyncio.run(client.aclose())
    text = REDACTOR.redact(f"{TRACK_KEY} Basic {token} Bearer {APP_KEY}")
    assert TRACK_KEY not in text
    assert token not in text
    assert APP_KEY not in text


def test_client_timeouts_and_redirect_setting(scripted: ScriptedServer) -> None:
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY, timeout=3.0) as client:
        assert client.follow_redirects is False
        assert client.timeout == httpx.Timeout(3.0, connect=5.0)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/",
        "not a url",
        "",
        "http://track.customer.io",
        "https://user:pw@track.customer.io",
        "https://track.customer.io/?x=1",
        "https://track.customer.io:port",
    ],
)
def test_builders_reject_unusable_base_urls(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_track_client(url, SITE_ID, TRACK_KEY)
    assert "pw" not in str(info.value)


@pytest.mark.parametrize(
    ("site_id", "key"),
    [("", TRACK_KEY), (SITE_ID, ""), ("a:b", TRACK_KEY), (SITE_ID, "k\n"), (SITE_ID, " k ")],
)
def test_track_builder_rejects_unusable_credentials(site_id: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_track_client("https://track.customer.io", site_id, key)
    assert info.value.exit_code == ExitCode.CONFIG


@pytest.mark.parametrize("key", ["", "k\n", "ключ", f"{APP_KEY} "])
def test_app_builder_rejects_unusable_keys(key: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_app_client("https://api.customer.io", key)
    assert info.value.exit_code == ExitCode.CONFIG


@pytest.mark.parametrize("status", [200, 201, 204, 207])
def test_check_response_accepts_2xx(scripted: ScriptedServer, status: int) -> None:
    scripted.script = [(status, {})]
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client:
        check_response(client.get("/x"), what="the test request")


@pytest.mark.parametrize(
    ("status", "error", "exit_code"),
    [
        (301, RedirectError, ExitCode.REMOTE),
        (302, RedirectError, ExitCode.REMOTE),
        (303, RedirectError, ExitCode.REMOTE),
        (307, RedirectError, ExitCode.REMOTE),
        (308, RedirectError, ExitCode.REMOTE),
        (401, CredentialRejectedError, ExitCode.CONFIG),
        (403, CredentialRejectedError, ExitCode.CONFIG),
        (404, ApiError, ExitCode.REMOTE),
        (400, ApiError, ExitCode.REMOTE),
        (409, ApiError, ExitCode.REMOTE),
        (418, ApiError, ExitCode.REMOTE),
        (422, ApiError, ExitCode.REMOTE),
        (429, RemoteUnavailableError, ExitCode.REMOTE),
        (500, RemoteUnavailableError, ExitCode.REMOTE),
        (502, RemoteUnavailableError, ExitCode.REMOTE),
        (503, RemoteUnavailableError, ExitCode.REMOTE),
        (504, RemoteUnavailableError, ExitCode.REMOTE),
        (304, ApiError, ExitCode.REMOTE),
    ],
)
def test_check_response_maps_statuses(
    scripted: ScriptedServer, status: int, error: type[Exception], exit_code: ExitCode
) -> None:
    scripted.script = [(status, {"Location": "/api/v1/customers/secret-person"})]
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client:
        response = client.get("/api/v1/customers/secret-person", params={"email": "x@y.z"})
    with pytest.raises(error) as info:
        check_response(response, what="the test request", credential="the test key")
    assert type(info.value) is error
    message = f"{info.value} {getattr(info.value, 'hint', '')}"
    assert getattr(info.value, "exit_code", None) == exit_code
    assert "127.0.0.1" in message
    for secret in ("secret-person", "/api/", "x@y.z", "email", TRACK_KEY, SITE_ID):
        assert secret not in message
    if isinstance(info.value, ApiError):
        assert info.value.status == status
    if isinstance(info.value, CredentialRejectedError):
        assert "the test key" in message
        assert "rotate" in message


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("https://track-eu.customer.io/api/v1/accounts/region", 'set region = "eu"'),
        ("https://api-eu.customer.io/v1/workspaces", 'set region = "eu"'),
        ("https://track.customer.io/api/v1/customers/a", 'set region = "us"'),
        ("https://elsewhere.example:8443/login?next=/secret", "elsewhere.example:8443"),
        ("/moved/secret", "127.0.0.1"),
        ("http://:99999/", "without a usable destination"),
        ("", "without a usable destination"),
    ],
)
def test_redirects_name_the_region_mistake(
    scripted: ScriptedServer, location: str, expected: str
) -> None:
    scripted.script = [(301, {"Location": location} if location else {})]
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client:
        api = TrackApi(client, sleep=must_not_sleep)
        with pytest.raises(RedirectError) as info:
            api.region()
    message = str(info.value)
    assert expected in message
    assert "the region lookup" in message
    assert "secret" not in message
    assert "/api/" not in message
    assert len(scripted.paths) == 1  # neither followed nor retried


def test_redirect_to_eu_names_the_host(scripted: ScriptedServer) -> None:
    scripted.script = [(308, {"Location": "https://track-eu.customer.io/api/v1/customers/x"})]
    with (
        build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client,
        pytest.raises(RedirectError) as info,
    ):
        TrackApi(client).delete("x")
    assert str(info.value) == (
        "Customer.io redirected deleting a person to track-eu.customer.io: the account is "
        'probably in the EU region; set region = "eu"'
    )
    assert info.value.exit_code == ExitCode.REMOTE


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


def test_encoded_identifiers_leave_unchanged(scripted: ScriptedServer) -> None:
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client:
        api = TrackApi(client)
        for identifier in AWKWARD_IDENTIFIERS:
            api.suppress(identifier)
            api.delete(identifier)
    expected = [
        path
        for encoded in AWKWARD_IDENTIFIERS.values()
        for path in (f"/api/v1/customers/{encoded}/suppress", f"/api/v1/customers/{encoded}")
    ]
    assert scripted.paths == expected


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


def test_non_transient_transport_error_is_not_retried(scripted: ScriptedServer) -> None:
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client:
        request = client.build_request("GET", "ftp://127.0.0.1/secret")
        with pytest.raises(RemoteUnavailableError, match="attempt 1 of 8") as info:
            send_with_retry(client, request, sleep=must_not_sleep)
    assert "secret" not in str(info.value)
    assert isinstance(info.value.__cause__, httpx.UnsupportedProtocol)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"region": "us", "url": "https://track.customer.io"}',
        b'{"region": "us", "url": "x", "environment_id": true}',
        b'{"region": "us", "url": "x", "environment_id": "42"}',
        b"[]",
    ],
)
def test_unexpected_region_shape_is_an_api_error(scripted: ScriptedServer, body: bytes) -> None:
    scripted.body = body
    with (
        build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client,
        pytest.raises(ApiError, match="unexpected response shape") as info,
    ):
        TrackApi(client).region()
    assert body.decode() not in str(info.value)
    assert info.value.status == 200


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"errors": "nope"}',
        b'{"errors": [{"reason": "required"}]}',
        b'{"errors": [{"batch_index": 0, "message": 5}]}',
        b'{"errors": ["x"]}',
    ],
)
def test_unexpected_batch_shape_is_an_api_error(scripted: ScriptedServer, body: bytes) -> None:
    scripted.script = [(207, {})]
    scripted.body = body
    with (
        build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client,
        pytest.raises(ApiError, match="unexpected response shape"),
    ):
        TrackApi(client).batch([{"type": "person", "identifiers": {"id": "1"}}])


def test_batch_207_lists_rejected_items(scripted: ScriptedServer) -> None:
    scripted.script = [(207, {})]
    scripted.body = (
        b'{"errors": [{"batch_index": 1, "reason": "invalid", "field": "identifiers",'
        b' "message": "bad"}, {"batch_index": 2}]}'
    )
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client:
        result = TrackApi(client).batch([{"a": 1}, {"b": 2}, {"c": 3}])
    assert result == BatchResult(
        207,
        (BatchItemError(1, "invalid", "identifiers", "bad"), BatchItemError(2, "", "", "")),
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"workspaces": [{"id": "1", "name": "x"}]}',
        b'{"workspaces": {}}',
        b'{"results": []}',
    ],
)
def test_unexpected_workspaces_shape_is_an_api_error(scripted: ScriptedServer, body: bytes) -> None:
    scripted.body = body
    with (
        build_app_client(scripted.url, APP_KEY) as client,
        pytest.raises(ApiError, match="unexpected response shape"),
    ):
        AppApi(client).workspaces()


@pytest.mark.parametrize(
    "body", [b'{"results": [{"id": 5}]}', b'{"results": null}', b'{"workspaces": []}']
)
def test_unexpected_customers_shape_is_an_api_error(scripted: ScriptedServer, body: bytes) -> None:
    scripted.body = body
    with (
        build_app_client(scripted.url, APP_KEY) as client,
        pytest.raises(ApiError, match="unexpected response shape"),
    ):
        AppApi(client).customers_by_email("p@example.com")


def test_empty_batch_and_email_are_refused(scripted: ScriptedServer) -> None:
    with (
        build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client,
        pytest.raises(ValueError, match="at least one"),
    ):
        TrackApi(client).batch([])
    with (
        build_app_client(scripted.url, APP_KEY) as client,
        pytest.raises(ValueError, match="empty"),
    ):
        AppApi(client).customers_by_email("")
    assert scripted.paths == []


@pytest.fixture
def client_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every logger at DEBUG, cio-sec's too (its CLI handler may stop propagation)."""
    monkeypatch.setattr(logging.getLogger("cio_sec"), "propagate", True)
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="cio_sec"):
        yield caplog


def test_library_loggers_do_not_log_urls(
    scripted: ScriptedServer, client_log: pytest.LogCaptureFixture
) -> None:
    scripted.script = [(429, {"Retry-After": "0"}), (200, {})]
    with build_app_client(scripted.url, APP_KEY) as client:
        send_with_retry(
            client,
            client.build_request("GET", "/v1/customers", params={"email": "p@example.com"}),
            sleep=lambda _: None,
        )
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in client_log.records)
    assert "p@example.com" not in text
    assert "p%40example.com" not in text
    assert "/v1/customers" not in text
    assert APP_KEY not in text
    assert re.search(r"cio_sec\.client GET 127\.0\.0\.1:\d+ 429 \d+ms", text)
    assert "retrying GET 127.0.0.1:" in text
    assert "after HTTP 429 (attempt 1 of 8)" in text


# --- The sandbox (the shipped Customer.io emulator) over real HTTP --------------------------


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


def test_region_over_the_wire(sb: Sandbox) -> None:
    info = sb.info
    base_url = track_base_url("us", info.track_url)
    with build_track_client(base_url, info.site_id, info.track_api_key) as client:
        account = TrackApi(client).region()
    assert account == AccountRegion(region="us", url=info.track_url, environment_id=1001)
    (request,) = sb.requests()
    assert (request.method, request.path, request.query) == ("GET", "/api/v1/accounts/region", "")
    assert request.auth == f"basic:{info.site_id}"


def test_region_of_an_eu_workspace(sb: Sandbox) -> None:
    keys = sb.add_track_keys(workspace_id=2002, region="eu")
    with build_track_client(sb.info.track_url, keys.site_id, keys.track_api_key) as client:
        account = TrackApi(client).region()
    assert (account.region, account.environment_id) == ("eu", 2002)


def test_workspaces_over_the_wire(sb: Sandbox) -> None:
    info = sb.info
    with build_app_client(app_base_url("us", info.app_url), info.app_api_key) as client:
        workspaces = AppApi(client).workspaces()
    assert workspaces == (Workspace(id=1001, name="Sandbox workspace 1001"),)
    (request,) = sb.requests()
    assert (request.method, request.path) == ("GET", "/v1/workspaces")
    assert request.auth.startswith("bearer:")


def test_revoked_track_keys_are_rejected(sb: Sandbox) -> None:
    keys = sb.add_track_keys()
    sb.revoke_track_keys(keys.site_id)
    token = base64.b64encode(f"{keys.site_id}:{keys.track_api_key}".encode()).decode()
    with (
        build_track_client(sb.info.track_url, keys.site_id, keys.track_api_key) as client,
        pytest.raises(CredentialRejectedError) as info,
    ):
        track_api(client).region()
    error = info.value
    assert error.exit_code == ExitCode.CONFIG
    assert int(error.exit_code) == 3
    assert "Track API credentials" in error.message
    assert "HTTP 401" in error.message
    assert error.hint is not None
    assert "rotate" in error.hint
    for secret in (keys.track_api_key, keys.site_id, token):
        assert secret not in f"{error.message} {error.hint}"
    assert statuses(sb) == [401]  # not retried


def test_revoked_app_key_is_rejected(sb: Sandbox) -> None:
    key = sb.add_app_key()
    sb.revoke_app_key(key)
    with (
        build_app_client(sb.info.app_url, key) as client,
        pytest.raises(CredentialRejectedError, match="the App API key") as info,
    ):
        AppApi(client, sleep=must_not_sleep).workspaces()
    assert info.value.exit_code == ExitCode.CONFIG
    assert key not in f"{info.value.message} {info.value.hint}"
    assert statuses(sb) == [401]


def test_awkward_identifiers_arrive_intact(sb: Sandbox) -> None:
    info = sb.info
    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        api = track_api(client)
        for identifier in AWKWARD_IDENTIFIERS:
            api.suppress(identifier)
            api.delete(identifier)
    requests = sb.requests()
    assert [r.identifier for r in requests] == [i for i in AWKWARD_IDENTIFIERS for _ in "sd"]
    assert [(r.method, r.path) for r in requests] == [
        pair
        for encoded in AWKWARD_IDENTIFIERS.values()
        for pair in (
            ("POST", f"/api/v1/customers/{encoded}/suppress"),
            ("DELETE", f"/api/v1/customers/{encoded}"),
        )
    ]
    assert {r.body for r in requests} == {b"{}", b""}
    assert set(statuses(sb)) == {200}
    expected = {i.lower() if "@" in i else i for i in AWKWARD_IDENTIFIERS}
    assert set(sandbox_list(sb, "suppressed")) == expected
    assert sandbox_list(sb, "deleted") == list(AWKWARD_IDENTIFIERS)


def test_batch_and_lookup_by_email(sb: Sandbox) -> None:
    info = sb.info
    email = "a+b@example.com"
    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        result = track_api(client).batch(
            [
                {
                    "type": "person",
                    "identifiers": {"id": "p1"},
                    "action": "identify",
                    "attributes": {"email": email},
                },
                {"type": "person", "identifiers": {"id": "p2"}, "action": "identify"},
            ]
        )
    assert result == BatchResult(status=200, errors=())
    with build_app_client(info.app_url, info.app_api_key) as client:
        api = AppApi(client, sleep=must_not_sleep)
        found = api.customers_by_email(email)
        missing = api.customers_by_email("a b@example.com")
    (person,) = found
    assert (person.id, person.email) == ("p1", email)
    assert person.cio_id
    assert missing == ()
    lookups = [r for r in sb.requests() if r.path == "/v1/customers"]
    assert [r.query for r in lookups] == ["email=a%2Bb%40example.com", "email=a+b%40example.com"]


def test_batch_207_over_the_wire(sb: Sandbox) -> None:
    info = sb.info
    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        result = track_api(client).batch(
            [
                {"type": "person", "identifiers": {"id": "p1"}, "action": "suppress"},
                {"type": "object", "identifiers": {"id": "p2"}, "action": "delete"},
                {"type": "person", "identifiers": {"phone": "+1"}, "action": "delete"},
            ]
        )
    assert result.status == 207
    assert [(e.batch_index, e.reason, e.field) for e in result.errors] == [
        (1, "unsupported", "type"),
        (2, "invalid", "identifiers"),
    ]
    assert all(e.message for e in result.errors)
    assert "p1" in sandbox_list(sb, "suppressed")


def test_throttling_is_retried_after_retry_after(sb: Sandbox) -> None:
    info = sb.info
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


def test_async_forms_over_the_wire(sb: Sandbox) -> None:
    info = sb.info
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)
        sb.set_faults(Faults())

    async def scenario() -> tuple[object, ...]:
        async with build_async_track_client(
            info.track_url, info.site_id, info.track_api_key
        ) as client:
            api = AsyncTrackApi(client, sleep=sleep, random=no_random)
            account = await api.region()
            sb.set_faults(Faults(throttle_rate=1.0, retry_after=2.0))
            await api.suppress("a/b")
            await asyncio.gather(*(api.delete(i) for i in AWKWARD_IDENTIFIERS))
            batch = await api.batch(
                [
                    {
                        "type": "person",
                        "identifiers": {"email": "q@example.com"},
                        "action": "identify",
                    },
                    {"type": "person", "identifiers": {}, "action": "delete"},
                ]
            )
        async with build_async_app_client(info.app_url, info.app_api_key) as client:
            app = AsyncAppApi(client, sleep=sleep)
            workspaces = await app.workspaces()
            people = await app.customers_by_email("q@example.com")
        return account, batch, workspaces, people

    account, batch, workspaces, people = asyncio.run(scenario())
    assert account == AccountRegion("us", info.track_url, 1001)
    assert sleeps == [2.0]
    assert batch == BatchResult(
        207, (BatchItemError(1, "required", "identifiers", "identifiers are required"),)
    )
    assert workspaces == (Workspace(1001, "Sandbox workspace 1001"),)
    assert isinstance(people, tuple)
    assert [p.email for p in people] == ["q@example.com"]
    deletes = [r for r in sb.requests() if r.method == "DELETE"]
    assert sorted(r.identifier or "" for r in deletes) == sorted(AWKWARD_IDENTIFIERS)
    assert sandbox_list(sb, "suppressed") == ["a/b"]


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


def test_nothing_secret_reaches_logs_or_errors(
    sb: Sandbox, client_log: pytest.LogCaptureFixture
) -> None:
    info = sb.info
    identifier = "secret/person?x=1#frag"
    email = "private.person@example.com"
    token = base64.b64encode(f"{info.site_id}:{info.track_api_key}".encode()).decode()
    sb.set_faults(Faults(throttle_rate=1.0, retry_after=1.0))

    def sleep(delay: float) -> None:
        sb.set_faults(Faults())

    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        api = TrackApi(client, sleep=sleep)
        api.suppress(identifier)
        api.batch([{"type": "person", "identifiers": {"email": email}, "action": "delete"}])
    with build_app_client(info.app_url, info.app_api_key) as client:
        AppApi(client).customers_by_email(email)
    sb.revoke_track_keys(info.site_id)
    with (
        build_track_client(info.track_url, info.site_id, info.track_api_key) as client,
        pytest.raises(CredentialRejectedError) as error,
    ):
        TrackApi(client).delete(identifier)
    records = [r for r in client_log.records if not r.name.startswith("cio_sec.sandbox")]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)
    said = f"{logged}\n{error.value.message}\n{error.value.hint}"
    forbidden = [
        info.track_api_key,
        info.app_api_key,
        token,
        identifier,
        quote_identifier(identifier),
        "secret",
        "/api/v1/customers",
        "/v1/customers",
        email,
        "private.person",
        '"batch"',
        "Authorization",
    ]
    for text in forbidden:
        assert text not in said, text
    assert "retrying POST 127.0.0.1:" in logged
    assert re.search(r"cio_sec\.client POST 127\.0\.0\.1:\d+ 429 \d+ms", logged)
    assert re.search(r"cio_sec\.client DELETE 127\.0\.0\.1:\d+ 401 \d+ms", logged)
