"""The signing keys a delivery may be checked against: current, previous, and extra references.

During a rotation the sender may still sign with the old key, so the store's previous
value is active too (unless ``current_only``); the verdict says which key matched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cio_sec.errors import ConfigError, InputError, SecretMissingError, SecretStoreUnavailableError
from cio_sec.settings import CREDENTIAL_ENV_NAMES, Settings
from cio_sec.stores import SecretRef, SecretStore, check_reference
from cio_sec.stores.chain import StoreOpener, resolve
from cio_sec.webhook.recipe import Secret

CREDENTIAL = "webhook_signing_key"


@dataclass(frozen=True)
class SigningKeys:
    """Keys to verify with, keys deliberately not accepted, and stores that failed."""

    active: tuple[Secret, ...]
    inactive: tuple[Secret, ...] = ()
    """Previous values left out by ``current_only``; used only to explain a mismatch."""
    notes: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        """Where the active keys came from."""
        return tuple(secret.label for secret in self.active)

    def require(self) -> Secret:
        """The first active key (the one a sender would use today).

        Raises:
            SecretMissingError: no key is available.
        """
        if not self.active:
            raise SecretMissingError("no webhook signing key is available", hint=NO_SECRET_HINT)
        return self.active[0]


NO_SECRET_HINT = (
    f"set {CREDENTIAL_ENV_NAMES[CREDENTIAL]}, run `cio-sec credentials set {CREDENTIAL}`, "
    "or name a stored key with --secret-ref REF"
)


def parse_refs(texts: Iterable[str]) -> tuple[SecretRef, ...]:
    """Parse ``--secret-ref`` values (references, never secrets) before anything is read.

    Raises:
        InputError: one is not a valid reference (a usage error, exit 2).
    """
    return tuple(_parse_ref(text) for text in texts)


def _parse_ref(text: str) -> SecretRef:
    try:
        ref = SecretRef.parse(text)
        check_reference(ref)  # a malformed location is a usage error too, found up front
    except ConfigError as exc:
        raise InputError(f"--secret-ref: {exc.message}", hint=exc.hint) from None
    return ref


def signing_keys(
    settings: Settings,
    opener: StoreOpener,
    extra: Iterable[SecretRef] = (),
    *,
    current_only: bool = False,
) -> SigningKeys:
    """Collect the webhook signing key, its previous value and any extra references.

    Every value is registered with the redactor by the store as it is read.

    Raises:
        SecretMissingError: a reference named with ``--secret-ref`` holds nothing.
        SecretStoreUnavailableError: such a reference's store cannot be read.
        ConfigError: a reference's location is malformed.
    """
    found: list[Secret] = []
    notes: list[str] = []
    resolved = resolve(settings, CREDENTIAL, opener)
    notes += [
        f"{problem.ref} could not be read: {problem.message}" for problem in resolved.problems
    ]
    if resolved.source is not None and resolved.value is not None:
        key = Secret(str(resolved.source), resolved.value)
        if not key.empty:
            found.append(key)
            found += _previous(opener(resolved.source), notes)
    for ref in extra:
        store = opener(ref)
        stored = store.get()
        key = Secret(str(ref), "" if stored is None else stored.value)
        if key.empty:
            raise SecretMissingError(f"nothing is stored at {ref} (--secret-ref)")
        found.append(key)
        found += _previous(store, notes)
    unique = _unique(found)
    active = tuple(key for key in unique if not (current_only and key.previous))
    inactive = tuple(key for key in unique if current_only and key.previous)
    return SigningKeys(active, inactive, tuple(notes))


def _previous(store: SecretStore, notes: list[str]) -> list[Secret]:
    try:
        previous = store.get_previous()
    except SecretStoreUnavailableError as exc:
        notes.append(f"the previous value at {store.ref} could not be read: {exc.message}")
        return []
    key = Secret(f"{store.ref} (previous)", "" if previous is None else previous.value, True)
    return [] if key.empty else [key]


def _unique(keys: list[Secret]) -> list[Secret]:
    """Each distinct key once, under the first (most authoritative) label it was found at."""
    seen: set[bytes] = set()
    unique = []
    for key in keys:
        if key.key not in seen:
            seen.add(key.key)
            unique.append(key)
    return unique
