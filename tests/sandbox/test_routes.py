"""Dispatch: unknown paths and methods, the admin interface, faults."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from cio_sec.sandbox import Faults, Sandbox, SandboxInfo
from tests.sandbox.helpers import (
    RawConnection,
    basic_auth,
    http,
    people,
)

pytestmark = pytest.mark.timeout(30)


# --- routing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api",
        "/api/v1",
        "/api/v1/customers",
        "/api/v1/customers/1/unknown",
        "/api/v1/customers/1/events/x",
        "/api/v1/accounts",
        "/api/v1/accounts/region/x",
        "/api/v2/batch/x",
        "/api/v2/entity",
        "/api/v3/batch",
        "/v1",
        "/v1/customers/1",
        "/v1/customers/1/segments",
        "/v1/workspaces/1",
        "/v2/workspaces",
        "/_sandboxes",
    ],
)
def test_unknown_api_paths_are_404(track: httpx.Client, path: str) -> None:
    response = track.get(path)
    assert response.status_code == 404
    assert response.json() == {"meta": {"error": "not found"}}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/api/v1/accounts/region", "GET"),
        ("GET", "/api/v1/customers/1", "PUT, DELETE"),
        ("GET", "/api/v1/customers/1/suppress", "POST"),
        ("PUT", "/api/v2/batch", "POST"),
        ("DELETE", "/v1/workspaces", "GET"),
        ("PUT", "/v1/customers", "GET, POST"),
        ("PATCH", "/_sandbox/faults", "GET, PUT"),
        ("GET", "/_sandbox/track-keys", "POST"),
        ("POST", "/_sandbox/app-keys/abc", "DELETE"),
        ("POST", "/_sandbox/people", "GET"),
        ("POST", "/_sandbox/requests", "GET, DELETE"),
        ("DELETE", "/_sandbox/info", "GET"),
    ],
)
def test_wrong_method_is_405(track: httpx.Client, method: str, path: str, allow: str) -> None:
    response = track.request(method, path, content=b"")
    assert response.status_code == 405
    assert response.json() == {"meta": {"error": "method not allowed"}}
    assert response.headers["allow"] == allow


@pytest.mark.parametrize(
    "path",
    ["/_sandbox", "/_sandbox/", "/_sandbox/nope", "/_sandbox/track-keys/", "/_sandbox/a/b/c"],
)
def test_unknown_admin_paths_are_404(track: httpx.Client, path: str) -> None:
    assert track.get(path).status_code == 404


def test_admin_info_and_people_of_other_workspaces(
    sandbox: Sandbox, info: SandboxInfo, admin: httpx.Client
) -> None:
    assert admin.get("/info").json() == info.to_json()
    keys = sandbox.add_track_keys(workspace_id=2002)
    with http(info.track_url, auth=(keys.site_id, keys.track_api_key)) as c:
        c.put("/api/v1/customers/eu-1", json={})
    assert [p["id"] for p in people(admin, 2002)["people"]] == ["eu-1"]
    assert people(admin)["people"] == []
    assert sandbox.people(2002) == people(admin, 2002)
    assert sandbox.people() == people(admin)
    assert admin.get("/people", params={"workspace_id": 9}).status_code == 404
    assert admin.get("/people", params={"workspace_id": "x"}).status_code == 400
    with pytest.raises(ValueError, match="no workspace 9"):
        sandbox.people(9)


def test_people_returns_a_detached_copy(sandbox: Sandbox, track: httpx.Client) -> None:
    track.put("/api/v1/customers/1", json={"nested": {"a": [1]}})
    doc: dict[str, Any] = sandbox.people()
    doc["people"][0]["attributes"]["nested"]["a"].append(2)
    again: dict[str, Any] = sandbox.people()
    assert again["people"][0]["attributes"] == {"nested": {"a": [1]}}


# --- faults ---------------------------------------------------------------------------


def test_faults_json_round_trip_and_validation() -> None:
    faults = Faults(error_rate=0.5, retry_after=None, rate_limit=10, seed=3)
    assert Faults.from_json(json.loads(json.dumps(faults.to_json()))) == faults
    assert Faults.from_json({}) == Faults()
    assert not Faults().active
    assert Faults(latency_ms=1).active
    assert Faults(rate_limit=1).active
    docs: list[object] = [
        [],
        {"typo": 1},
        {"error_rate": "0.5"},
        {"error_rate": True},
        {"error_rate": None},
        {"error_status": 503.0},
        {"error_status": None},
        {"seed": "x"},
        {"error_rate": 1.5},
        {"throttle_rate": -0.1},
        {"drop_rate": 2},
        {"error_status": 200},
        {"retry_after": -1},
        {"latency_ms": -1},
        {"latency_ms": float("inf")},
        {"latency_ms": 1e300},  # accepted once, after which every request hung
        {"delete_lag_ms": 3_600_001},
        {"retry_after": 1e300},
        {"rate_limit": 0},
    ]
    for doc in docs:
        with pytest.raises(ValueError, match="faults"):
            Faults.from_json(doc)


def test_faults_are_set_and_read_through_admin(
    sandbox: Sandbox, admin: httpx.Client, track: httpx.Client
) -> None:
    response = admin.put("/faults", json={"error_rate": 1, "error_status": 500})
    assert response.status_code == 200
    assert response.json() == {**Faults().to_json(), "error_rate": 1.0, "error_status": 500}
    assert admin.get("/faults").json() == response.json()
    assert sandbox.faults == Faults(error_rate=1.0, error_status=500)
    failed = track.get("/api/v1/accounts/region")
    assert failed.status_code == 500
    assert failed.json() == {"meta": {"error": "injected sandbox fault"}}
    # Admin requests never see faults.
    assert admin.get("/people").status_code == 200
    for bad in ({"error_rate": 7}, {"nope": 1}, [1]):
        refused = admin.put("/faults", json=bad)
        assert refused.status_code == 400
        assert "faults" in refused.json()["meta"]["error"]
    assert admin.put("/faults", content=b"").json() == Faults().to_json()
    assert track.get("/api/v1/accounts/region").status_code == 200


@pytest.mark.parametrize(
    ("retry_after", "header"), [(1.0, "1"), (2.5, "3"), (0.0, "0"), (None, None)]
)
def test_throttle_answers_429_with_retry_after(
    sandbox: Sandbox, app: httpx.Client, retry_after: float | None, header: str | None
) -> None:
    sandbox.set_faults(Faults(throttle_rate=1.0, retry_after=retry_after))
    response = app.get("/v1/workspaces")
    assert response.status_code == 429
    assert response.headers.get("retry-after") == header


def test_error_injection_uses_the_configured_status(
    sandbox: Sandbox, track: httpx.Client, app: httpx.Client
) -> None:
    sandbox.set_faults(Faults(error_rate=1.0))
    assert track.delete("/api/v1/customers/1").status_code == 503
    assert app.get("/v1/workspaces").status_code == 503
    sandbox.set_faults(Faults(error_rate=1.0, error_status=502))
    assert track.delete("/api/v1/customers/1").status_code == 502


def test_latency_delays_api_responses(sandbox: Sandbox, track: httpx.Client) -> None:
    sandbox.set_faults(Faults(latency_ms=150))
    began = time.monotonic()
    assert track.get("/api/v1/accounts/region").status_code == 200
    assert time.monotonic() - began >= 0.15


def test_dropped_requests_are_disconnects(
    sandbox: Sandbox, info: SandboxInfo, track: httpx.Client
) -> None:
    sandbox.set_faults(Faults(drop_rate=1.0, error_rate=1.0))
    with pytest.raises(httpx.TransportError):
        track.delete("/api/v1/customers/dropped")
    with RawConnection(sandbox.port) as conn:
        conn.send(b"GET /api/v1/accounts/region HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.at_eof()
    recorded = sandbox.requests()
    assert [r.status for r in recorded][-2:] == [0, 0]
    assert recorded[-2].identifier == "dropped"
    assert recorded[-2].auth == f"basic:{info.site_id}"


def test_partial_drop_rate_drops_some_requests(sandbox: Sandbox, info: SandboxInfo) -> None:
    sandbox.set_faults(Faults(drop_rate=0.5, seed=5))
    outcomes = []
    for _ in range(20):
        with RawConnection(sandbox.port) as conn:
            try:
                outcomes.append(conn.request("GET", "/api/v1/accounts/region", basic_auth(info)))
            except ConnectionError:
                outcomes.append(0)
    assert set(outcomes) == {0, 200}
    assert [r.status for r in sandbox.requests()] == outcomes


def test_rate_limit_answers_429_beyond_the_rate(sandbox: Sandbox, track: httpx.Client) -> None:
    sandbox.set_faults(Faults(rate_limit=2.0))  # burst 1, one token every 0.5 s
    statuses = [track.get("/api/v1/accounts/region") for _ in range(6)]
    assert statuses[0].status_code == 200
    limited = [r for r in statuses if r.status_code == 429]
    assert limited
    assert all(r.headers["retry-after"] == "1" for r in limited)
    assert limited[0].json() == {"meta": {"error": "rate limit exceeded"}}
    time.sleep(0.6)
    assert track.get("/api/v1/accounts/region").status_code == 200


def test_fault_order_is_rate_limit_then_throttle_then_error(
    sandbox: Sandbox, track: httpx.Client
) -> None:
    sandbox.set_faults(Faults(rate_limit=0.5, throttle_rate=1.0, error_rate=1.0, retry_after=None))
    first = track.get("/api/v1/accounts/region")  # the one token passes the limiter...
    assert (first.status_code, first.headers.get("retry-after")) == (429, None)  # ...throttled
    second = track.get("/api/v1/accounts/region")  # no token: the limiter answers
    assert (second.status_code, second.headers.get("retry-after")) == (429, "2")


def test_seeded_faults_are_reproducible(sandbox: Sandbox, track: httpx.Client) -> None:
    def run() -> list[int]:
        sandbox.set_faults(Faults(error_rate=0.5, throttle_rate=0.2, seed=42))
        return [track.get("/api/v1/accounts/region").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert {200, 503} <= set(first)
