"""Tests for cio_sec.client.calls: the requests each call builds and how answers are parsed."""

from __future__ import annotations

import pytest

from cio_sec.client import (
    AccountRegion,
    AppApi,
    BatchItemError,
    BatchResult,
    TrackApi,
    Workspace,
    build_app_client,
    build_track_client,
)
from cio_sec.errors import ApiError
from tests.client.conftest import APP_KEY, SITE_ID, TRACK_KEY, ScriptedServer

# --- Response shapes -----------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"not json", b"[]", b'"us"'])
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
    ("body", "expected"),
    [
        (b'{"region": "eu"}', AccountRegion("eu", None, None)),
        (b'{"region": "US", "environment_id": 42}', AccountRegion("us", None, "42")),
        (b'{"region": "us", "environment_id": "13XXXX"}', AccountRegion("us", None, "13XXXX")),
        (
            b'{"region": "eu", "url": "https://track-eu.customer.io", "environment_id": 7}',
            AccountRegion("eu", "https://track-eu.customer.io", "7"),
        ),
        (b'{"region": "us", "url": 5, "environment_id": true, "extra": []}', AccountRegion("us")),
    ],
)
def test_the_region_answer_is_read_for_what_is_there(
    scripted: ScriptedServer, body: bytes, expected: AccountRegion
) -> None:
    scripted.body = body
    with build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client:
        assert TrackApi(client).region() == expected


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        (b"{}", "region and environment_id"),
        (b'{"region": "us", "environment_id": ""}', "environment_id"),
        (b'{"region": " ", "environment_id": 5}', "region"),
        (b'{"region": 1, "environment_id": [5]}', "region and environment_id"),
    ],
)
def test_a_region_answer_without_a_needed_field_is_an_api_error(
    scripted: ScriptedServer, body: bytes, missing: str
) -> None:
    scripted.body = body
    with (
        build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client,
        pytest.raises(ApiError, match=f"answered without {missing}, which cio-sec needs") as info,
    ):
        TrackApi(client).region(("region", "environment_id"))
    assert info.value.status == 200


def test_an_unknown_region_field_is_a_programming_error(scripted: ScriptedServer) -> None:
    with (
        build_track_client(scripted.url, SITE_ID, TRACK_KEY) as client,
        pytest.raises(ValueError, match="no such region field: workspace"),
    ):
        TrackApi(client).region(("workspace",))
    assert scripted.paths == []


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


def test_workspaces_without_a_region_say_none(scripted: ScriptedServer) -> None:
    scripted.body = b'{"workspaces": [{"id": 7, "name": "w"}, {"id": 8, "name": "v", "region": 1}]}'
    with build_app_client(scripted.url, APP_KEY) as client:
        workspaces = AppApi(client).workspaces()
    assert workspaces == (Workspace("7", "w", None), Workspace("8", "v", None))


def test_workspace_ids_may_be_strings_or_integers_and_are_text(scripted: ScriptedServer) -> None:
    scripted.body = (
        b'{"workspaces": [{"id": "13XXXX", "name": "docs", "messages_sent": 3, "people": 9},'
        b' {"id": 1001, "name": "schema"}, {"id": " 42 "}]}'
    )
    with build_app_client(scripted.url, APP_KEY) as client:
        workspaces = AppApi(client).workspaces()
    assert [(w.id, w.name) for w in workspaces] == [
        ("13XXXX", "docs"),
        ("1001", "schema"),
        ("42", ""),
    ]


@pytest.mark.parametrize(
    "body",
    [
        b'{"workspaces": [{"id": "", "name": "x"}]}',
        b'{"workspaces": [{"id": true, "name": "x"}]}',
        b'{"workspaces": [{"id": 1.5, "name": "x"}]}',
        b'{"workspaces": [{"id": 1, "name": 2}]}',
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


# --- Arguments -----------------------------------------------------------------------------


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
