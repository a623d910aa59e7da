"""``credentials set``: store a credential (typed, piped, or generated for the pseudonym key)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cio_sec import pseudonym
from cio_sec.errors import ConfigError, InputError
from cio_sec.settings import Settings
from cio_sec.stores import SecretRef, check_reference
from cio_sec.stores.chain import StoreOpener
from cio_sec.stores.writing import StoredCredential, check_value, write_credential


@dataclass(frozen=True, kw_only=True)
class SaveRequest:
    """What ``credentials set`` was asked to store, and where."""

    name: str
    value: str = field(default="", repr=False)
    """The value to store (read from a prompt or stdin); unused with ``generate``."""
    store: SecretRef | None = None
    """``--store``: where to write; None picks the safest writable store of the chain."""
    generate: bool = False
    """``--generate``: make a strong random key (the pseudonym key only) instead."""


def save(request: SaveRequest, settings: Settings, opener: StoreOpener) -> StoredCredential:
    """Store the request's value (or a generated key), keeping the previous value.

    Raises:
        InputError: the value is empty or weak, or ``--generate`` names a Customer.io key.
        ConfigError: the name is unknown, the target store is read-only, or a pseudonym
            key to generate already exists.
        SecretMissingError: no store of the chain could keep a generated key.
        SecretStoreUnavailableError: the store failed, or read back a different value.
    """
    if request.generate:
        return _generate(settings, request.name, opener, request.store)
    return set_credential(settings, request.name, request.value, opener, store=request.store)


def parse_store_option(store: str) -> SecretRef:
    """Parse ``--store`` (before any secret is asked for, so a typo costs no typing).

    Raises:
        InputError: not a valid reference (a usage error, exit 2).
    """
    try:
        ref = SecretRef.parse(store)
        check_reference(ref)
    except ConfigError as exc:
        raise InputError(f"--store: {exc.message}", hint=exc.hint) from None
    if ref.scheme == "env":
        # NOTE: refused here, before the reference can be quoted in a later message: what
        # follows "env:" may be the key itself, pasted in the wrong place.
        raise InputError(
            "--store: an env: reference cannot be written (the environment is read-only)",
            hint="choose a writable store: keyring:, dotenv:, aws-sm:, aws-ssm: or vault:",
        )
    return ref


def set_credential(
    settings: Settings,
    name: str,
    value: str,
    opener: StoreOpener,
    *,
    store: SecretRef | None = None,
) -> StoredCredential:
    """Write a credential to its store, keeping the previous value, and read it back.

    Raises:
        InputError: the value is empty, or a weak pseudonym key.
        ConfigError: the name is unknown or the target store is read-only.
        SecretStoreUnavailableError: the store failed, or read back a different value.
    """
    check_value(settings, name, value)
    _refuse_weak(name, value)
    return write_credential(settings, name, value, opener, store=store)


def _generate(
    settings: Settings, name: str, opener: StoreOpener, store: SecretRef | None
) -> StoredCredential:
    """``credentials set NAME --generate``: only cio-sec's own key can be made here.

    Raises:
        InputError: ``name`` is a key Customer.io issues (exit 2).
        SecretMissingError: no store of the chain could keep the new key.
        ConfigError: ``store`` is read-only.
        SecretStoreUnavailableError: ``store`` failed.
    """
    if name != pseudonym.CREDENTIAL:
        raise InputError(
            f"--generate makes only {pseudonym.CREDENTIAL}; {name} is issued by Customer.io",
            hint=f"store it with `cio-sec credentials set {name}` (hidden prompt or --stdin)",
        )
    return pseudonym.generate_key(settings, opener, store)


def _refuse_weak(name: str, value: str) -> None:
    """Refuse now a pseudonym key that ``sanitize`` would refuse later (the same rule).

    Raises:
        InputError: the key is weak (exit 2).
    """
    if name != pseudonym.CREDENTIAL:
        return
    problem = pseudonym.weakness(value)
    if problem is not None:
        raise InputError(
            f"refusing to store a weak {name}: it {problem}", hint=pseudonym.STRONG_KEY_HINT
        )
