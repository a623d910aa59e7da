"""What cio-sec relies on the Customer.io API to do, as client-level scenarios.

Each scenario runs against the sandbox in CI and against a real test workspace with
``make live-check`` (see ``conftest.py``). Where Customer.io processes a request later,
the scenario waits (`Target.eventually`); the sandbox answers at once.
"""

from __future__ import annotations

import pytest

from tests.contract.conftest import PREFIX, Target


def _present(target: Target, person_id: str) -> bool:
    return target.app.person_present(person_id, "id")


def _shows_up(target: Target, person_id: str) -> bool:
    return target.eventually(lambda: _present(target, person_id), bool)


def _is_gone(target: Target, person_id: str) -> bool:
    return not target.eventually(lambda: _present(target, person_id), lambda here: not here)


def test_the_region_lookup_names_the_region_and_the_workspace(target: Target) -> None:
    account = target.track.region(needs=("region", "environment_id"))
    assert account.region == target.region
    assert account.environment_id


def test_the_app_key_lists_the_track_keys_workspace(target: Target) -> None:
    workspace = target.track.region(needs=("environment_id",)).environment_id
    listed = {item.id for item in target.app.workspaces()}
    assert str(workspace) in listed


def test_an_identified_person_reads_back_present(target: Target) -> None:
    person = target.new_person_id()
    target.identify(person, {"cio_sec_contract": True})
    assert _shows_up(target, person)


def test_deleting_a_person_makes_the_read_back_404(target: Target) -> None:
    person = target.new_person_id()
    target.identify(person, {"cio_sec_contract": True})
    assert _shows_up(target, person)
    target.track.delete(person)
    assert _is_gone(target, person)


def test_suppressing_a_person_removes_the_profile(target: Target) -> None:
    person = target.new_person_id()
    target.identify(person, {"cio_sec_contract": True})
    assert _shows_up(target, person)
    target.track.suppress(person)
    assert _is_gone(target, person)


def test_deleting_or_suppressing_someone_unknown_is_2xx_and_proves_nothing(
    target: Target,
) -> None:
    never_there = target.new_person_id()
    target.track.delete(never_there)  # no error: a 2xx is no proof that anyone was erased
    target.track.suppress(never_there)
    assert not _present(target, never_there)


def test_a_batch_delete_removes_each_person_it_names(target: Target) -> None:
    people = [target.new_person_id() for _ in range(2)]
    for person in people:
        target.identify(person, {"cio_sec_contract": True})
    for person in people:
        assert _shows_up(target, person)
    result = target.track.batch(
        [{"type": "person", "identifiers": {"id": person}, "action": "delete"} for person in people]
    )
    assert result.status == 200
    assert result.errors == ()
    for person in people:
        assert _is_gone(target, person)


def test_the_search_finds_people_by_attribute_and_not_once_deleted(target: Target) -> None:
    marker = target.new_person_id()  # a unique value, so only this run's people match
    people = [target.new_person_id() for _ in range(3)]
    for person in people:
        target.identify(person, {"cio_sec_contract_run": marker})
    wanted = {"attribute": {"field": "cio_sec_contract_run", "operator": "eq", "value": marker}}

    def found() -> set[str]:
        return {ref.id for ref in target.app.search({"and": [wanted]}, limit=2) if ref.id}

    assert target.eventually(found, lambda ids: ids == set(people)) == set(people)
    target.track.delete(people[0])
    remaining = target.eventually(found, lambda ids: ids == set(people[1:]))
    assert remaining == set(people[1:])
    assert all(person.startswith(PREFIX) for person in remaining)


def test_a_scenario_cannot_touch_anyone_outside_the_contract_prefix(target: Target) -> None:
    with pytest.raises(AssertionError, match=PREFIX):
        target.identify("a-real-customer", {"touched": True})
    with pytest.raises(AssertionError, match=PREFIX):
        target.unsuppress("a-real-customer")
