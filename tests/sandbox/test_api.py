"""The Track v2 batch endpoint and the App API lookups."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx
import pytest

from cio_sec.sandbox import Sandbox
from tests.sandbox.helpers import (
    people,
    person_ids,
)

pytestmark = pytest.mark.timeout(30)


# --- v2 batch -------------------------------------------------------------------------


def item(action: str, **identifiers: object) -> dict[str, object]:
    return {"type": "person", "identifiers": identifiers, "action": action}


def test_batch_all_valid_is_200(track: httpx.Client, admin: httpx.Client) -> None:
    batch = [
        {**item("identify", id="1"), "attributes": {"email": "one@example.com", "plan": "pro"}},
        item("identify", email="two@example.com"),
        item("identify", id=3),
        item("delete", email="TWO@example.com"),
        item("suppress", cio_id="a3000003"),
        item("unsuppress", id="never-suppressed"),
        item("identify", cio_id="ffffff"),
    ]
    response = track.post("/api/v2/batch", json={"batch": batch})
    assert (response.status_code, response.json()) == (200, {})
    doc = people(admin)
    assert doc["people"] == [
        {"id": "1", "email": "one@example.com", "cio_id": "a3000001", "attributes": {"plan": "pro"}}
    ]
    assert doc["deleted"] == ["TWO@example.com"]
    assert doc["suppressed"] == ["3", "cio_a3000003"]
    assert track.post("/api/v2/batch", json={"batch": []}).status_code == 200


def test_batch_applies_valid_items_and_reports_invalid_ones(
    track: httpx.Client, admin: httpx.Client
) -> None:
    track.put("/api/v1/customers/taken", json={})
    batch: list[object] = [
        item("identify", id="ok-0"),
        "not an object",
        {"type": "object", "identifiers": {"id": "1"}, "action": "identify"},
        item("explode", id="1"),
        {"type": "person", "action": "delete"},
        item("delete"),
        item("delete", id="1", email="a@example.com"),
        item("delete", phone="+15555550100"),
        item("delete", id=""),
        item("delete", id=True),
        item("delete", email=5),
        item("delete", id="x" * 151),
        {**item("identify", id="big"), "attributes": {"blob": "x" * (33 * 1024)}},
        {**item("identify", id="bad-attrs"), "attributes": ["not", "an", "object"]},
        {**item("identify", id="clash"), "attributes": {"id": "taken"}},
        item("suppress", id="ok-0"),
    ]
    response = track.post("/api/v2/batch", json={"batch": batch})
    assert response.status_code == 207
    errors = response.json()["errors"]
    assert [error["batch_index"] for error in errors] == list(range(1, 15))
    assert {tuple(sorted(error)) for error in errors} == {
        ("batch_index", "field", "message", "reason")
    }
    by_index = {error["batch_index"]: (error["reason"], error["field"]) for error in errors}
    assert by_index[1] == ("invalid", "item")
    assert by_index[2] == ("unsupported", "type")
    assert by_index[3] == ("unsupported", "action")
    assert by_index[4] == ("required", "identifiers")
    assert by_index[7] == ("invalid", "identifiers")
    assert by_index[8] == ("invalid", "identifiers.id")
    assert by_index[10] == ("invalid", "identifiers.email")
    assert by_index[11] == ("too_long", "identifiers.id")
    assert by_index[12] == ("too_large", "item")
    assert by_index[13] == ("invalid", "attributes")
    assert by_index[14] == ("invalid", "attributes")
    doc = people(admin)
    assert person_ids(admin) == ["taken"]
    assert doc["suppressed"] == ["ok-0"]


@pytest.mark.parametrize(
    "body",
    [b"{oops", b"[]", b'{"batch": {"type": "person"}}', b'{"nobatch": []}', b""],
)
def test_batch_rejects_a_malformed_request_as_a_whole(track: httpx.Client, body: bytes) -> None:
    response = track.post("/api/v2/batch", content=body)
    assert response.status_code == 400
    assert response.json()["meta"]["errors"]


def test_batch_over_500_kb_is_413(track: httpx.Client, admin: httpx.Client) -> None:
    batch = [item("delete", id=f"{i:0>140}") for i in range(3_500)]
    body = json.dumps({"batch": batch}).encode()
    assert len(body) > 500 * 1024
    response = track.post("/api/v2/batch", content=body)
    assert response.status_code == 413
    assert response.json()["meta"]["errors"]
    assert people(admin)["deleted"] == []
    # The connection survives a 413 on a fully read body.
    assert track.get("/api/v1/accounts/region").status_code == 200


# --- App API --------------------------------------------------------------------------


def test_app_lookups(track: httpx.Client, app: httpx.Client) -> None:
    track.put("/api/v1/customers/42", json={"email": "Ada+tag@Example.com", "plan": "pro"})
    track.put("/api/v1/customers/43", json={})
    assert app.get("/v1/workspaces").json()["workspaces"][0]["people"] == 2
    found = app.get("/v1/customers", params={"email": "ada+TAG@example.com"})
    assert found.json() == {
        "results": [{"email": "Ada+tag@Example.com", "id": "42", "cio_id": "a3000001"}]
    }
    # An unencoded "+" is a space in a query string, so it finds nobody (as in production).
    assert app.get("/v1/customers?email=ada+tag@example.com").json() == {"results": []}
    expected = {
        "customer": {
            "id": "42",
            "identifiers": {"email": "Ada+tag@Example.com", "id": "42", "cio_id": "a3000001"},
            "attributes": {
                "plan": "pro",
                "email": "Ada+tag@Example.com",
                "id": "42",
                "cio_id": "a3000001",
            },
        }
    }
    for path, params in (
        ("/v1/customers/42/attributes", {}),
        ("/v1/customers/42/attributes", {"id_type": "id"}),
        (f"/v1/customers/{quote('ADA+tag@example.com', safe='')}/attributes", {"id_type": "email"}),
        ("/v1/customers/a3000001/attributes", {"id_type": "cio_id"}),
        ("/v1/customers/cio_a3000001/attributes", {"id_type": "cio_id"}),
    ):
        response = app.get(path, params=params)
        assert (response.status_code, response.json()) == (200, expected), path
    missing = app.get("/v1/customers/nobody/attributes")
    assert missing.status_code == 404
    assert missing.json() == {"meta": {"error": "person not found"}}


@pytest.mark.parametrize(
    "target",
    [
        "/v1/customers",
        "/v1/customers?email=",
        "/v1/customers?email=%FF",
        "/v1/customers/42/attributes?id_type=phone",
        "/v1/customers/42/attributes?id_type=nope",
        "/v1/customers/%FF/attributes",
        "/v1/customers/%20%20/attributes?id_type=email&id_type=bogus",
    ],
)
def test_app_lookups_reject_bad_queries(app: httpx.Client, target: str) -> None:
    response = app.get(target)
    assert response.status_code == 400
    assert response.json()["meta"]


# --- read-back, as the App API answers it ---------------------------------------------


def test_read_back_answers_the_documented_customer_document(
    sandbox: Sandbox, track: httpx.Client, app: httpx.Client
) -> None:
    track.put("/api/v1/customers/7", json={"plan": "pro"})  # no email
    response = app.get("/v1/customers/7/attributes", params={"id_type": "id"})
    assert response.status_code == 200
    assert response.json() == {
        "customer": {
            "id": "7",
            "identifiers": {"email": None, "id": "7", "cio_id": "a3000001"},
            # Absent identifiers are not attributes.
            "attributes": {"plan": "pro", "id": "7", "cio_id": "a3000001"},
        }
    }


def test_read_back_is_404_once_deleted_and_400_for_a_disabled_id_type(
    sandbox: Sandbox, track: httpx.Client, app: httpx.Client
) -> None:
    sandbox.add_person("ann@example.com", {"id": "ann"})
    email = f"/v1/customers/{quote('ann@example.com', safe='')}/attributes"
    assert app.get(email, params={"id_type": "email"}).status_code == 200
    track.delete("/api/v1/customers/ann%40example.com")
    for path, params in (
        (email, {"id_type": "email"}),
        ("/v1/customers/ann/attributes", {}),
        ("/v1/customers/a3000001/attributes", {"id_type": "cio_id"}),
    ):
        gone = app.get(path, params=params)
        assert (gone.status_code, gone.json()) == (404, {"meta": {"error": "person not found"}})
    # Phone numbers are identifiers in no sandbox workspace.
    assert app.get("/v1/customers/%2B15550100/attributes?id_type=phone").status_code == 400
