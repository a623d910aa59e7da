"""The tests a rotation runs: the keys against Customer.io, and the stored values read back.

Remote tests are read-only calls that say which workspace and region a key answers for;
the webhook and pseudonym kinds have no remote side, so their values are checked locally.
"""

from __future__ import annotations

from cio_sec.errors import ConfigError, CredentialRejectedError, RegionMismatchError
from cio_sec.pseudonym import KeyRing, PseudonymKey, load_keys
from cio_sec.redact import fingerprint
from cio_sec.rotate.kinds import (
    SAMPLE_BODY,
    Identity,
    app_identity,
    app_workspace,
    check_sample,
    identity_problem,
    now_seconds,
    sign_sample,
    track_identity,
)
from cio_sec.rotate.rotation import Rotation
from cio_sec.rotate.state import RotationState
from cio_sec.rotate.steps import Kind

_PSEUDONYM_SAMPLE = "cio-sec rotation check"


def remote_identity(
    rotation: Rotation, values: dict[str, str], workspace_id: str | None
) -> Identity:
    """Test a key; an App key against ``workspace_id`` (else the Track key's workspace).

    Raises:
        RegionMismatchError, CredentialRejectedError, RemoteError: as `track_identity`.
        ConfigError: an App key whose workspace cannot be told.
    """
    if rotation.kind is Kind.TRACK:
        return track_identity(rotation.settings, values["site_id"], values["track_api_key"])
    if workspace_id is None:
        workspace_id = app_workspace(rotation.settings, rotation.opener)
    return app_identity(rotation.settings, values["app_api_key"], workspace_id)


def check_new_key(rotation: Rotation, state: RotationState) -> str:
    """The new key works, for the workspace and region of the current one.

    Raises:
        ConfigError: rejected, or for another workspace or region (nothing was stored).
        RegionMismatchError: the region setting no longer matches the rotation's account.
    """
    values = {name: rotation.new_value(state, name) for name in rotation.credentials}
    try:
        actual = remote_identity(rotation, values, state.workspace_id)
    except CredentialRejectedError:
        raise ConfigError(
            "Customer.io rejects the new key; nothing was stored",
            hint="check it was copied whole, from this region's account, and not deleted",
        ) from None
    except RegionMismatchError as exc:
        if exc.region == state.region:
            # The current key's region, found at preflight: the setting changed since.
            raise
        actual = Identity(exc.region, None)  # a key of another region's account
    return _same_identity(state, actual, "new key", stored=False)


def check_stored(rotation: Rotation, state: RotationState) -> str:
    """The new values are what cio-sec now reads, and they work.

    Raises:
        ConfigError: the store returns another value, or it does not work as expected.
        RemoteError: Customer.io could not be reached.
    """
    values = _stored_values(rotation, state)
    if rotation.kind is Kind.WEBHOOK:
        return _check_webhook_key(values["webhook_signing_key"])
    if rotation.kind is Kind.PSEUDONYM:
        return _check_pseudonym_keys(load_keys(rotation.settings, rotation.opener))
    actual = remote_identity(rotation, values, state.workspace_id)
    return _same_identity(state, actual, "stored key", stored=True)


def _same_identity(state: RotationState, actual: Identity, what: str, *, stored: bool) -> str:
    expected = Identity(state.region, state.workspace_id)
    problem = identity_problem(expected, actual)
    if problem is not None:
        nothing = "" if stored else "; nothing was stored"
        raise ConfigError(
            f"{problem}{nothing}",
            hint=f"create the key in workspace {state.workspace_id} (region {state.region})",
        )
    return f"the {what} works for {actual.describe()}"


def _stored_values(rotation: Rotation, state: RotationState) -> dict[str, str]:
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


def _check_webhook_key(key: str) -> str:
    timestamp = now_seconds()
    check_sample(key, sign_sample(key, timestamp, SAMPLE_BODY), timestamp)
    return "a sample signed v0:<ts>:<body> with HMAC-SHA256 verifies with the stored key"


def _check_pseudonym_keys(keys: KeyRing) -> str:
    if keys.previous is None:
        raise ConfigError("the store did not keep the previous pseudonym key")
    check_old_pseudonyms(keys.previous, keys.by_id())
    return (
        f"new key id {keys.current.key_id}; pseudonyms of key id {keys.previous.key_id} "
        "still verify"
    )


def check_old_pseudonyms(previous: PseudonymKey, known: dict[str, PseudonymKey]) -> None:
    """A pseudonym made with the previous key is still checked against that key.

    Key ids are short (32 bits): should the new key's id equal the old one's, ``known``
    (the keys by id) gives the new key, and old pseudonyms no longer verify.

    Raises:
        ConfigError: an old pseudonym no longer verifies.
    """
    sample = previous.pseudonym(_PSEUDONYM_SAMPLE)
    key_id = sample.split(":", 1)[0]
    if known[key_id].pseudonym(_PSEUDONYM_SAMPLE) != sample:
        raise ConfigError("an old pseudonym no longer verifies")
