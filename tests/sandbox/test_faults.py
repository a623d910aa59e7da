"""Faults that make the sandbox as unkind as Customer.io: lost and lagging deletes, the App
API's own rate limit, edge timeouts, redirects."""

from __future__ import annotations

import time

import httpx
import pytest

from cio_sec.sandbox import Faults, Sandbox, SandboxInfo
from tests.sandbox.helpers import people, person_ids

pytestmark = pytest.mark.timeout(30)


def _batch(action: str, *ids: str) -> dict[str, object]:
    return {
        "batch": [
            {"type": "person", "identifiers": {"id": value}, "action": action} for value in ids
        ]
    }


def _seed(sandbox: Sandbox, *ids: str) -> None:
    for value in ids:
        sandbox.add_person(value, {"email": f"{value}@example.com"})


def test_new_faults_round_trip_and_are_validated(admin: httpx.Client) -> None:
    faults = Faults(
        ignore_delete_rate=0.25,
        delete_lag_ms=1500,
        app_rate_limit=10,
        redirect_rate=0.5,
        app_wrong_region="redirect",
        error_status=524,
    )
    assert Faults.from_json(faults.to_json()) == faults
    assert Faults(app_rate_limit=10).active
    assert Faults(redirect_rate=0.1).active
    # Handler-level faults need no pre-handler pass.
    assert not Faults(ignore_delete_rate=1, delete_lag_ms=5, app_wrong_region="redirect").active
    for doc in (
        {"ignore_delete_rate": 1.01},
        {"redirect_rate": -0.5},
        {"delete_lag_ms": -1},
        {"delete_lag_ms": float("inf")},
        {"app_rate_limit": 0},
        {"app_rate_limit": "10"},
        {"app_wrong_region": "teleport"},
        {"app_wrong_region": 301},
        {"ignore_delete_rate": None},
    ):
        with pytest.raises(ValueError, match="faults"):
            Faults.from_json(doc)
        if doc.get("delete_lag_ms") == float("inf"):
            continue  # not JSON: httpx refuses to send it
        refused = admin.put("/faults", json=doc)
        assert refused.status_code == 400
        assert "faults." in refused.json()["meta"]["error"]
    set_ = admin.put("/faults", json={"app_rate_limit": None, "delete_lag_ms": 250})
    assert set_.json()["delete_lag_ms"] == 250.0


# --- deletes that lie -----------------------------------------------------------------


def test_ignored_deletes_and_suppresses_answer_200_and_change_nothing(
    sandbox: Sandbox, track: httpx.Client, admin: httpx.Client
) -> None:
    _seed(sandbox, "v1-del", "v1-sup", "b-del", "b-sup")
    sandbox.set_faults(Faults(ignore_delete_rate=1.0))
    assert track.delete("/api/v1/customers/v1-del").json() == {}
    assert track.post("/api/v1/customers/v1-sup/suppress").json() == {}
    assert track.post("/api/v2/batch", json=_batch("delete", "b-del")).status_code == 200
    assert track.post("/api/v2/batch", json=_batch("suppress", "b-sup")).status_code == 200
    doc = people(admin)
    assert [person["id"] for person in doc["people"]] == ["v1-del", "v1-sup", "b-del", "b-sup"]
    assert (doc["suppressed"], doc["deleted"]) == ([], [])
    # The fault touches nothing else: identifies still apply.
    assert track.put("/api/v1/customers/new", json={}).status_code == 200
    assert "new" in person_ids(admin)
    sandbox.set_faults(Faults())
    assert track.post("/api/v1/customers/v1-sup/suppress").status_code == 200
    assert "v1-sup" not in person_ids(admin)


def test_a_partial_ignore_rate_loses_some_deletes_reproducibly(
    sandbox: Sandbox, track: httpx.Client, admin: httpx.Client
) -> None:
    ids = [f"p{i}" for i in range(40)]

    def survivors() -> list[object]:
        _seed(sandbox, *ids)
        sandbox.set_faults(Faults(ignore_delete_rate=0.5, seed=7))
        assert track.post("/api/v2/batch", json=_batch("suppress", *ids)).status_code == 200
        left = person_ids(admin)
        # Unsuppress and clear the survivors, so a second run starts from the same place.
        sandbox.set_faults(Faults())
        for value in ids:
            track.post(f"/api/v1/customers/{value}/unsuppress")
            track.post(f"/api/v1/customers/{value}%40example.com/unsuppress")
            track.delete(f"/api/v1/customers/{value}")
        return left

    first = survivors()
    assert 0 < len(first) < len(ids)
    assert survivors() == first


# --- deletes that lag -----------------------------------------------------------------


def test_a_deleted_person_stays_visible_to_the_app_api_for_the_lag(
    sandbox: Sandbox, track: httpx.Client, app: httpx.Client, admin: httpx.Client
) -> None:
    _seed(sandbox, "slow", "slow-too", "quick")
    sandbox.set_faults(Faults(delete_lag_ms=60_000))
    track.delete("/api/v1/customers/slow")
    track.post("/api/v2/batch", json=_batch("suppress", "slow-too"))
    # Gone from the workspace (the admin view is the truth) ...
    assert person_ids(admin) == ["quick"]
    # ... but the App API still sees them: read-back, email lookup and search.
    for path in ("/v1/customers/slow/attributes", "/v1/customers/slow-too/attributes"):
        assert app.get(path).status_code == 200
    email = app.get("/v1/customers", params={"email": "SLOW@example.com"}).json()
    assert [found["id"] for found in email["results"]] == ["slow"]
    everyone = {"filter": {"attribute": {"field": "email", "operator": "exists"}}}
    listed = app.post("/v1/customers", json=everyone).json()
    assert sorted(listed["ids"]) == ["quick", "slow", "slow-too"]
    # A lag of 1 ms has passed by the time anyone asks.
    sandbox.set_faults(Faults(delete_lag_ms=1))
    track.delete("/api/v1/customers/quick")
    time.sleep(0.01)
    assert app.get("/v1/customers/quick/attributes").status_code == 404
    # Re-creating a lagging person shows the new profile, not the old one.
    track.put("/api/v1/customers/slow", json={"plan": "new"})
    customer = app.get("/v1/customers/slow/attributes").json()["customer"]
    assert customer["attributes"] == {"plan": "new", "id": "slow", "cio_id": "a3000004"}


def test_without_lag_a_deleted_person_is_404_at_once(
    sandbox: Sandbox, track: httpx.Client, app: httpx.Client
) -> None:
    _seed(sandbox, "gone")
    assert app.get("/v1/customers/gone/attributes").status_code == 200
    track.post("/api/v1/customers/gone/suppress")
    assert app.get("/v1/customers/gone/attributes").status_code == 404
    assert app.get("/v1/customers", params={"email": "gone@example.com"}).json() == {"results": []}


# --- the App API's own rate limit -----------------------------------------------------


def test_app_rate_limit_answers_429_like_the_app_api_and_spares_track(
    sandbox: Sandbox, track: httpx.Client, app: httpx.Client
) -> None:
    sandbox.set_faults(Faults(app_rate_limit=2.0))  # burst 2 (one second), a token every 0.5 s
    answers = [app.get("/v1/workspaces") for _ in range(4)]
    assert answers[0].status_code == 200
    limited = [answer for answer in answers if answer.status_code == 429]
    assert limited
    assert limited[0].json() == {
        "errors": [{"detail": "rate limited to 2 requests per 1s", "status": "429"}]
    }
    assert all(int(answer.headers["retry-after"]) >= 1 for answer in limited)
    # Track requests draw from another bucket (none here): never limited.
    assert {track.get("/api/v1/accounts/region").status_code for _ in range(20)} == {200}
    time.sleep(0.6)
    assert app.get("/v1/workspaces").status_code == 200


# --- edge timeouts, 429 without Retry-After, redirects --------------------------------


@pytest.mark.parametrize("status", [522, 524])
def test_edge_timeouts_answer_html(sandbox: Sandbox, track: httpx.Client, status: int) -> None:
    sandbox.set_faults(Faults(error_rate=1.0, error_status=status))
    response = track.delete("/api/v1/customers/1")
    assert response.status_code == status
    assert response.headers["content-type"] == "text/html; charset=UTF-8"
    assert response.text.startswith("<!DOCTYPE html>")
    assert f"Error {status}" in response.text


def test_retry_after_null_sends_429_without_the_header(
    admin: httpx.Client, track: httpx.Client
) -> None:
    assert admin.put("/faults", json={"throttle_rate": 1, "retry_after": None}).status_code == 200
    response = track.get("/api/v1/accounts/region")
    assert response.status_code == 429
    assert "retry-after" not in response.headers


def test_redirects_point_at_another_host_and_do_nothing(
    sandbox: Sandbox, info: SandboxInfo, track: httpx.Client, admin: httpx.Client
) -> None:
    _seed(sandbox, *(f"r{i}" for i in range(12)))
    sandbox.set_faults(Faults(redirect_rate=1.0, seed=3))
    statuses = set()
    for i in range(12):
        response = track.delete(f"/api/v1/customers/r{i}", params={"x": "1"})
        statuses.add(response.status_code)
        assert response.headers["location"] == f"{info.track_url_eu}/api/v1/customers/r{i}?x=1"
        assert response.content == b""
        assert "content-type" not in response.headers
    assert statuses == {301, 302}
    assert len(person_ids(admin)) == 12
    with httpx.Client(base_url=info.track_url_eu, auth=(info.site_id, info.track_api_key)) as eu:
        redirected = eu.get("/api/v1/accounts/region")
    assert redirected.headers["location"] == f"{info.track_url}/api/v1/accounts/region"
    assert [request.status for request in sandbox.requests()][-1] in (301, 302)


def test_lagging_people_are_found_by_cio_id_and_forgotten_after_the_lag(
    sandbox: Sandbox, track: httpx.Client, app: httpx.Client
) -> None:
    _seed(sandbox, "a", "b", "c")
    sandbox.set_faults(Faults(delete_lag_ms=1))
    track.delete("/api/v1/customers/b")
    time.sleep(0.01)
    track.delete("/api/v1/customers/c")  # a later deletion drops expired ones
    sandbox.set_faults(Faults(delete_lag_ms=60_000))
    track.delete("/api/v1/customers/a")
    time.sleep(0.01)
    by_cio_id = app.get("/v1/customers/cio_a3000001/attributes", params={"id_type": "cio_id"})
    assert by_cio_id.json()["customer"]["id"] == "a"
    everyone = {"filter": {"attribute": {"field": "id", "operator": "exists"}}}
    assert app.post("/v1/customers", json=everyone).json()["ids"] == ["a"]


def test_the_app_limit_is_per_second_so_a_seconds_worth_may_come_together(
    sandbox: Sandbox, app: httpx.Client
) -> None:
    """ "10 requests per second" lets ten come at once, then one more every 0.1 s."""
    sandbox.set_faults(Faults(app_rate_limit=5.0))
    answers = [app.get("/v1/workspaces").status_code for _ in range(6)]
    assert answers[:5] == [200] * 5
    assert answers[5] == 429
