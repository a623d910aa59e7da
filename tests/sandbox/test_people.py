"""People over the Track v1 API: identify, delete, suppress, unsuppress, events, identifiers."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cio_sec.sandbox import Sandbox, SandboxInfo
from tests.sandbox.helpers import (
    RawConnection,
    basic_auth,
    http,
    people,
    person_ids,
)

pytestmark = pytest.mark.timeout(30)


def test_identify_creates_then_updates_a_person(track: httpx.Client, admin: httpx.Client) -> None:
    assert (
        track.put("/api/v1/customers/42", json={"email": "Ada@Example.com", "plan": "pro"}).json()
        == {}
    )
    assert track.put("/api/v1/customers/42", json={"plan": None, "seats": 3}).status_code == 200
    assert (
        track.put("/api/v1/customers/ada%40example.com", json={"first_name": "Ada"}).status_code
        == 200
    )
    doc = people(admin)
    assert doc["people"] == [
        {
            "id": "42",
            "email": "Ada@Example.com",
            "cio_id": "a3000001",
            "attributes": {"seats": 3, "first_name": "Ada"},
        }
    ]
    # By cio_id (prefixed in paths): change the id; an int id is kept as a string.
    assert (
        track.put("/api/v1/customers/cio_a3000001", json={"id": 43, "cio_id": "x"}).status_code
        == 200
    )
    # An empty body is an empty object; updating an unknown cio_id creates nobody.
    assert track.put("/api/v1/customers/43").status_code == 200
    assert track.put("/api/v1/customers/cio_ffffff", json={"a": 1}).status_code == 200
    assert person_ids(admin) == ["43"]
    # Identify by email creates a person without an id; then an id is added.
    assert track.put("/api/v1/customers/bob%40example.com", json={}).status_code == 200
    assert track.put("/api/v1/customers/bob%40example.com", json={"id": "7"}).status_code == 200
    assert person_ids(admin) == ["43", "7"]
    assert track.put("/api/v1/customers/7", json={"email": None}).status_code == 200
    listed = people(admin)["people"]
    assert listed[1] == {"id": "7", "email": None, "cio_id": "a3000002", "attributes": {}}
    # An id can be removed as well, through another identifier.
    assert track.put("/api/v1/customers/carol%40example.com", json={"id": "c"}).status_code == 200
    assert track.put("/api/v1/customers/CAROL%40example.com", json={"id": None}).status_code == 200
    assert people(admin)["people"][2] == {
        "id": None,
        "email": "carol@example.com",
        "cio_id": "a3000003",
        "attributes": {},
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "request body is not valid JSON"),
        (b"[1, 2]", "request body must be a JSON object"),
        (b"[" * 100_000, "request body is not valid JSON"),
        (b'{"id": ["x"]}', "attribute id must be a string"),
        (b'{"email": 5}', "attribute email must be a string"),
        (b'{"email": "taken@example.com"}', "id or email already belongs to another person"),
        (b'{"id": "taken"}', "id or email already belongs to another person"),
    ],
)
def test_identify_rejects_bad_bodies(track: httpx.Client, body: bytes, message: str) -> None:
    assert (
        track.put("/api/v1/customers/taken", json={"email": "taken@example.com"}).status_code == 200
    )
    response = track.put("/api/v1/customers/someone", content=body)
    assert response.status_code == 400
    assert response.json() == {"meta": {"errors": [message]}}


def test_delete_removes_people_and_records_every_request(
    track: httpx.Client, admin: httpx.Client
) -> None:
    track.put("/api/v1/customers/1", json={})
    track.put("/api/v1/customers/two%40example.com", json={})
    track.put("/api/v1/customers/3", json={"email": "three@example.com"})
    for identifier in ("1", "TWO%40example.com", "cio_a3000003", "ghost"):
        response = track.delete(f"/api/v1/customers/{identifier}")
        assert (response.status_code, response.json()) == (200, {})
    doc = people(admin)
    assert doc["people"] == []
    assert doc["deleted"] == ["1", "TWO@example.com", "cio_a3000003", "ghost"]
    assert doc["suppressed"] == []


def test_suppress_deletes_and_blocks_until_unsuppressed(
    track: httpx.Client, admin: httpx.Client
) -> None:
    track.put("/api/v1/customers/42", json={"email": "Ada@Example.com"})
    track.put("/api/v1/customers/43", json={})
    assert track.post("/api/v1/customers/42/suppress").json() == {}
    assert track.post("/api/v1/customers/cio_a3000002/suppress").status_code == 200
    doc = people(admin)
    assert doc["people"] == []
    assert doc["suppressed"] == ["42", "43", "ada@example.com", "cio_a3000002"]
    assert doc["deleted"] == []
    # Suppressed identifiers are refused silently: 200, but nobody is created.
    for path, body in (
        ("/api/v1/customers/42", {}),
        ("/api/v1/customers/ADA%40example.com", {}),
        ("/api/v1/customers/99", {"email": "ada@example.com"}),
        ("/api/v1/customers/98", {"id": "43"}),
    ):
        assert track.put(path, json=body).status_code == 200
    assert people(admin)["people"] == []
    assert track.post("/api/v1/customers/42/unsuppress").json() == {}
    assert track.post("/api/v1/customers/42/unsuppress").status_code == 200
    assert track.put("/api/v1/customers/42", json={}).status_code == 200
    assert person_ids(admin) == ["42"]
    assert people(admin)["suppressed"] == ["43", "ada@example.com", "cio_a3000002"]


def test_events_are_counted_unless_suppressed(track: httpx.Client, admin: httpx.Client) -> None:
    assert track.post("/api/v1/customers/5/events", json={"name": "purchase"}).status_code == 200
    assert (
        track.post("/api/v1/customers/5/events", json={"name": "x", "data": {}}).status_code == 200
    )
    track.put("/api/v1/customers/6", json={})
    track.post("/api/v1/customers/6/suppress")
    assert track.post("/api/v1/customers/6/events", json={"name": "purchase"}).status_code == 200
    for body in ({}, {"name": ""}, {"name": 5}, {"name": "n" * 101}):
        response = track.post("/api/v1/customers/5/events", json=body)
        assert response.status_code == 400
        assert response.json()["meta"]["errors"]
    doc = people(admin)
    assert doc["events"] == 2
    assert doc["people"] == []  # events create nobody


IDENTIFIERS = [
    "a/b",
    "a?b#c",
    "100%",
    "..",
    ".",
    "with space",
    "plus+sign",
    "ünïcødé",
    "😀🚀",
    "semi;colon&amp=1",
    "ada+tag@example.com",
]


@pytest.mark.parametrize("identifier", IDENTIFIERS)
def test_identifiers_are_decoded_exactly_once(
    info: SandboxInfo, track: httpx.Client, admin: httpx.Client, sandbox: Sandbox, identifier: str
) -> None:
    encoded = quote(identifier, safe="").replace(".", "%2E")
    response = track.put(f"/api/v1/customers/{encoded}", json={"seen": True})
    assert response.status_code == 200
    recorded = sandbox.requests()[-1]
    assert recorded.path == f"/api/v1/customers/{encoded}"
    assert recorded.identifier == identifier
    (person,) = people(admin)["people"]
    assert person[("email" if "@" in identifier else "id")] == identifier
    assert track.post(f"/api/v1/customers/{encoded}/suppress").status_code == 200
    expected = identifier.lower() if "@" in identifier else identifier
    assert people(admin)["suppressed"] == [expected]


def test_percent_escapes_are_not_decoded_twice(track: httpx.Client, sandbox: Sandbox) -> None:
    track.delete("/api/v1/customers/%252F")
    assert sandbox.requests()[-1].identifier == "%2F"


def test_identifier_length_limit_is_150_bytes(track: httpx.Client, admin: httpx.Client) -> None:
    accepted = ["x" * 150, "é" * 75, "😀" * 37 + "xx"]
    refused = ["x" * 151, "é" * 75 + "x", "😀" * 38]
    for identifier in accepted:
        assert (
            track.put(f"/api/v1/customers/{quote(identifier, safe='')}", json={}).status_code == 200
        )
    for identifier in refused:
        response = track.put(f"/api/v1/customers/{quote(identifier, safe='')}", json={})
        assert response.status_code == 400
        assert response.json() == {"meta": {"errors": ["identifier is longer than 150 bytes"]}}
    assert person_ids(admin) == accepted
    response = track.put("/api/v1/customers/", json={})
    assert response.status_code == 400
    assert response.json() == {"meta": {"errors": ["identifier must not be empty"]}}


def test_identifier_must_be_utf8_but_auth_comes_first(
    info: SandboxInfo, track: httpx.Client, sandbox: Sandbox
) -> None:
    response = track.delete("/api/v1/customers/%FF%FE")
    assert response.status_code == 400
    assert sandbox.requests()[-1].identifier is None
    with http(info.track_url) as anonymous:
        assert anonymous.delete("/api/v1/customers/%FF").status_code == 401


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    identifier=st.text(min_size=1, max_size=150).map(
        lambda text: text.encode("utf-8")[:150].decode("utf-8", errors="ignore") or "x"
    )
)
def test_any_identifier_round_trips(sandbox: Sandbox, identifier: str) -> None:
    info = sandbox.info
    with RawConnection(sandbox.port) as conn:
        target = f"/api/v1/customers/{quote(identifier, safe='')}"
        assert conn.request("DELETE", target, basic_auth(info)) == 200
    assert 1 <= len(identifier.encode()) <= 150
    assert sandbox.requests()[-1].identifier == identifier


def test_suppressing_or_deleting_an_unknown_identifier_changes_nothing(
    sandbox: Sandbox, track: httpx.Client, admin: httpx.Client
) -> None:
    sandbox.add_person("known")
    before = people(admin)
    assert track.post("/api/v1/customers/nobody/suppress").json() == {}
    assert track.post("/api/v1/customers/ghost%40example.com/suppress").status_code == 200
    assert track.post("/api/v1/customers/cio_ffffff/suppress").status_code == 200
    batch = [{"type": "person", "identifiers": {"id": "nobody-2"}, "action": "suppress"}]
    assert track.post("/api/v2/batch", json={"batch": batch}).status_code == 200
    assert track.delete("/api/v1/customers/nobody-3").status_code == 200
    after = people(admin)
    assert after["people"] == before["people"]
    assert after["suppressed"] == []  # no suppression against a profile that never existed
    assert after["deleted"] == ["nobody-3"]  # the request is recorded; nobody was removed
    # Nothing blocks the identifier later.
    assert track.put("/api/v1/customers/nobody", json={}).status_code == 200
    assert person_ids(admin) == ["known", "nobody"]
