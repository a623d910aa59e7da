"""The store step: write the new value, keep the old one as previous, and read both back.

A write happens only when the store still holds the value the rotation started from, so a
value someone else changed in the meantime is never overwritten.
"""

from __future__ import annotations

from cio_sec.errors import CioSecError, ConfigError, PartialFailureError
from cio_sec.pseudonym import PseudonymKey
from cio_sec.redact import fingerprint
from cio_sec.rotate.rotation import Rotation
from cio_sec.rotate.state import RotationState
from cio_sec.stores import SecretStore
from cio_sec.trail.records import read_lines


def store_new_values(rotation: Rotation, state: RotationState) -> str:
    """Write the entered new values; if one write fails, undo the ones before it.

    Raises:
        ConfigError: a store no longer holds the old value, or did not keep what was written.
        PartialFailureError: a write failed (the earlier ones are rolled back).
    """
    values = {name: rotation.new_value(state, name) for name in rotation.credentials}
    written: list[SecretStore] = []
    for name, value in values.items():
        store = rotation.open(state.sources[name])
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
        _check_stored(rotation, state, name)
    return "stored in " + ", ".join(sorted(set(state.sources.values()))) + " (previous kept)"


def store_new_pseudonym_key(rotation: Rotation, state: RotationState) -> str:
    """Generate a pseudonym key and store it (a key stored before a crash is adopted).

    Raises:
        ConfigError: the store no longer holds the old key, the trail still needs the key the
            write would push out, or the store did not keep what was written.
    """
    store = rotation.open(state.sources["pseudonym_key"])
    current = store.get()
    if current is None or fingerprint(current.value) != state.new.get("pseudonym_key"):
        _expect_old(state.old["pseudonym_key"], current.value if current else None, "key", store)
        _refuse_to_drop_a_trail_key(rotation, store)
        _, text = PseudonymKey.generate()
        # Saved before the write: a crash after it is then recognised, not repeated.
        state.new["pseudonym_key"] = fingerprint(text)
        rotation.save(state)
        store.put(text)
    _check_stored(rotation, state, "pseudonym_key")
    return f"new key stored in {store.ref} (previous kept)"


def _expect_old(old_fp: str, value: str | None, name: str, store: SecretStore) -> None:
    if value is None or fingerprint(value) != old_fp:
        raise ConfigError(
            f"{store.ref} no longer holds the {name} this rotation started from",
            hint="something else changed it; check with `cio-sec credentials show`, then "
            "--abort and start over",
        )


def _check_stored(rotation: Rotation, state: RotationState, name: str) -> None:
    store = rotation.open(state.sources[name])
    current, previous = store.get(), store.get_previous()
    if current is None or fingerprint(current.value) != state.new[name]:
        raise ConfigError(f"{store.ref} did not return the {name} just written")
    if previous is None or fingerprint(previous.value) != state.old[name]:
        raise ConfigError(f"{store.ref} did not keep the previous {name} for rollback")


def _refuse_to_drop_a_trail_key(rotation: Rotation, store: SecretStore) -> None:
    """Stores keep one previous value: a new key pushes out the one before the current.

    If the audit trail still has records chained with that key, they could never be
    verified again, so the rotation stops before anything is written.
    """
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
