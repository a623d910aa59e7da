"""Secret references (``env:``, ``dotenv:``, ``keyring:``, ``aws-sm:`` ...) and their stores.

A secret reference is a URI naming where one credential lives. `open_store()` turns a
reference into a `SecretStore` bound to that one location. Every value a store returns is
registered with the redactor before the caller sees it, so no store can forget to.

Each store kind lives in its own module and is imported only when a reference of that kind
is used (keyring pulls in D-Bus libraries, the production stores boto3 or hvac, which are
optional extras; start-up must stay cheap).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cio_sec.errors import ConfigError
from cio_sec.redact import register

#: scheme → (module, class). Modules are imported lazily by `open_store`.
_STORE_MODULES: dict[str, tuple[str, str]] = {
    "env": ("cio_sec.stores.env", "EnvStore"),
    "dotenv": ("cio_sec.stores.dotenv_file", "DotenvStore"),
    "keyring": ("cio_sec.stores.keyring_store", "KeyringStore"),
    "memory": ("cio_sec.stores.memory", "MemoryStore"),
    "aws-sm": ("cio_sec.stores.aws_secrets_manager", "SecretsManagerStore"),
    "aws-ssm": ("cio_sec.stores.aws_ssm", "ParameterStore"),
    "vault": ("cio_sec.stores.vault", "VaultStore"),
}

#: Known kinds that this version does not support (GCP has no local server to test against).
_PLANNED_SCHEMES = ("gcp-sm",)

SUPPORTED_SCHEMES = ("env", "dotenv", "keyring", "aws-sm", "aws-ssm", "vault")
_SYNTAX = (
    "use env:NAME, dotenv:PATH#NAME, keyring:SERVICE/USERNAME, aws-sm:NAME[#FIELD], "
    "aws-ssm:/PATH/NAME or vault:MOUNT/PATH#FIELD"
)


@dataclass(frozen=True)
class SecretRef:
    """A parsed secret reference such as ``keyring:cio-sec/prod/track_api_key``."""

    scheme: str
    location: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.location}"

    @classmethod
    def parse(cls, text: str, *, internal: bool = False) -> SecretRef:
        """Parse ``SCHEME:LOCATION``.

        The rejected text is never quoted in the error: what an operator pastes where a
        reference belongs is, often enough, the secret itself. ``memory:`` references
        (a process-local store that forgets everything at exit) are accepted only with
        ``internal=True``, for library callers and tests, never from config or ``--store``.

        Raises:
            ConfigError: the text is not a reference of a supported kind.
        """
        scheme, sep, location = text.strip().partition(":")
        scheme = scheme.lower()
        if not sep or not location:
            raise ConfigError("this is not a secret reference (SCHEME:LOCATION)", hint=_SYNTAX)
        if scheme in _PLANNED_SCHEMES:
            raise ConfigError(
                f"secret references of kind {scheme!r} are not supported by this version",
                hint=_SYNTAX,
            )
        known = scheme in SUPPORTED_SCHEMES or (internal and scheme in _STORE_MODULES)
        if not known:
            shown = f" {scheme!r}" if re.fullmatch(r"[a-z][a-z-]{0,15}", scheme) else ""
            raise ConfigError(f"unknown secret store kind{shown}", hint=_SYNTAX)
        return cls(scheme, location)


@dataclass(frozen=True)
class StoredValue:
    """A secret value as read from a store, with the store's version label if it has one."""

    value: str
    version: str | None = None

    def __repr__(self) -> str:
        # NOTE: never let the value reach a repr (tracebacks, debug logs, assertion diffs).
        return f"StoredValue(value=<hidden>, version={self.version!r})"


@runtime_checkable
class SecretStore(Protocol):
    """One secret's location in one store.

    Writes keep the value they replace as the *previous* value, so that a rotation can be
    rolled back and a webhook verifier can accept both keys during the overlap.
    """

    ref: SecretRef
    writable: bool

    def get(self) -> StoredValue | None:
        """Return the current value, or None when the location holds none.

        Raises:
            SecretStoreUnavailableError: the store cannot be reached or unlocked.
        """

    def get_previous(self) -> StoredValue | None:
        """Return the value the last `put` replaced, or None.

        Raises:
            SecretStoreUnavailableError: the store cannot be reached or unlocked.
        """

    def put(self, value: str) -> StoredValue:
        """Store a new current value, keeping the old one as previous; return what was stored.

        Raises:
            ConfigError: the store is read-only, or the value is empty.
            SecretStoreUnavailableError: the write failed.
        """

    def rollback(self) -> StoredValue:
        """Make the previous value current again (the replaced one becomes previous).

        Raises:
            ConfigError: there is no previous value, or the store is read-only.
            SecretStoreUnavailableError: the store cannot be reached or written.
        """

    def delete(self) -> None:
        """Remove the current and previous values; deleting nothing is not an error.

        Raises:
            ConfigError: the store is read-only.
            SecretStoreUnavailableError: the store cannot be reached or written.
        """

    def describe(self) -> str:
        """Say in a few words where the value lives (never the value)."""


class _RegisteringStore:
    """Wraps a store so every value it hands out is registered with the redactor."""

    def __init__(self, inner: SecretStore) -> None:
        self._inner = inner
        self.ref = inner.ref
        self.writable = inner.writable

    def get(self) -> StoredValue | None:
        return _registered(self._inner.get())

    def get_previous(self) -> StoredValue | None:
        return _registered(self._inner.get_previous())

    def put(self, value: str) -> StoredValue:
        register(value)
        return self._inner.put(value)

    def rollback(self) -> StoredValue:
        stored = self._inner.rollback()
        register(stored.value)
        return stored

    def delete(self) -> None:
        self._inner.delete()

    def describe(self) -> str:
        return self._inner.describe()


def _registered(stored: StoredValue | None) -> StoredValue | None:
    if stored is not None:
        register(stored.value)
    return stored


def check_reference(ref: SecretRef) -> None:
    """Validate a reference's location (file and variable, service and entry ...).

    Nothing is read or written: this only binds a store to the location, so that a
    config file can be checked when it is loaded.

    Raises:
        ConfigError: the location is malformed for its kind.
    """
    _store_class(ref).from_ref(ref, environ={}, cwd=Path("/"))


def _store_class(ref: SecretRef) -> Any:
    if ref.scheme not in _STORE_MODULES:
        raise ConfigError(f"unknown secret store kind {ref.scheme!r}", hint=_SYNTAX)
    module_name, class_name = _STORE_MODULES[ref.scheme]
    return getattr(importlib.import_module(module_name), class_name)


def open_store(
    ref: SecretRef | str,
    *,
    environ: Mapping[str, str],
    cwd: Path,
) -> SecretStore:
    """Return the store behind a reference, bound to its one location.

    ``environ`` is the process environment (the ``env:`` store reads it and the keyring
    store honours ``PYTHON_KEYRING_BACKEND``); ``cwd`` anchors relative dotenv paths.

    Raises:
        ConfigError: the reference is malformed or of an unsupported kind.
    """
    parsed = SecretRef.parse(ref, internal=True) if isinstance(ref, str) else ref
    store: SecretStore = _store_class(parsed).from_ref(parsed, environ=environ, cwd=cwd)
    return _RegisteringStore(store)
