"""Tests for cio_sec.client.urls: regional base URLs and identifiers as opaque path segments."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.client import (
    APP_URLS,
    TRACK_URLS,
    TrackApi,
    app_base_url,
    build_track_client,
    quote_identifier,
    track_base_url,
)
from cio_sec.errors import ConfigError, ExitCode
from cio_sec.sandbox import Sandbox
from tests.client.conftest import (
    AWKWARD_IDENTIFIERS,
    SITE_ID,
    TRACK_KEY,
    ScriptedServer,
    sandbox_list,
    statuses,
    track_api,
)

UNRESERVED_OR_ESCAPE = re.compile(r"(?:[A-Za-z0-9_.~-]|%[0-9A-F]{2})+")


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


# --- Identifiers over the wire -------------------------------------------------------------


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


def test_awkward_identifiers_arrive_intact(sb: Sandbox) -> None:
    info = sb.info
    for identifier in AWKWARD_IDENTIFIERS:  # suppressing nobody changes nothing
        sb.add_person(identifier)
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
    # No profile has cio_id 03000001 (the sandbox assigns cio_ids), so nothing is suppressed.
    expected = {i.lower() if "@" in i else i for i in AWKWARD_IDENTIFIERS} - {"cio_03000001"}
    assert set(sandbox_list(sb, "suppressed")) == expected
    assert sandbox_list(sb, "deleted") == list(AWKWARD_IDENTIFIERS)
