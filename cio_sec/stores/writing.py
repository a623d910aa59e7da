"""Writing a credential to a store of its chain, read back before it counts as stored.

Both ``credentials set`` and the first use of a pseudonym key write through here, so a
new key and a typed one get the same read-back check and the same shadowing warnings.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from cio_sec.errors import ConfigError, ExitCode, InputError, SecretStoreUnavailableError
from cio_sec.redact import fingerprint, mask
from cio_sec.settings import Settings
from cio_sec.stores import SecretRef, SecretStore
from cio_sec.stores.chain import StoreOpener, resolve

_EXPECTED_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "site_id": (re.compile(r"[0-9a-f]{20}"), "20 lowercase hex characters"),
    "track_api_key": (re.compile(r"[0-9a-f]{20}"), "20 lowercase hex characters"),
    "app_api_key": (re.compile(r"[0-9a-f]{32}"), "32 lowercase hex characters"),
}


@dataclass(frozen=True)
class StoredCredential:
    """The result of ``credentials set``."""

    name: str
    store: str
    description: str
    fingerprint: str
    masked: str
    previous_kept: bool
    warnings: tuple[str, ...] = ()
    version: str | None = None
    """The store's label for the version written (secret managers), if it has one."""

    @property
    def ok(self) -> bool:
        """A stored credential is always a success."""
        return True

    @property
    def exit_code(self) -> ExitCode:
        """Always 0: a write that failed raised instead."""
        return ExitCode.OK

    def to_json(self) -> dict[str, object]:
        """The JSON payload (never the value)."""
        return {
            "name": self.name,
            "store": self.store,
            "description": self.description,
            "fingerprint": self.fingerprint,
            "masked": self.masked,
            "previous_kept": self.previous_kept,
            "warnings": list(self.warnings),
            "version": self.version,
        }


def shape_warnings(name: str, value: str) -> tuple[str, ...]:
    """Warn when a value does not look like the credential it is supposed to be."""
    warnings: list[str] = []
    if value != value.strip():
        warnings.append(f"the {name} value has leading or trailing whitespace")
    if "\n" in value.strip() or "\r" in value.strip():
        warnings.append(f"the {name} value contains a line break (pasted twice?)")
    expected = _EXPECTED_SHAPES.get(name)
    if expected and not expected[0].fullmatch(value.strip()):
        warnings.append(f"{name} values are usually {expected[1]}; this one is not")
    return tuple(warnings)


def check_value(settings: Settings, name: str, value: str) -> None:
    """Refuse what no store should be asked to keep, before any store is opened.

    Raises:
        InputError: the value is empty.
        ConfigError: the name is unknown.
    """
    if not value.strip():
        raise InputError(f"refusing to store an empty value for {name}")
    settings.references(name)  # validates the name


def target_store(
    settings: Settings, name: str, store: SecretRef | None, opener: StoreOpener
) -> SecretStore:
    """Pick where ``credentials set`` writes: ``--store``, else the safest writable reference.

    In the default chain (env, ``.env``, keyring) that is the keyring: a plaintext dotenv
    file is written only when it is the sole writable store or is asked for by name.

    Raises:
        ConfigError: the name is unknown, or no reference in the chain is writable.
    """
    if store is not None:
        return opener(store)
    writable = writable_stores(settings, name, opener)
    if writable:
        return writable[0]
    raise ConfigError(
        f"no writable store configured for {name}",
        hint="pass --store keyring:cio-sec/<profile>/<name> or dotenv:PATH#NAME",
    )


def writable_stores(settings: Settings, name: str, opener: StoreOpener) -> list[SecretStore]:
    """The writable stores of a credential's chain, safest first.

    Chain order, except that plaintext dotenv files come after every other store.

    Raises:
        ConfigError: the name is unknown.
    """
    writable = [opener(ref) for ref in settings.references(name)]
    writable = [candidate for candidate in writable if candidate.writable]
    return sorted(writable, key=lambda candidate: candidate.ref.scheme == "dotenv")


def write_credential(
    settings: Settings,
    name: str,
    value: str,
    opener: StoreOpener,
    *,
    store: SecretRef | None = None,
) -> StoredCredential:
    """Write a credential to its store, keeping the previous value, and read it back.

    Raises:
        InputError: the value is empty.
        ConfigError: the name is unknown or the target store is read-only.
        SecretStoreUnavailableError: the store failed, or read back a different value.
    """
    check_value(settings, name, value)
    destination = target_store(settings, name, store, opener)
    if not destination.writable:
        raise ConfigError(
            f"{destination.ref} is read-only",
            hint="choose a writable store with --store (keyring:, dotenv:, aws-sm:, aws-ssm: "
            "or vault:)",
        )
    destination.put(value)
    stored = destination.get()
    if stored is None or fingerprint(stored.value) != fingerprint(value):
        raise SecretStoreUnavailableError(
            f"{destination.ref} did not return the value just written",
            hint="the store may be read-only or shadowed; check it and retry",
        )
    return StoredCredential(
        name=name,
        store=str(destination.ref),
        description=destination.describe(),
        fingerprint=fingerprint(value),
        masked=mask(value),
        previous_kept=destination.get_previous() is not None,
        warnings=shape_warnings(name, value)
        + _shadow_warnings(settings, name, destination.ref, opener),
        version=stored.version,
    )


def _shadow_warnings(
    settings: Settings, name: str, written: SecretRef, opener: StoreOpener
) -> tuple[str, ...]:
    """Say when the value just stored is not the one cio-sec (or a rotation) will use."""
    chain = settings.references(name)
    place = _place(written, settings.cwd)
    if place not in {_place(ref, settings.cwd) for ref in chain}:
        where = ", ".join(str(ref) for ref in chain)
        return (
            f"{written} is not where cio-sec looks for {name} (profile "
            f"{settings.profile!r}: {where}); the stored value will not be used",
        )
    effective = resolve(settings, name, opener).source
    if effective is not None and _place(effective, settings.cwd) != place:
        return (
            f"{effective} comes first and still provides {name}; the stored value takes "
            f"effect only once that one is removed",
        )
    return ()


def _place(ref: SecretRef, cwd: Path) -> SecretRef:
    """The reference with a dotenv path made absolute: ``.env`` and ``$PWD/.env`` are one file."""
    if ref.scheme != "dotenv":
        return ref
    path, sep, variable = ref.location.rpartition("#")
    return SecretRef(
        ref.scheme, f"{os.path.normpath(cwd / Path(path).expanduser())}{sep}{variable}"
    )
