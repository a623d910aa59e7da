"""What the sandbox keeps: keys and the workspaces they open, and the request log."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from cio_sec.sandbox import KeySet, RecordedRequest, Sandbox, SandboxInfo
from tests.sandbox.helpers import (
    basic,
    basic_auth,
    http,
)

pytestmark = pytest.mark.timeout(30)


# --- authentication -------------------------------------------------------------------


def test_basic_auth_accepts_the_pair_and_rejects_everything_else(
    sandbox: Sandbox, info: SandboxInfo, track: httpx.Client
) -> None:
    assert track.get("/api/v1/accounts/region").status_code == 200
    bad = [
        None,
        basic(info.site_id, "0" * 20),
        basic("0" * 20, info.track_api_key),
        basic(info.track_api_key, info.site_id),
        f"Bearer {info.app_api_key}",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(info.site_id.encode()).decode(),  # no password
        "Digest username=x",
    ]
    with http(info.track_url) as client:
        for header in bad:
            headers = {} if header is None else {"Authorization": header}
            response = client.get("/api/v1/accounts/region", headers=headers)
            assert response.status_code == 401, header
            assert response.json() == {"meta": {"error": "Unauthorized request"}}


def test_revoked_track_keys_are_rejected(
    sandbox: Sandbox, info: SandboxInfo, admin: httpx.Client
) -> None:
    extra = sandbox.add_track_keys()
    assert isinstance(extra, KeySet)
    created = admin.post("/track-keys").json()
    assert set(created) == {"site_id", "track_api_key", "workspace_id"}
    with http(info.track_url) as client:
        for site_id, key in (
            (extra.site_id, extra.track_api_key),
            (created["site_id"], created["track_api_key"]),
        ):
            auth = {"Authorization": basic(site_id, key)}
            assert client.get("/api/v1/accounts/region", headers=auth).status_code == 200
        sandbox.revoke_track_keys(extra.site_id)
        assert admin.delete(f"/track-keys/{created['site_id']}").status_code == 204
        for site_id, key in (
            (extra.site_id, extra.track_api_key),
            (created["site_id"], created["track_api_key"]),
        ):
            auth = {"Authorization": basic(site_id, key)}
            assert client.get("/api/v1/accounts/region", headers=auth).status_code == 401
        # The default pair is untouched.
        auth = {"Authorization": basic_auth(info)}
        assert client.get("/api/v1/accounts/region", headers=auth).status_code == 200
    assert admin.delete(f"/track-keys/{created['site_id']}").status_code == 404
    with pytest.raises(KeyError):
        sandbox.revoke_track_keys(extra.site_id)


def test_bearer_auth_accepts_app_keys_and_rejects_revoked_ones(
    sandbox: Sandbox, info: SandboxInfo, admin: httpx.Client
) -> None:
    in_process = sandbox.add_app_key()
    created = admin.post("/app-keys", json={}).json()
    assert set(created) == {"app_api_key", "workspace_id"}
    assert created["workspace_id"] == 1001
    with http(info.app_url) as client:
        for key in (info.app_api_key, in_process, created["app_api_key"]):
            bearer = {"Authorization": f"Bearer {key}"}
            assert client.get("/v1/workspaces", headers=bearer).status_code == 200
        for header in (None, "Bearer " + "0" * 32, basic_auth(info), "Bearer"):
            headers = {} if header is None else {"Authorization": header}
            response = client.get("/v1/workspaces", headers=headers)
            assert response.status_code == 401
            assert response.json() == {"meta": {"error": "Unauthorized request"}}
        sandbox.revoke_app_key(in_process)
        assert admin.delete(f"/app-keys/{created['app_api_key']}").status_code == 204
        for key in (in_process, created["app_api_key"]):
            bearer = {"Authorization": f"Bearer {key}"}
            assert client.get("/v1/workspaces", headers=bearer).status_code == 401
    assert admin.delete(f"/app-keys/{in_process}").status_code == 404
    with pytest.raises(KeyError):
        sandbox.revoke_app_key(in_process)


def test_region_endpoint_answers_for_the_keys_workspace(
    sandbox: Sandbox, info: SandboxInfo, admin: httpx.Client, track: httpx.Client
) -> None:
    assert track.get("/api/v1/accounts/region").json() == {
        "url": info.track_url,
        "region": "us",
        "environment_id": 1001,
    }
    eu = sandbox.add_track_keys(workspace_id=2002, region="eu")
    same_ws = sandbox.add_track_keys(workspace_id=2002)
    posted = admin.post("/track-keys", json={"workspace_id": 3003, "region": "eu"}).json()
    assert posted["workspace_id"] == 3003
    expected = [(eu, 2002), (same_ws, 2002)]
    with http(info.track_url) as client:
        for keys, workspace_id in expected:
            auth = {"Authorization": basic(keys.site_id, keys.track_api_key)}
            doc = client.get("/api/v1/accounts/region", headers=auth).json()
            assert doc == {"url": info.track_url_eu, "region": "eu", "environment_id": workspace_id}
        auth = {"Authorization": basic(posted["site_id"], posted["track_api_key"])}
        doc = client.get("/api/v1/accounts/region", headers=auth).json()
        assert (doc["region"], doc["environment_id"]) == ("eu", 3003)
    eu_app = sandbox.add_app_key(workspace_id=2002, region="eu")
    with http(info.app_url_eu) as client:
        workspaces = client.get(
            "/v1/workspaces", headers={"Authorization": f"Bearer {eu_app}"}
        ).json()
    assert workspaces == {
        "workspaces": [
            {
                "id": 2002,
                "name": "Sandbox workspace 2002",
                "people": 0,
                "messages_sent": 0,
            }
        ]
    }


def test_workspace_arguments_are_validated(sandbox: Sandbox, admin: httpx.Client) -> None:
    with pytest.raises(ValueError, match="region us"):
        sandbox.add_track_keys(workspace_id=1001, region="eu")
    with pytest.raises(ValueError, match="region must be"):
        sandbox.add_app_key(region="mars")
    assert sandbox.add_app_key(workspace_id=1001, region="us")
    bodies: list[object] = [
        {"workspace_id": 1001, "region": "eu"},
        {"region": "mars"},
        {"workspace_id": "1001"},
        {"workspace_id": True},
        {"region": 1},
        {"colour": "blue"},
        [],
    ]
    for body in bodies:
        for resource in ("/track-keys", "/app-keys"):
            response = admin.post(resource, json=body)
            assert response.status_code == 400, (resource, body)
            assert "error" in response.json()["meta"]


# --- request log ----------------------------------------------------------------------


def test_request_log_records_api_requests_without_keys(
    sandbox: Sandbox, info: SandboxInfo, track: httpx.Client, app: httpx.Client, admin: httpx.Client
) -> None:
    track.put("/api/v1/customers/a%2Fb?x=%20y", json={"plan": "pro"})
    app.get("/v1/customers", params={"email": "a@example.com"})
    admin.get("/people")  # not recorded
    with http(info.track_url) as anonymous:
        anonymous.get("/api/v1/accounts/region")
        anonymous.get("/api/v1/accounts/region", headers={"Authorization": "Token abc"})
        anonymous.get(
            "/api/v1/accounts/region",
            headers={"Authorization": basic(info.track_api_key, info.site_id)},
        )
        anonymous.get("/api/v1/accounts/region", headers={"Authorization": "Basic %%%"})
        anonymous.post(
            "/api/v1/customers/x/events",
            content=b"\xff\xfe",
            headers={"Authorization": basic_auth(info)},
        )
    doc = admin.get("/requests").json()
    recorded = doc["requests"]
    assert [entry["seq"] for entry in recorded] == [1, 2, 3, 4, 5, 6, 7]
    first = recorded[0]
    assert first == {
        "seq": 1,
        "time": first["time"],
        "method": "PUT",
        "path": "/api/v1/customers/a%2Fb",
        "query": "x=%20y",
        "status": 200,
        "auth": f"basic:{info.site_id}",
        "body": '{"plan":"pro"}',
        "identifier": "a/b",
    }
    assert abs(first["time"] - time.time()) < 60
    assert recorded[1]["auth"] == f"bearer:{info.app_api_key[:4]}…"
    assert recorded[1]["query"] == "email=a%40example.com"
    assert recorded[1]["identifier"] is None
    assert [entry["auth"] for entry in recorded[2:6]] == [
        "none",
        "other",
        f"basic:{info.track_api_key[:4]}…",
        "basic:invalid",
    ]
    assert recorded[6]["body"] == "\ufffd\ufffd"
    assert recorded[6]["status"] == 400
    in_process = sandbox.requests()
    assert [entry.to_json() for entry in in_process] == recorded
    assert isinstance(in_process[0], RecordedRequest)
    assert in_process[0].body == b'{"plan":"pro"}'
    dumped = json.dumps(doc)
    token = basic_auth(info).split()[1]
    for secret in (info.track_api_key, info.app_api_key, token, info.webhook_signing_key):
        assert secret not in dumped
    assert [e["seq"] for e in admin.get("/requests", params={"since": 5}).json()["requests"]] == [
        6,
        7,
    ]
    assert admin.get("/requests", params={"since": "x"}).status_code == 400


def test_request_log_is_bounded_and_can_be_cleared() -> None:
    with Sandbox(request_log_limit=3) as small:
        info = small.info
        with http(info.track_url, auth=(info.site_id, info.track_api_key)) as c:
            for i in range(5):
                c.delete(f"/api/v1/customers/{i}")
        assert [r.seq for r in small.requests()] == [3, 4, 5]
        assert [r.identifier for r in small.requests()] == ["2", "3", "4"]
        with http(info.admin_url) as small_admin:
            assert small_admin.delete("/requests").status_code == 204
            assert small_admin.get("/requests").json() == {"requests": []}
            with http(info.track_url) as c:
                c.get("/api/v1/accounts/region")
            assert [r.seq for r in small.requests()] == [6]
        small.clear_requests()
        assert small.requests() == []
