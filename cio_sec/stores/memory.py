"""The ``memory:NAME`` store: process-global, for tests and for library users."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from cio_sec.errors import ConfigError
from cio_sec.stores import SecretRef, StoredValue


class MemoryStore:
    """A secret kept in a dict shared by every `MemoryStore` of the process.

    Two stores opened on the same ``memory:NAME`` see the same value, as two stores
    opened on the same keyring entry would. `reset()` forgets everything.
    """

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _current: ClassVar[dict[str, str]] = {}
    _previous: ClassVar[dict[str, str]] = {}

    def __init__(self, ref: SecretRef, name: str) -> None:
        self.ref = ref
        self.writable = True
        self.name = name

    @classmethod
    def from_ref(cls, ref: SecretRef, *, environ: Mapping[str, str], cwd: Path) -> MemoryStore:
        """Bind the store to the name a ``memory:NAME`` reference gives.

        ``environ`` and ``cwd`` are unused; every store kind is opened alike.

        Raises:
            ConfigError: NAME is blank.
        """
        del environ, cwd
        if not ref.location.strip():
            raise ConfigError(f"this {ref.scheme}: reference has no name")
        return cls(ref, ref.location)

    @classmethod
    def reset(cls) -> None:
        """Forget every value held by every memory store of the process."""
        with cls._lock:
            cls._current.clear()
            cls._previous.clear()

    def get(self) -> StoredValue | None:
        """Return the current value, or None.

        Raises:
            Nothing: memory cannot be unavailable.
        """
        with self._lock:
            return _stored(self._current.get(self.name))

    def get_previous(self) -> StoredValue | None:
        """Return the value the last `put` replaced, or None.

        Raises:
            Nothing: memory cannot be unavailable.
        """
        with self._lock:
            return _stored(self._previous.get(self.name))

    def put(self, value: str) -> StoredValue:
        """Make ``value`` current and keep the value it replaces as previous.

        Putting the value that is already current changes nothing, so a retried write
        cannot push the real previous value out.

        Raises:
            ConfigError: the value is empty.
        """
        if not value:
            raise ConfigError(f"refusing to store an empty value in {self.describe()}")
        with self._lock:
            current = self._current.get(self.name)
            if current is not None and current != value:
                self._previous[self.name] = current
            self._current[self.name] = value
        return StoredValue(value)

    def rollback(self) -> StoredValue:
        """Swap the current and previous values; return the new current one.

        Raises:
            ConfigError: there is no previous value.
        """
        with self._lock:
            previous = self._previous.get(self.name)
            if previous is None:
                raise ConfigError(f"cannot roll back {self.describe()}: there is no previous value")
            # A previous value exists only next to a current one: put made it so.
            self._previous[self.name] = self._current[self.name]
            self._current[self.name] = previous
        return StoredValue(previous)

    def delete(self) -> None:
        """Forget the current and previous values.

        Raises:
            Nothing: deleting nothing is not an error.
        """
        with self._lock:
            self._current.pop(self.name, None)
            self._previous.pop(self.name, None)

    def describe(self) -> str:
        """Say which in-memory entry holds the secret."""
        return f"in-memory secret {self.name!r}"


def _stored(value: str | None) -> StoredValue | None:
    return StoredValue(value) if value else None
