from __future__ import annotations

import asyncio

from cio_sec.erase import reach
from cio_sec.erase.inputs import IdType
from cio_sec.erase.journal import Person
from cio_sec.errors import RemoteUnavailableError


class Workspace:
    """Answers read-backs for the people it holds; may fail after some reads."""

    def __init__(self, present: set[str], fail_after: int | None = None) -> None:
        self.present = present
        self.fail_after = fail_after
        self.asked: list[str] = []

    async def person_present(self, identifier: str, id_type: str) -> bool:
        assert id_type == "id"
        if self.fail_after is not None and len(self.asked) >= self.fail_after:
            raise RemoteUnavailableError("the App API kept failing")
        self.asked.append(identifier)
        return identifier in self.present


def _people(*ids: str) -> list[Person]:
    return [Person(n, IdType.ID, value, f"subject-{n}", 0) for n, value in enumerate(ids, 1)]


def test_the_first_person_present_proves_reach_and_stops_the_reading() -> None:
    workspace = Workspace({"b"})
    assert asyncio.run(reach.prove_reach(workspace, _people("a", "b", "c"))) == reach.PROVEN
    assert workspace.asked == ["a", "b"]
    assert reach.unproven_reason({reach.META_KEY: reach.PROVEN}) is None


def test_nobody_present_is_unproven_and_every_read_back_says_why() -> None:
    found = asyncio.run(reach.prove_reach(Workspace(set()), _people("a", "b")))
    assert found == "unproven:2"
    reason = reach.unproven_reason({reach.META_KEY: found})
    assert reason is not None
    assert "none of the first 2 people" in reason
    assert "another workspace" in reason


def test_nothing_to_read_or_a_failing_api_leaves_the_question_open() -> None:
    assert asyncio.run(reach.prove_reach(Workspace({"a"}), [])) is None
    failing = Workspace({"z"}, fail_after=1)
    assert asyncio.run(reach.prove_reach(failing, _people("a", "z"))) is None
    assert reach.unproven_reason({}) is None  # jobs from before the check keep their answers


def test_an_answer_is_kept_for_its_own_app_key_only() -> None:
    meta = {reach.META_KEY: reach.PROVEN, reach.KEY_META_KEY: "key-a"}
    assert reach.kept_answer(meta, "key-a") == meta
    assert reach.kept_answer(meta, "key-b") == {}
    assert reach.kept_answer({}, "key-a") == {}


def test_a_later_check_with_another_key_proves_nothing() -> None:
    meta = {reach.META_KEY: reach.PROVEN, reach.KEY_META_KEY: "key-a"}
    assert reach.reason_for_key(meta, "key-a") is None
    other = reach.reason_for_key(meta, "key-b")
    assert other is not None
    assert "not the one shown" in other
    assert reach.reason_for_key({}, "key-b") is None  # a job from before the check
