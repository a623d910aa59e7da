"""The read-only ``env:NAME`` store: a secret held in the process environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from cio_sec.errors import ConfigError
from cio_sec.stores import SecretRef, StoredValue

#: What a portable environment variable name looks like (POSIX: letters, digits, `_`).
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: The suffix that names the variable holding the previous value of ``NAME``.
PREVIOUS_SUFFIX = "_PREVIOUS"


def check_variable_name(name: str, ref: SecretRef) -> str:
    """Return ``name`` if it is a usable environment variable name.

    Raises:
        ConfigError: the name is empty or has characters other than letters, digits
            and ``_``, or starts with a digit.
    """
    if not _VARIABLE_NAME.fullmatch(name):
        raise ConfigError(
            f"this {ref.scheme}: reference is not a valid variable name",
            hint="use letters, digits and '_' only, not starting with a digit "
            "(for example CUSTOMERIO_TRACK_API_KEY)",
        )
    return name


class EnvStore:
    """A secret in an environment variable; the previous value is in ``NAME_PREVIOUS``.

    The environment is read-only: cio-sec cannot change the environment of the process
    that will use the secret, so writes are refused with a pointer to writable stores.
    """

    def __init__(self, ref: SecretRef, name: str, environ: Mapping[str, str]) -> None:
        self.ref = ref
        self.writable = False
        self.name = name
        self._environ = environ

    @classmethod
    def from_ref(cls, ref: SecretRef, *, environ: Mapping[str, str], cwd: Path) -> EnvStore:
        """Bind the store to the variable an ``env:NAME`` reference names.

        ``cwd`` is unused; it is accepted because every store kind is opened alike.

        Raises:
            ConfigError: NAME is not a valid environment variable name.
        """
        del cwd
        return cls(ref, check_variable_name(ref.location, ref), environ)

    def get(self) -> StoredValue | None:
        """Return the variable's value; an unset or empty variable counts as missing.

        Raises:
            Nothing: reading the environment cannot fail.
        """
        return self._read(self.name)

    def get_previous(self) -> StoredValue | None:
        """Return the value of ``NAME_PREVIOUS``, or None when it is unset or empty.

        Raises:
            Nothing: reading the environment cannot fail.
        """
        return self._read(self.name + PREVIOUS_SUFFIX)

    def put(self, value: str) -> StoredValue:
        """Refuse: the environment is read-only.

        Raises:
            ConfigError: always.
        """
        raise self._read_only()

    def rollback(self) -> StoredValue:
        """Refuse: the environment is read-only.

        Raises:
            ConfigError: always.
        """
        raise self._read_only()

    def delete(self) -> None:
        """Refuse: the environment is read-only.

        Raises:
            ConfigError: always.
        """
        raise self._read_only()

    def describe(self) -> str:
        """Say which variable holds the secret."""
        return f"environment variable {self.name}"

    def _read(self, name: str) -> StoredValue | None:
        value = self._environ.get(name)
        return StoredValue(value) if value else None

    def _read_only(self) -> ConfigError:
        return ConfigError(
            f"cannot change {self.describe()}: the environment is read-only",
            hint="store the secret with a dotenv:PATH#NAME or keyring:SERVICE/USERNAME "
            "reference, and point the process that uses it there",
        )
