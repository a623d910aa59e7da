"""Accounts with several workspaces, and each workspace's identifier setting."""

from __future__ import annotations

import httpx
import pytest

from cio_sec.sandbox import Sandbox, SandboxInfo
from tests.sandbox.helpers import http, people

pytestmark = pytest.mark.timeout(30)


def test_an_app_key_lists_every_workspace_of_its_account(
    sandbox: Sandbox, info: SandboxInfo, admin: httpx.Client, app: httpx.Client
) -> None:
    created = admin.post("/workspaces", json={"name": "Marketing", "identifiers": "id"})
    assert created.status_code == 200
    doc = created.json()
    assert set(doc) == {"workspace_id", "site_id", "track_api_key"}
    assert doc["workspace_id"] == 1002
    keys = sandbox.add_workspace(region="us")
    assert keys.workspace_id == 1003
    with http(info.track_url, auth=(doc["site_id"], doc["track_api_key"])) as marketing:
        marketing.put("/api/v1/customers/m-1", json={})
        assert marketing.get("/api/v1/accounts/region").json()["environment_id"] == 1002
    # Another account (its own workspace, made by an App key for an unknown workspace).
    other_key = sandbox.add_app_key(workspace_id=4004)
    listed = app.get("/v1/workspaces").json()["workspaces"]
    assert listed == [
        {"id": 1001, "name": "Sandbox workspace 1001", "people": 0, "messages_sent": 0},
        {"id": 1002, "name": "Marketing", "people": 1, "messages_sent": 0},
        {"id": 1003, "name": "Sandbox workspace 1003", "people": 0, "messages_sent": 0},
    ]
    assert all(isinstance(item["id"], int) for item in listed)
    with http(info.app_url, headers={"Authorization": f"Bearer {other_key}"}) as other:
        assert [w["id"] for w in other.get("/v1/workspaces").json()["workspaces"]] == [4004]
    # The old admin endpoint keeps working for the new workspace.
    more = admin.post("/track-keys", json={"workspace_id": 1002}).json()
    assert more["workspace_id"] == 1002


@pytest.mark.parametrize(
    "body",
    [
        {"identifiers": "email"},
        {"region": "mars"},
        {"name": 5},
        {"region": 1},
        {"identifiers": None, "colour": "blue"},
        [],
    ],
)
def test_new_workspaces_are_validated(sandbox: Sandbox, admin: httpx.Client, body: object) -> None:
    response = admin.post("/workspaces", json=body)
    assert response.status_code == 400
    assert "error" in response.json()["meta"]
    assert admin.get("/workspaces").status_code == 405
    with pytest.raises(ValueError, match="identifiers must be"):
        sandbox.add_workspace(identifiers="phone")


def test_in_an_id_only_workspace_an_email_shaped_path_is_an_id(
    sandbox: Sandbox, info: SandboxInfo, admin: httpx.Client
) -> None:
    keys = sandbox.add_workspace("ID only", identifiers="id")
    auth = (keys.site_id, keys.track_api_key)
    with http(info.track_url, auth=auth) as track:
        track.put("/api/v1/customers/a%40b.c", json={"plan": "pro"})
        track.put("/api/v1/customers/42", json={"email": "ann@example.com"})
        (first, _) = people(admin, keys.workspace_id)["people"]
        assert (first["id"], first["email"]) == ("a@b.c", None)
        # Suppressing Ann by her email finds no one with that id: 200, and she stays.
        assert track.post("/api/v1/customers/ann%40example.com/suppress").status_code == 200
        assert len(people(admin, keys.workspace_id)["people"]) == 2
        # A batch item naming an email is refused in this workspace.
        item = {"type": "person", "identifiers": {"email": "ann@example.com"}, "action": "delete"}
        response = track.post("/api/v2/batch", json={"batch": [item]})
        assert response.status_code == 207
        assert response.json()["errors"][0]["field"] == "identifiers.email"
        assert track.delete("/api/v1/customers/a%40b.c").status_code == 200
    assert [p["id"] for p in people(admin, keys.workspace_id)["people"]] == ["42"]
    app_key = sandbox.add_app_key(workspace_id=keys.workspace_id)
    with http(info.app_url, headers={"Authorization": f"Bearer {app_key}"}) as app:
        refused = app.get("/v1/customers/ann%40example.com/attributes?id_type=email")
        assert refused.status_code == 400
        assert "not enabled" in refused.json()["meta"]["error"]
        assert app.get("/v1/customers/42/attributes").status_code == 200
    # In the default (email or id) workspace the same path is an email.
    sandbox.add_person("a@b.c")
    assert people(admin)["people"][0]["email"] == "a@b.c"


def test_add_person_refuses_what_the_track_api_refuses(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="attribute id must be a string"):
        sandbox.add_person("x", {"id": ["no"]})
    with pytest.raises(ValueError, match="no workspace 9"):
        sandbox.add_person("x", workspace_id=9)
