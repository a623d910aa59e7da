"""Removing attributes over the Track v1 API, and reading them back through the App API."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.sandbox import Faults, Sandbox
from cio_sec.sandbox.people import Workspace
from tests.sandbox.helpers import people, person_ids

pytestmark = pytest.mark.timeout(30)


def test_an_empty_value_removes_the_attribute_and_nothing_else(
    track: httpx.Client, admin: httpx.Client, app: httpx.Client
) -> None:
    track.put("/api/v1/customers/7", json={"ssn": "900-00-0001", "card_number": "4111", "a": 1})
    assert track.put("/api/v1/customers/7", json={"ssn": "", "_update": True}).json() == {}
    assert people(admin)["people"][0]["attributes"] == {"card_number": "4111", "a": 1}
    # JSON null removes as well (accepted, though Customer.io's documentation found is silent).
    track.put("/api/v1/customers/7", json={"card_number": None})
    read = app.get("/v1/customers/7/attributes", params={"id_type": "id"}).json()
    assert read["customer"]["attributes"] == {"a": 1, "id": "7", "cio_id": "a3000001"}


def test_update_only_never_creates_a_person(track: httpx.Client, admin: httpx.Client) -> None:
    assert track.put("/api/v1/customers/ghost", json={"ssn": "", "_update": True}).json() == {}
    assert person_ids(admin) == []
    # `_update` and `_timestamp` are request controls, not attributes.
    track.put("/api/v1/customers/8", json={"plan": "pro", "_update": False, "_timestamp": 5})
    assert people(admin)["people"][0]["attributes"] == {"plan": "pro"}


def test_ignored_updates_are_answered_but_not_done(
    sandbox: Sandbox, track: httpx.Client, admin: httpx.Client
) -> None:
    sandbox.add_person("9", {"ssn": "900-00-0009"})
    sandbox.set_faults(Faults(ignore_update_rate=1.0))
    assert track.put("/api/v1/customers/9", json={"ssn": ""}).status_code == 200
    assert people(admin)["people"][0]["attributes"] == {"ssn": "900-00-0009"}
    assert Faults.from_json({"ignore_update_rate": 0.5}).ignore_update_rate == 0.5
    with pytest.raises(ValueError, match="ignore_update_rate"):
        Faults(ignore_update_rate=2.0)


NAMES = st.text(alphabet="abcdefgsnSN_", min_size=1, max_size=6).filter(
    lambda name: name not in ("id", "email", "cio_id") and not name.startswith("_")
)
VALUES = st.one_of(st.text(min_size=1, max_size=5), st.integers(), st.booleans())


@given(st.dictionaries(NAMES, VALUES, max_size=8), st.data())
def test_emptying_some_attributes_keeps_every_other_one(
    attributes: dict[str, object], data: st.DataObject
) -> None:
    workspace = Workspace(1, "us", iter(f"c{n}" for n in range(10)).__next__)
    workspace.identify("id", "p", dict(attributes))
    chosen = data.draw(
        st.sets(st.sampled_from(sorted(attributes))) if attributes else st.just(set())
    )
    workspace.identify("id", "p", {**dict.fromkeys(chosen, ""), "_update": True})
    person = workspace.find("id", "p")
    assert person is not None
    assert person.attributes == {k: v for k, v in attributes.items() if k not in chosen}
