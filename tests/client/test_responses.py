"""Tests for cio_sec.client.responses: status codes and redirects to typed errors."""

from __future__ import annotations

import base64

import pytest

from cio_sec.client import AppApi, TrackApi, build_app_client, build_track_client, check_response
from cio_sec.errors import (
    ApiError,
    CredentialRejectedError,
    ExitCode,
    RedirectError,
    RemoteUnavailableError,
)
from cio_sec.sandbox import Sandbox
from tests.client.conftest import (
    SITE_ID,
    TRACK_KEY,
    ScriptedServer,
    must_not_sleep,
    statuses,
    track_api,
)

# --- check_response ------------------------------------------------------------------------


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
        assert "cio-sec credentials set" in message


# --- Redirects -----------------------------------------------------------------------------


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


# --- Rejected credentials over the wire ----------------------------------------------------


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
    assert "cio-sec credentials set" in error.hint
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
