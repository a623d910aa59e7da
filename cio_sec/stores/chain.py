"""Credential resolution: look a credential up along its chain of secret references.

Values never leave this module except inside `ResolvedCredential` (whose repr hides them)
and they are registered with the redactor by the stores as they are read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cio_sec.errors import SecretMissingError, SecretStoreUnavailableError
from cio_sec.redact import fingerprint, mask
from cio_sec.settings import CREDENTIAL_ENV_NAMES, Settings
from cio_sec.stores import SecretRef, SecretStore, open_store

#: Opens the store behind a reference; injected so tests and callers can substitute.
StoreOpener = Callable[[SecretRef], SecretStore]


@dataclass(frozen=True)
class StoreProblem:
    """A store in a credential's chain that could not be read."""

    ref: SecretRef
    message: str
    hint: str | None = None
    reason: str = ""
    """Why, in words shared by every entry of the store ("the keyring is locked")."""

    @classmethod
    def of(cls, ref: SecretRef, exc: SecretStoreUnavailableError) -> StoreProblem:
        """The problem ``exc`` reports for the store behind ``ref``."""
        return cls(ref, exc.message, exc.hint, exc.reason or exc.message)

    @property
    def store(self) -> str:
        """The kind of store, as people call it: ``keyring``, ``dotenv``, ``vault`` ..."""
        return self.ref.scheme

    def __str__(self) -> str:
        return f"{self.ref}: {self.message}"


@dataclass(frozen=True)
class ResolvedCredential:
    """Where a credential was looked for, where it was found, and (hidden) its value."""

    name: str
    chain: tuple[SecretRef, ...]
    source: SecretRef | None = None
    value: str | None = field(default=None, repr=False)
    version: str | None = None
    problems: tuple[StoreProblem, ...] = ()
    """Stores in the chain that could not be read (unavailable, locked ...)."""

    @property
    def found(self) -> bool:
        """True when some store in the chain held a value."""
        return self.value is not None

    def to_json(self) -> dict[str, object]:
        """Describe the credential without its value."""
        return {
            "name": self.name,
            "found": self.found,
            "source": str(self.source) if self.source else None,
            "chain": [str(ref) for ref in self.chain],
            "masked": mask(self.value) if self.value is not None else None,
            "fingerprint": fingerprint(self.value) if self.value is not None else None,
            "version": self.version,
            "problems": [str(problem) for problem in self.problems],
        }


def store_opener(settings: Settings, environ: Mapping[str, str]) -> StoreOpener:
    """Return the function that opens stores for these settings."""

    def _open(ref: SecretRef) -> SecretStore:
        return open_store(ref, environ=environ, cwd=settings.cwd)

    return _open


def resolve(settings: Settings, name: str, opener: StoreOpener) -> ResolvedCredential:
    """Look a credential up along its chain; the first store with a value wins.

    A store that cannot be read is noted and skipped, so that an env var still works on a
    machine without a keyring.

    Raises:
        ConfigError: the name or a reference is invalid.
    """
    chain = settings.references(name)
    problems: list[StoreProblem] = []
    for ref in chain:
        try:
            stored = opener(ref).get()
        except SecretStoreUnavailableError as exc:
            problems.append(StoreProblem.of(ref, exc))
            continue
        if stored is not None and stored.value:
            return ResolvedCredential(
                name, chain, ref, stored.value, stored.version, tuple(problems)
            )
    return ResolvedCredential(name, chain, problems=tuple(problems))


def require(settings: Settings, name: str, opener: StoreOpener) -> ResolvedCredential:
    """Resolve a credential that the command cannot do without.

    Raises:
        SecretMissingError: no store in the chain holds a value.
        SecretStoreUnavailableError: nothing was found and some store could not be read.
    """
    resolved = resolve(settings, name, opener)
    if resolved.found:
        return resolved
    where = ", ".join(str(ref) for ref in resolved.chain)
    hint = missing_hint(settings, name)
    if resolved.problems:
        raise SecretStoreUnavailableError(
            f"credential {name} not found; some stores could not be read: "
            + "; ".join(str(problem) for problem in resolved.problems),
            hint=resolved.problems[0].hint or hint,
        )
    raise SecretMissingError(f"credential {name} not found (looked in {where})", hint=hint)


def missing_hint(settings: Settings, name: str) -> str:
    """How to provide a credential that no store of its chain holds."""
    if settings.config_path is None:
        return (
            f"set {CREDENTIAL_ENV_NAMES[name]}, or run `cio-sec credentials set {name}` "
            "to store it in the keyring"
        )
    return f"run `cio-sec --profile {settings.profile} credentials set {name}`"
