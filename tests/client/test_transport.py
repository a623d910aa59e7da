"""Tests for cio_sec.client.transport: what the built clients send, refuse and log."""

from __future__ import annotations

import asyncio
import base64
import re

import httpx
import pytest

from cio_sec import __version__
from cio_sec.client import (
    AppApi,
    TrackApi,
    build_app_client,
    build_async_app_client,
    build_track_client,
    quote_identifier,
    send_with_retry,
)
from cio_sec.errors import ConfigError, CredentialRejectedError, ExitCode
from cio_sec.redact import REDACTOR
from cio_sec.sandbox import Faults, Sandbox
from tests.client.conftest import APP_KEY, SITE_ID, TRACK_KEY, ScriptedServer

# --- Client construction -------------------------------------------------------------------


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


# --- Logging -------------------------------------------------------------------------------


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


def test_only_hosts_other_than_customerio_are_announced(caplog: pytest.LogCaptureFixture) -> None:
    from cio_sec.client import build_app_client, build_track_client

    with caplog.at_level("WARNING", logger="cio_sec"):
        build_track_client("https://track-eu.customer.io", SITE_ID, TRACK_KEY).close()
        build_app_client("https://api.customer.io", APP_KEY).close()
    assert caplog.records == []
    with caplog.at_level("WARNING", logger="cio_sec"):
        build_app_client("https://customer.io.example", APP_KEY).close()
    assert [r.getMessage() for r in caplog.records] == [
        "credentials will be sent to customer.io.example, not to Customer.io"
    ]
