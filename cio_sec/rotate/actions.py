"""What each automated step does, and what the operator is asked to do.

Preflight starts the attempt and returns its state; every later step works on that state.
Every action is idempotent: it checks what is already true (by fingerprint) before it
changes anything, so running it again after a crash is harmless.
"""

from __future__ import annotations

from collections.abc import Callable

from cio_sec.errors import (
    CioSecError,
    ConfigError,
    CredentialRejectedError,
    PartialFailureError,
    RegionMismatchError,
)
from cio_sec.pseudonym import PseudonymKey
from cio_sec.redact import fingerprint, mask
from cio_sec.rotate.checks import check_new_key, check_stored, remote_identity
from cio_sec.rotate.kinds import CREATE_INSTRUCTIONS, DELETE_INSTRUCTIONS, DEPLOY_INSTRUCTIONS
from cio_sec.rotate.rotation import Rotation
from cio_sec.rotate.state import RotationState
from cio_sec.rotate.steps import DELETE_OLD, Kind, Step
from cio_sec.rotate.trail import record
from cio_sec.rotate.writes import store_new_pseudonym_key, store_new_values
from cio_sec.trail.records import format_ts


def preflight(rotation: Rotation) -> tuple[RotationState, str]:
    """Check the current values can be rotated; return the new attempt's state and a detail.

    Raises:
        ConfigError: a value comes from a store cio-sec cannot write, or is not a key.
        SecretMissingError, SecretStoreUnavailableError: a current value cannot be read.
        CredentialRejectedError, RegionMismatchError, RemoteError: the current key's test.
    """
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name in rotation.credentials:
        values[name], sources[name] = rotation.current(name)
        if not rotation.open(sources[name]).writable:
            raise ConfigError(
                f"{name} comes from {sources[name]}, which cio-sec cannot write; a rotation "
                "keeps the old value next to the new one in a writable store",
                hint=f"move it into the keyring with `cio-sec credentials set {name}` and "
                "remove it from there, or name a dotenv:/keyring: reference in the profile",
            )
    state = RotationState(
        kind=rotation.kind.value,
        profile=rotation.settings.profile,
        started_at=format_ts(rotation.now()),
        sources=sources,
        old={name: fingerprint(value) for name, value in values.items()},
    )
    if rotation.kind is Kind.PSEUDONYM:
        PseudonymKey.from_text(values["pseudonym_key"])
    if rotation.kind not in (Kind.TRACK, Kind.APP):
        return state, f"current value in {', '.join(sorted(set(sources.values())))}"
    identity = remote_identity(rotation, values, None)
    state.region, state.workspace_id = identity.region, identity.workspace_id
    return state, f"the current key works for {identity.describe()}"


def perform(rotation: Rotation, state: RotationState, step: Step) -> str:
    """Run one automated step after preflight; return a detail line for the checklist.

    Raises:
        CioSecError: the step failed; the rotation stops there (resumable).
    """
    return _STEPS[step.name](rotation, state)


def operator_instruction(rotation: Rotation, state: RotationState, step: Step) -> str:
    """What the operator must do for an operator step."""
    if step.name == DELETE_OLD.name:
        old = _old_label(rotation, state)
        return DELETE_INSTRUCTIONS[rotation.kind].format(old=old)
    return DEPLOY_INSTRUCTIONS[rotation.kind]


def after_failure(state: RotationState, step: Step, exc: CioSecError) -> None:
    """Rewind the state so that resuming redoes what the failure invalidated."""
    if step.name == "test-new" and not isinstance(exc, RegionMismatchError):
        # A refused key must be replaced, not re-entered: forget it. A region setting
        # that no longer matches the rotation's account is the setting's fault, not the key's.
        state.done = [name for name in state.done if name != "new-key"]
        state.new = {}
    if step.name == "old-revoked" and isinstance(exc, _OldKeyWorksError):
        state.done = [name for name in state.done if name != DELETE_OLD.name]
        state.waiting = [DELETE_OLD.name]


class _OldKeyWorksError(PartialFailureError):
    """The old key still answers: it was not deleted."""


def _new_key(rotation: Rotation, state: RotationState) -> str:
    rotation.ui.say(CREATE_INSTRUCTIONS[rotation.kind])
    for name in rotation.credentials:
        state.new[name] = fingerprint(rotation.new_value(state, name))
    return ", ".join(f"{name} {fp}" for name, fp in state.new.items())


def _store(rotation: Rotation, state: RotationState) -> str:
    if rotation.kind is Kind.PSEUDONYM:
        return store_new_pseudonym_key(rotation, state)
    return store_new_values(rotation, state)


def _old_values(rotation: Rotation, state: RotationState) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in rotation.credentials:
        store = rotation.open(state.sources[name])
        previous = store.get_previous()
        if previous is None or fingerprint(previous.value) != state.old[name]:
            raise ConfigError(f"{store.ref} no longer holds the old {name} as its previous value")
        values[name] = previous.value
    return values


def _old_revoked(rotation: Rotation, state: RotationState) -> str:
    values = _old_values(rotation, state)
    try:
        remote_identity(rotation, values, state.workspace_id)
    except CredentialRejectedError:
        return "Customer.io rejects the old key: it is revoked"
    raise _OldKeyWorksError(
        "the old key still works: the rotation is not complete until it is deleted",
        hint=operator_instruction(rotation, state, DELETE_OLD),
    )


def _old_label(rotation: Rotation, state: RotationState) -> str:
    if rotation.kind is Kind.TRACK:
        try:
            return mask(_old_values(rotation, state)["site_id"])
        except CioSecError:
            return f"fingerprint {state.old['site_id']}"
    return f"fingerprint {state.old[rotation.credentials[0]]}"


def _record(rotation: Rotation, state: RotationState) -> str:
    detail, warnings = record(
        rotation.settings, rotation.opener, state, rotation.credentials, now=rotation.now
    )
    for warning in warnings:
        rotation.warn(warning)
    return detail


_STEPS: dict[str, Callable[[Rotation, RotationState], str]] = {
    "new-key": _new_key,
    "test-new": check_new_key,
    "store": _store,
    "test-stored": check_stored,
    "old-revoked": _old_revoked,
    "record": _record,
}
