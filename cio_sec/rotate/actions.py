"""What each automated step does, per kind, and the rollback.

Every action is idempotent: it checks what is already true (by fingerprint) before it
changes anything, so running it again after a crash is harmless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cio_sec.errors import (
    CioSecError,
    ConfigError,
    CredentialRejectedError,
    ExitCode,
    PartialFailureError,
    RegionMismatchError,
    RemoteError,
)
from cio_sec.redact import fingerprint, mask
from cio_sec.rotate import kinds
from cio_sec.rotate.kinds import Identity
from cio_sec.rotate.report import RotationReport
from cio_sec.rotate.steps import Kind, Step
from cio_sec.stores import SecretRef, SecretStore

if TYPE_CHECKING:
    from cio_sec.rotate.flow import Rotation


def perform(rotation: Rotation, step: Step) -> str:
    """Run one automated step; return a detail line for the checklist.

    Raises:
        CioSecError: the step failed; the rotation stops there (resumable).
    """
    handlers = {
        "preflight": _preflight,
        "new-key": _new_key,
        "test-new": _test_new,
        "store": _store_pseudonym if rotation.kind is Kind.PSEUDONYM else _store,
        "test-stored": _TEST_STORED[rotation.kind],
        "old-revoked": _old_revoked,
        "record": _record,
    }
    return handlers[step.name](rotation)


def operator_instruction(rotation: Rotation, step: Step) -> str:
    """What the operator must do for an operator step."""
    if step.name == "deploy":
        return kinds.DEPLOY_INSTRUCTIONS[rotation.kind]
    old = _old_label(rotation)
    return kinds.DELETE_INSTRUCTIONS[rotation.kind].format(old=old)


def after_failure(rotation: Rotation, step: Step, exc: CioSecError) -> None:
    """Rewind the state so that resuming redoes what the failure invalidated."""
    state = rotation.state
    if state is None:  # pragma: no cover - only called with a state
        return
    if step.name == "test-new" and not isinstance(exc, RegionMismatchError):
        # A refused key must be replaced, not re-entered: forget it. A region setting
        # that no longer matches the rotation's account is the setting's fault, not the key's.
        state.done = [name for name in state.done if name != "new-key"]
        state.new = {}
    if step.name == "old-revoked" and isinstance(exc, _OldKeyWorksError):
        state.done = [name for name in state.done if name != "delete-old"]
        state.waiting = ["delete-old"]


class _OldKeyWorksError(PartialFailureError):
    """The old key still answers: it was not deleted."""


# --------------------------------------------------------------------- steps


def _preflight(rotation: Rotation) -> str:
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name in rotation.credentials:
        values[name], sources[name] = rotation.current(name)
        store = _open(rotation, sources[name])
        if not store.writable:
            raise ConfigError(
                f"{name} comes from {sources[name]}, which cio-sec cannot write; a rotation "
                "keeps the old value next to the new one in a writable store",
                hint=f"move it into the keyring with `cio-sec credentials set {name}` and "
                "remove it from there, or name a dotenv:/keyring: reference in the profile",
            )
    identity = _identity(rotation, values)
    if rotation.kind is Kind.PSEUDONYM:
        from cio_sec.pseudonym import PseudonymKey

        PseudonymKey.from_text(values["pseudonym_key"])
    state = rotation.start_state()
    state.sources = sources
    state.old = {name: fingerprint(value) for name, value in values.items()}
    if identity is not None:
        state.region, state.workspace_id = identity.region, identity.workspace_id
        return f"the current key works for {identity.describe()}"
    return f"current value in {', '.join(sorted(set(sources.values())))}"


def _identity(rotation: Rotation, values: dict[str, str]) -> Identity | None:
    """The remote identity of track and app keys; None for kinds with no remote test."""
    if rotation.kind in (Kind.TRACK, Kind.APP):
        return _remote_identity(rotation, values)
    return None


def _remote_identity(rotation: Rotation, values: dict[str, str]) -> Identity:
    """Test a key; an App key against the workspace the rotation noted (or the Track key's)."""
    if rotation.kind is Kind.TRACK:
        return kinds.track_identity(rotation.settings, values["site_id"], values["track_api_key"])
    workspace_id = rotation.state.workspace_id if rotation.state is not None else None
    if workspace_id is None:
        workspace_id = kinds.app_workspace(rotation.settings, rotation.opener)
    return kinds.app_identity(rotation.settings, values["app_api_key"], workspace_id)


def _new_key(rotation: Rotation) -> str:
    rotation.operator.say(kinds.CREATE_INSTRUCTIONS[rotation.kind])
    state = rotation.active_state()
    for name in rotation.credentials:
        state.new[name] = fingerprint(rotation.new_value(name))
    return ", ".join(f"{name} {fp}" for name, fp in state.new.items())


def _test_new(rotation: Rotation) -> str:
    values = {name: rotation.new_value(name) for name in rotation.credentials}
    try:
        actual = _remote_identity(rotation, values)
    except CredentialRejectedError:
        raise ConfigError(
            "Customer.io rejects the new key; nothing was stored",
            hint="check it was copied whole, from this region's account, and not deleted",
        ) from None
    except RegionMismatchError as exc:
        if exc.region == rotation.active_state().region:
            # The current key's region, found at preflight: the setting changed since.
            raise
        actual = Identity(exc.region, None)  # a key of another region's account
    return _same_identity(rotation, actual, "new key", stored=False)


def _same_identity(rotation: Rotation, actual: Identity, what: str, *, stored: bool) -> str:
    state = rotation.active_state()
    expected = Identity(state.region, state.workspace_id)
    problem = kinds.identity_problem(expected, actual)
    if problem is not None:
        nothing = "" if stored else "; nothing was stored"
        raise ConfigError(
            f"{problem}{nothing}",
            hint=f"create the key in workspace {state.workspace_id} (region {state.region})",
        )
    return f"the {what} works for {actual.describe()}"


def _store(rotation: Rotation) -> str:
    state = rotation.active_state()
    values = {name: rotation.new_value(name) for name in rotation.credentials}
    written: list[SecretStore] = []
    for name, value in values.items():
        store = _open(rotation, state.sources[name])
        current = store.get()
        if current is not None and fingerprint(current.value) == state.new[name]:
            continue  # stored before a crash
        _expect_old(state.old[name], current.value if current else None, name, store)
        try:
            store.put(value)
        except CioSecError as exc:
            for done in written:
                done.rollback()
            raise PartialFailureError(
                f"could not store {name} in {store.ref}: {exc.message}; nothing was changed",
                hint=exc.hint or "fix the store",
            ) from None
        written.append(store)
    for name in values:
        _check_stored(rotation, name)
    return "stored in " + ", ".join(sorted(set(state.sources.values()))) + " (previous kept)"


def _expect_old(old_fp: str, value: str | None, name: str, store: SecretStore) -> None:
    if value is None or fingerprint(value) != old_fp:
        raise ConfigError(
            f"{store.ref} no longer holds the {name} this rotation started from",
            hint="something else changed it; check with `cio-sec credentials show`, then "
            "--abort and start over",
        )


def _check_stored(rotation: Rotation, name: str) -> None:
    state = rotation.active_state()
    store = _open(rotation, state.sources[name])
    current, previous = store.get(), store.get_previous()
    if current is None or fingerprint(current.value) != state.new[name]:
        raise ConfigError(f"{store.ref} did not return the {name} just written")
    if previous is None or fingerprint(previous.value) != state.old[name]:
        raise ConfigError(f"{store.ref} did not keep the previous {name} for rollback")


def _store_pseudonym(rotation: Rotation) -> str:
    from cio_sec.pseudonym import PseudonymKey

    state = rotation.active_state()
    store = _open(rotation, state.sources["pseudonym_key"])
    current = store.get()
    if current is None or fingerprint(current.value) != state.new.get("pseudonym_key"):
        _expect_old(state.old["pseudonym_key"], current.value if current else None, "key", store)
        _refuse_to_drop_a_trail_key(rotation, store)
        _, text = PseudonymKey.generate()
        # Saved before the write: a crash after it is then recognised, not repeated.
        state.new["pseudonym_key"] = fingerprint(text)
        rotation.save()
        store.put(text)
    _check_stored(rotation, "pseudonym_key")
    return f"new key stored in {store.ref} (previous kept)"


def _refuse_to_drop_a_trail_key(rotation: Rotation, store: SecretStore) -> None:
    """Stores keep one previous value: a new key pushes out the one before the current.

    If the audit trail still has records chained with that key, they could never be
    verified again, so the rotation stops before anything is written.
    """
    from cio_sec.pseudonym import PseudonymKey
    from cio_sec.trail.records import read_lines

    previous = store.get_previous()
    trail = rotation.settings.audit_log
    if previous is None or not trail.exists():
        return
    dropped = PseudonymKey.from_text(previous.value).key_id
    used = sum(1 for line in read_lines(trail) if line.record and line.record["key_id"] == dropped)
    if used:
        raise ConfigError(
            f"the audit trail {trail} has {used} record(s) chained with key id {dropped}, "
            "which this rotation would push out of the store; they could not be verified "
            "again",
            hint="archive the trail first: run `cio-sec audit log verify` and note the head, "
            "export the evidence you need, move the file aside together with a backup of the "
            "key it needs, then rotate",
        )


def _test_stored_remote(rotation: Rotation) -> str:
    values = _stored_values(rotation)
    return _same_identity(rotation, _remote_identity(rotation, values), "stored key", stored=True)


def _stored_values(rotation: Rotation) -> dict[str, str]:
    state = rotation.active_state()
    values: dict[str, str] = {}
    for name in rotation.credentials:
        value, source = rotation.current(name)
        if fingerprint(value) != state.new[name]:
            raise ConfigError(
                f"{name} as cio-sec reads it ({source}) is not the new value",
                hint="an earlier store in the chain shadows it, or it was changed since",
            )
        values[name] = value
    return values


def _test_stored_webhook(rotation: Rotation) -> str:
    key = _stored_values(rotation)["webhook_signing_key"]
    timestamp = kinds.now_seconds()
    signature = kinds.sign_sample(key, timestamp, kinds.SAMPLE_BODY)
    if not kinds.sample_verifies(key, signature, timestamp, kinds.SAMPLE_BODY):
        raise ConfigError("a sample signed with the stored key does not verify")  # pragma: no cover
    return "a sample signed v0:<ts>:<body> with HMAC-SHA256 verifies with the stored key"


def _test_stored_pseudonym(rotation: Rotation) -> str:
    from cio_sec.pseudonym import load_keys

    _stored_values(rotation)
    keys = load_keys(rotation.settings, rotation.opener)
    if keys.previous is None:
        raise ConfigError("the store did not keep the previous pseudonym key")
    known = keys.by_id()
    sample = keys.previous.pseudonym("cio-sec rotation check")
    key_id = sample.split(":", 1)[0]
    if known[key_id].pseudonym("cio-sec rotation check") != sample:  # pragma: no cover
        raise ConfigError("an old pseudonym no longer verifies")
    return (
        f"new key id {keys.current.key_id}; pseudonyms of key id {keys.previous.key_id} "
        "still verify"
    )


_TEST_STORED = {
    Kind.TRACK: _test_stored_remote,
    Kind.APP: _test_stored_remote,
    Kind.WEBHOOK: _test_stored_webhook,
    Kind.PSEUDONYM: _test_stored_pseudonym,
}


def _old_values(rotation: Rotation) -> dict[str, str]:
    state = rotation.active_state()
    values: dict[str, str] = {}
    for name in rotation.credentials:
        store = _open(rotation, state.sources[name])
        previous = store.get_previous()
        if previous is None or fingerprint(previous.value) != state.old[name]:
            raise ConfigError(f"{store.ref} no longer holds the old {name} as its previous value")
        values[name] = previous.value
    return values


def _old_revoked(rotation: Rotation) -> str:
    values = _old_values(rotation)
    try:
        _remote_identity(rotation, values)
    except CredentialRejectedError:
        return "Customer.io rejects the old key: it is revoked"
    raise _OldKeyWorksError(
        "the old key still works: the rotation is not complete until it is deleted",
        hint=operator_instruction(rotation, Step("delete-old", "")),
    )


def _old_label(rotation: Rotation) -> str:
    state = rotation.state
    if state is None:  # pragma: no cover - operator steps come after preflight
        return "the old one"
    if rotation.kind is Kind.TRACK:
        try:
            return mask(_old_values(rotation)["site_id"])
        except CioSecError:
            return f"fingerprint {state.old['site_id']}"
    return f"fingerprint {state.old[rotation.credentials[0]]}"


def _record(rotation: Rotation) -> str:
    from cio_sec.rotate.trail import record

    state = rotation.active_state()
    detail, warnings = record(
        rotation.settings, rotation.opener, state, rotation.credentials, now=rotation.now
    )
    for warning in warnings:
        rotation.operator.warn(warning)
        rotation.warnings.append(warning)
    return detail


def abort_warning(rotation: Rotation) -> str | None:
    """What forgetting the attempt leaves behind: a warning when a new value is stored.

    The stores are read rather than the steps trusted: an interrupted store step can have
    written one credential of a pair and not the other.
    """
    state = rotation.active_state()
    stored: list[str] = []
    unchanged: list[str] = []
    for name in rotation.credentials:
        try:
            current = _open(rotation, state.sources[name]).get()
        except CioSecError:
            return (
                f"could not read {name} to tell whether a new value is stored; "
                "`cio-sec credentials show` tells which is current"
            )
        new = current is not None and fingerprint(current.value) == state.new.get(name)
        (stored if new else unchanged).append(name)
    if not stored:
        return None
    if unchanged:
        return (
            f"the store holds the new {', '.join(stored)} but not the new "
            f"{', '.join(unchanged)}: together they do not work; store the missing new "
            f"value with `cio-sec credentials set {unchanged[0]}`, or restore the old one (the "
            "store keeps it as the previous value)"
        )
    return (
        "the new key stays in the store (the old one is its previous value); "
        "`cio-sec credentials show` tells which is current"
    )


def _open(rotation: Rotation, reference: str) -> SecretStore:
    return rotation.opener(SecretRef.parse(reference, internal=True))


# --------------------------------------------------------------------- rollback


def rollback(rotation: Rotation) -> RotationReport:
    """Make the old values current again, forget the attempt, and test the old key.

    Raises:
        ConfigError: no rotation in progress, or a store holds neither the old nor the new
            value (something else changed it; nothing is touched then).
        SecretStoreUnavailableError: a store failed.
    """
    from cio_sec.rotate.flow import Action
    from cio_sec.rotate.state import clear_state, state_path

    state = rotation.state
    if state is None:
        raise ConfigError(
            f"no {rotation.kind.value} rotation is in progress for profile "
            f"{rotation.settings.profile!r}; nothing to roll back",
            hint="`cio-sec credentials show` tells which values are current",
        )
    stores = [(name, _open(rotation, state.sources[name])) for name in rotation.credentials]
    for name, store in stores:  # check all before touching any
        current = store.get()
        value = current.value if current else None
        if value is None or fingerprint(value) not in (state.old[name], state.new.get(name)):
            raise ConfigError(
                f"{store.ref} holds neither the old nor the new {name}; not touching it",
                hint="check with `cio-sec credentials show`; --abort forgets the attempt",
            )
    restored = [name for name, store in stores if _restore(store, state.old[name])]
    clear_state(state_path(rotation.settings.state_dir, state.profile, state.kind))
    rotation.state = None
    what = f"restored {', '.join(restored)}" if restored else "nothing had been stored yet"
    works, code, note, hint = _old_key_status(rotation)
    return rotation.report(
        Action.ROLLBACK,
        "rolled-back",
        f"{what}; {note}",
        exit_code=code,
        old_key_works=works,
        hint=hint,
    )


def _restore(store: SecretStore, old_fp: str) -> bool:
    current = store.get()
    if current is not None and fingerprint(current.value) == old_fp:
        return False
    store.rollback()
    return True


def _old_key_status(rotation: Rotation) -> tuple[bool | None, ExitCode, str, str | None]:
    """Whether the restored key works, the exit code, what to say and what to do."""
    if rotation.kind not in (Kind.TRACK, Kind.APP):
        return None, ExitCode.OK, "the old key is current again", None
    values = {name: rotation.current(name)[0] for name in rotation.credentials}
    start_again = f"start a new rotation: `{rotation.command()}`"
    try:
        _remote_identity(rotation, values)
    except CredentialRejectedError:
        return (
            False,
            ExitCode.CONFIG,
            "but Customer.io rejects the old key (deleted?): consumers need a new key",
            start_again,
        )
    except RegionMismatchError as exc:
        return None, exc.exit_code, f"the old key could not be tested: {exc.message}", exc.hint
    except RemoteError as exc:
        return None, exc.exit_code, f"the old key could not be tested: {exc.message}", start_again
    return True, ExitCode.OK, "the old key works again", None
