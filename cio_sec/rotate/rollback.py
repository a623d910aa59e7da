"""Undoing an attempt: rollback restores the old values; abort only forgets the attempt.

Abort changes no store, so it warns about a new value it leaves behind.
"""

from __future__ import annotations

from dataclasses import dataclass

from cio_sec.errors import (
    CioSecError,
    ConfigError,
    CredentialRejectedError,
    ExitCode,
    RegionMismatchError,
    RemoteError,
)
from cio_sec.redact import fingerprint
from cio_sec.rotate.checks import remote_identity
from cio_sec.rotate.rotation import Rotation
from cio_sec.rotate.state import RotationState, clear_state, state_path
from cio_sec.rotate.steps import Kind
from cio_sec.stores import SecretStore


@dataclass(frozen=True)
class RolledBack:
    """What a rollback did, and whether the restored key works."""

    message: str
    exit_code: ExitCode
    old_key_works: bool | None
    """None: not tested, or no remote test for this kind."""
    hint: str | None


def rollback(rotation: Rotation, state: RotationState) -> RolledBack:
    """Make the old values current again, forget the attempt, and test the old key.

    Raises:
        ConfigError: a store holds neither the old nor the new value (something else changed
            it; nothing is touched then).
        SecretStoreUnavailableError: a store failed.
    """
    stores = [(name, rotation.open(state.sources[name])) for name in rotation.credentials]
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
    what = f"restored {', '.join(restored)}" if restored else "nothing had been stored yet"
    works, code, note, hint = _old_key_status(rotation)
    return RolledBack(f"{what}; {note}", code, works, hint)


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
        remote_identity(rotation, values, None)
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


def abort_warning(rotation: Rotation, state: RotationState) -> str | None:
    """What forgetting the attempt leaves behind: a warning when a new value is stored.

    The stores are read rather than the steps trusted: an interrupted store step can have
    written one credential of a pair and not the other.
    """
    stored: list[str] = []
    unchanged: list[str] = []
    for name in rotation.credentials:
        try:
            current = rotation.open(state.sources[name]).get()
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
