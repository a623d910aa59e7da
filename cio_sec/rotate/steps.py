"""The rotation kinds and their steps, in the safe order, as data.

The order is the point: the new key is proven and stored before the operator is asked to
delete the old one, and the old one is proven dead before the rotation is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(str, Enum):
    """What ``cio-sec rotate KIND`` rotates."""

    TRACK = "track"
    APP = "app"
    WEBHOOK = "webhook"
    PSEUDONYM = "pseudonym"


class Needs(str, Enum):
    """What a step needs besides cio-sec itself."""

    NOTHING = "nothing"
    """Fully automated."""
    NEW_KEY = "new-key"
    """The new key, from the hidden prompt or stdin."""
    OPERATOR = "operator"
    """An action in the Customer.io UI or in the operator's deployments."""


@dataclass(frozen=True)
class Step:
    """One step of a rotation."""

    name: str
    title: str
    needs: Needs = Needs.NOTHING


PREFLIGHT = Step("preflight", "test the current key; note its workspace and region")
NEW_KEY = Step("new-key", "create the new key in Customer.io and enter it", Needs.NEW_KEY)
TEST_NEW = Step("test-new", "test the new key: same workspace and region", Needs.NEW_KEY)
STORE = Step("store", "store the new key, keeping the old one as previous", Needs.NEW_KEY)
DEPLOY = Step("deploy", "deploy the new key to every consumer", Needs.OPERATOR)
DELETE_OLD = Step("delete-old", "delete the old key in Customer.io", Needs.OPERATOR)
TEST_STORED = Step("test-stored", "test the key as read from the store")
OLD_REVOKED = Step("old-revoked", "test the old key: it must be rejected")
RECORD = Step("record", "record the rotation")

WEBHOOK_NEW_KEY = Step(
    "new-key", "regenerate the signing key in Customer.io and enter it", Needs.NEW_KEY
)
WEBHOOK_TEST_STORED = Step("test-stored", "sign a sample and verify it with the stored key")
WEBHOOK_DEPLOY = Step("deploy", "deploy the new signing key to every receiver", Needs.OPERATOR)

PSEUDONYM_STORE = Step("store", "generate a new key and store it, keeping the old one")
PSEUDONYM_TEST_STORED = Step(
    "test-stored", "read both keys back; old pseudonyms still verify by key id"
)

#: Track and App API keys rotate the same way.
_API_KEY_STEPS = (
    PREFLIGHT,
    NEW_KEY,
    TEST_NEW,
    STORE,
    DEPLOY,
    DELETE_OLD,
    TEST_STORED,
    OLD_REVOKED,
    RECORD,
)
STEPS: dict[Kind, tuple[Step, ...]] = {
    Kind.TRACK: _API_KEY_STEPS,
    Kind.APP: _API_KEY_STEPS,
    Kind.WEBHOOK: (
        Step("preflight", "find the current signing key in a writable store"),
        WEBHOOK_NEW_KEY,
        STORE,
        WEBHOOK_TEST_STORED,
        WEBHOOK_DEPLOY,
        RECORD,
    ),
    Kind.PSEUDONYM: (
        Step("preflight", "find the current pseudonym key in a writable store"),
        PSEUDONYM_STORE,
        PSEUDONYM_TEST_STORED,
        RECORD,
    ),
}

#: The credentials each kind rotates, in the order they are entered and stored.
CREDENTIALS: dict[Kind, tuple[str, ...]] = {
    Kind.TRACK: ("site_id", "track_api_key"),
    Kind.APP: ("app_api_key",),
    Kind.WEBHOOK: ("webhook_signing_key",),
    Kind.PSEUDONYM: ("pseudonym_key",),
}


def operator_run(steps: tuple[Step, ...], start: int) -> tuple[Step, ...]:
    """The operator steps from ``start`` up to the next automated one (done in one go)."""
    run: list[Step] = []
    for step in steps[start:]:
        if step.needs is not Needs.OPERATOR:
            break
        run.append(step)
    return tuple(run)
