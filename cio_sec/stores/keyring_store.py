"""The ``keyring:SERVICE/USERNAME`` store: a secret in the OS keychain through `keyring`.

This module is imported only when a keyring reference is used: keyring's backends pull
in D-Bus libraries on Linux. It owns the translation of keyring's errors (and of the
D-Bus errors its SecretService backend lets through) into `SecretStoreUnavailableError`,
and it refuses backends that would store nothing or store plaintext, instead of falling
back to them silently.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import keyring
import keyring.core
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import (
    InitError,
    KeyringError,
    KeyringLocked,
    NoKeyringError,
    PasswordDeleteError,
)

from cio_sec.errors import ConfigError, SecretStoreUnavailableError
from cio_sec.stores import SecretRef, StoredValue

#: Why a keyring could not be read, in the words ``credentials show`` and ``check`` print.
NO_BACKEND = "no keyring backend is available"
LOCKED = "the keyring is locked"
NO_DBUS = "no D-Bus session bus (or no Secret Service on it)"
NO_DBUS_SESSION = "no D-Bus session (DBUS_SESSION_BUS_ADDRESS is unset)"

#: The previous value of ``SERVICE/USERNAME`` is the entry ``SERVICE/USERNAME@previous``.
PREVIOUS_SUFFIX = "@previous"

_T = TypeVar("_T")

_ALTERNATIVES = "or use an env:NAME or dotenv:PATH#NAME reference instead"

HEADLESS_HINT = (
    "on a headless Linux host, run cio-sec inside one D-Bus session with an unlocked "
    'keyring, for example: dbus-run-session -- sh -c \'printf %s "$KEYRING_PASSWORD" | '
    "gnome-keyring-daemon --unlock --components=secrets; cio-sec ...'; " + _ALTERNATIVES
)

UNLOCK_HINT = (
    "the login collection does not exist or is locked, and there is nobody to answer the "
    "unlock prompt: start the daemon with the keyring password on stdin, in the same "
    'D-Bus session as cio-sec: printf %s "$KEYRING_PASSWORD" | gnome-keyring-daemon '
    "--unlock --components=secrets (printf, because a trailing newline becomes part of "
    "the password); " + _ALTERNATIVES
)

LOCKED_HINT = (
    "the collection exists but stayed locked: the password given to gnome-keyring-daemon "
    "--unlock is not the one the keyring was created with, or the collection was locked "
    "again; restart the daemon with the right password (or, if it is lost, move "
    "~/.local/share/keyrings/login.keyring aside and store the secrets again); " + _ALTERNATIVES
)


class KeyringStore:
    """A secret in the OS keychain: service ``SERVICE``, username ``USERNAME``.

    The backend is the one `keyring` selects (`keyring.get_keyring()`, looked up at each
    operation), or the class named by ``PYTHON_KEYRING_BACKEND`` in the environment the
    store was opened with.
    """

    def __init__(
        self,
        ref: SecretRef,
        service: str,
        username: str,
        *,
        backend_name: str | None = None,
        session_bus: bool = True,
    ) -> None:
        self.ref = ref
        self.writable = True
        self.service = service
        self.username = username
        self.previous_username = username + PREVIOUS_SUFFIX
        self._backend_name = backend_name
        self._named_backend: KeyringBackend | None = None
        self._session_bus = session_bus
        """Whether DBUS_SESSION_BUS_ADDRESS was set (SecretService needs the session bus)."""

    @classmethod
    def from_ref(cls, ref: SecretRef, *, environ: Mapping[str, str], cwd: Path) -> KeyringStore:
        """Bind the store to the entry a ``keyring:SERVICE/USERNAME`` reference names.

        The first path segment is the service, the rest the username:
        ``keyring:cio-sec/prod/track_api_key`` is service ``cio-sec``, username
        ``prod/track_api_key``. ``cwd`` is unused.

        Raises:
            ConfigError: SERVICE or USERNAME is missing, or USERNAME ends with the
                reserved ``@previous``.
        """
        del cwd
        service, sep, username = ref.location.partition("/")
        if not sep or not service.strip() or not username.strip():
            raise ConfigError(
                f"this {ref.scheme}: reference does not name a keyring service and entry",
                hint="use keyring:SERVICE/USERNAME, for example keyring:cio-sec/prod/track_api_key",
            )
        if username.endswith(PREVIOUS_SUFFIX):
            raise ConfigError(
                f"this {ref.scheme}: reference ends with {PREVIOUS_SUFFIX!r}, which names the "
                "previous value of another entry",
                hint="choose an entry name that does not end with '@previous'",
            )
        backend_name = environ.get("PYTHON_KEYRING_BACKEND", "").strip() or None
        session_bus = bool(environ.get("DBUS_SESSION_BUS_ADDRESS", "").strip())
        return cls(ref, service, username, backend_name=backend_name, session_bus=session_bus)

    def get(self) -> StoredValue | None:
        """Return the entry's value, or None when there is none (or it is empty).

        Raises:
            SecretStoreUnavailableError: no usable backend, or the keyring is locked or
                unreachable.
        """
        return _stored(self._call(lambda backend: backend.get_password(*self._entry)))

    def get_previous(self) -> StoredValue | None:
        """Return the value of the ``USERNAME@previous`` entry, or None.

        Raises:
            SecretStoreUnavailableError: no usable backend, or the keyring is locked or
                unreachable.
        """
        return _stored(self._call(lambda backend: backend.get_password(*self._previous_entry)))

    def put(self, value: str) -> StoredValue:
        """Store ``value`` and keep the value it replaces in ``USERNAME@previous``.

        The previous entry is written first: if the second write fails, the old value is
        still current. Putting the value that is already current changes nothing.

        Raises:
            ConfigError: the value is empty.
            SecretStoreUnavailableError: no usable backend, or the keyring is locked or
                unreachable.
        """
        if not value:
            raise ConfigError(f"refusing to store an empty value in {self.describe()}")

        def write(backend: KeyringBackend) -> None:
            current = backend.get_password(*self._entry) or None
            if current == value:
                return
            if current is not None:
                backend.set_password(*self._previous_entry, current)
            backend.set_password(*self._entry, value)

        self._call(write)
        return StoredValue(value)

    def rollback(self) -> StoredValue:
        """Swap the entry and ``USERNAME@previous``; return the new current value.

        The current entry is written first: if the second write fails, the value rolled
        back to (the one known to work) is current.

        Raises:
            ConfigError: there is no previous value.
            SecretStoreUnavailableError: no usable backend, or the keyring is locked or
                unreachable.
        """
        current, previous = self._call(
            lambda backend: (
                backend.get_password(*self._entry) or None,
                backend.get_password(*self._previous_entry) or None,
            )
        )
        if previous is None:
            raise ConfigError(f"cannot roll back {self.describe()}: there is no previous value")

        def swap(backend: KeyringBackend) -> None:
            backend.set_password(*self._entry, previous)
            if current is None:
                _delete_if_present(backend, *self._previous_entry)
            else:
                backend.set_password(*self._previous_entry, current)

        self._call(swap)
        return StoredValue(previous)

    def delete(self) -> None:
        """Remove the entry and ``USERNAME@previous``; missing entries are not an error.

        Raises:
            SecretStoreUnavailableError: no usable backend, or the keyring is locked or
                unreachable.
        """

        def remove(backend: KeyringBackend) -> None:
            _delete_if_present(backend, *self._entry)
            _delete_if_present(backend, *self._previous_entry)

        self._call(remove)

    def describe(self) -> str:
        """Say which keyring entry holds the secret, and through which backend."""
        if self._backend_name is not None:
            label = _label(self._backend_name.rpartition(".")[0], self._backend_name)
        else:
            label = _backend_label(keyring.get_keyring())
        return f"{self._where()} ({label})"

    @property
    def _entry(self) -> tuple[str, str]:
        return self.service, self.username

    @property
    def _previous_entry(self) -> tuple[str, str]:
        return self.service, self.previous_username

    def _where(self) -> str:
        return f"keyring service {self.service!r}, entry {self.username!r}"

    def _call(self, operation: Callable[[KeyringBackend], _T]) -> _T:
        backend = self._backend()
        try:
            return operation(backend)
        except _backend_errors() as exc:
            raise self._unavailable(exc, backend) from exc

    def _backend(self) -> KeyringBackend:
        """Return the backend to use, refusing one that would not really store secrets."""
        if self._backend_name is None:
            backend = keyring.get_keyring()
        else:
            backend = self._load_named(self._backend_name)
        refusal = _refusal(backend)
        if refusal is not None:
            reason, hint = refusal
            raise SecretStoreUnavailableError(
                f"refusing to use keyring backend {_qualified_name(backend)} for "
                f"{self._where()}: {reason}",
                hint=hint,
                reason=self._no_backend_reason() if hint == HEADLESS_HINT else f"refused: {reason}",
            )
        return backend

    def _no_backend_reason(self) -> str:
        """On Linux the usual cause is a session without D-Bus (ssh, cron, a container)."""
        if sys.platform.startswith("linux") and not self._session_bus:
            return f"{NO_BACKEND}: {NO_DBUS_SESSION}"
        return NO_BACKEND

    def _load_named(self, name: str) -> KeyringBackend:
        if self._named_backend is not None:
            return self._named_backend
        try:
            backend = keyring.core.load_keyring(name)
        except RuntimeError as exc:
            # keyring's backends raise RuntimeError from `priority` when not usable here.
            raise SecretStoreUnavailableError(
                f"keyring backend {name!r} (PYTHON_KEYRING_BACKEND) cannot be used here: {exc}",
                hint=HEADLESS_HINT,
                reason=f"keyring backend {name} cannot be used here (no D-Bus session?)",
            ) from exc
        except (ImportError, AttributeError, ValueError, TypeError) as exc:
            raise SecretStoreUnavailableError(
                f"cannot load keyring backend {name!r} named by PYTHON_KEYRING_BACKEND",
                hint="set PYTHON_KEYRING_BACKEND to a backend class such as "
                "keyring.backends.SecretService.Keyring, or unset it",
            ) from exc
        if not isinstance(backend, KeyringBackend):
            raise SecretStoreUnavailableError(
                f"{name!r} named by PYTHON_KEYRING_BACKEND is not a keyring backend",
                hint="set PYTHON_KEYRING_BACKEND to a backend class such as "
                "keyring.backends.SecretService.Keyring, or unset it",
            )
        self._named_backend = backend
        return backend

    def _unavailable(self, exc: Exception, backend: KeyringBackend) -> SecretStoreUnavailableError:
        label = _backend_label(backend)
        where = self._where()
        # NOTE: keyring's own messages are fixed strings, but a third-party backend's
        # could echo anything, so generic errors show only the exception class.
        if isinstance(exc, NoKeyringError):
            message = f"no keyring backend is available for {where} ({label}: NoKeyringError)"
            hint, reason = HEADLESS_HINT, NO_BACKEND
        elif isinstance(exc, InitError) and "prompt dismissed" in str(exc).lower():
            message = (
                f"keyring backend {label} could not open its collection for {where}: "
                "the unlock prompt was dismissed"
            )
            hint, reason = UNLOCK_HINT, f"{LOCKED} ({label}: the unlock prompt was dismissed)"
        elif isinstance(exc, KeyringLocked):
            message = f"keyring backend {label} could not unlock its collection for {where}"
            hint, reason = LOCKED_HINT, f"{LOCKED} ({label} could not unlock its collection)"
        elif isinstance(exc, KeyringError):
            message = f"keyring backend {label} failed ({type(exc).__name__}) for {where}"
            hint = "re-run with --debug to see the cause; " + _ALTERNATIVES
            reason = f"keyring backend {label} failed ({type(exc).__name__})"
        else:
            message = (
                f"cannot reach keyring backend {label} for {where}: {type(exc).__name__}: {exc}"
            )
            hint = (
                "check that DBUS_SESSION_BUS_ADDRESS names the running session bus and that "
                "gnome-keyring-daemon runs on it; " + HEADLESS_HINT
            )
            reason = f"{NO_DBUS} ({label}: {type(exc).__name__})"
        return SecretStoreUnavailableError(message, hint=hint, reason=reason)


def _stored(value: str | None) -> StoredValue | None:
    return StoredValue(value) if value else None


def _delete_if_present(backend: KeyringBackend, service: str, username: str) -> None:
    try:
        backend.delete_password(service, username)
    except PasswordDeleteError:
        # Backends report a missing entry this way; anything still there is a real failure.
        if backend.get_password(service, username) is not None:
            raise


def _backend_errors() -> tuple[type[Exception], ...]:
    """Return the exceptions a backend raises when it cannot do its job.

    Besides keyring's own, the SecretService backend lets secretstorage's and jeepney's
    exceptions, and socket errors, through when the session bus is missing or gone. Only
    modules already imported (by the backend in use) are consulted.
    """
    errors: list[type[Exception]] = [KeyringError, OSError]
    for module_name, attribute in (
        ("secretstorage.exceptions", "SecretStorageException"),
        ("jeepney.wrappers", "DBusErrorResponse"),
    ):
        module = sys.modules.get(module_name)
        if module is not None:
            errors.append(getattr(module, attribute))
    return tuple(errors)


def _refusal(backend: KeyringBackend) -> tuple[str, str] | None:
    """Return (reason, hint) when ``backend`` would not really keep a secret safe."""
    if isinstance(backend, fail.Keyring):
        return "no keyring backend is available", HEADLESS_HINT
    if isinstance(backend, null.Keyring):
        return (
            "the null backend discards what is stored (keyring is disabled)",
            "unset PYTHON_KEYRING_BACKEND, or remove default-keyring from keyringrc.cfg "
            "(`keyring diagnose` shows where it is); " + _ALTERNATIVES,
        )
    if isinstance(backend, chainer.ChainerBackend):
        chained: list[KeyringBackend] = list(backend.backends)
        if not chained:
            return "the chainer backend has no backends to chain", HEADLESS_HINT
        for inner in chained:
            refusal = _refusal(inner)
            if refusal is not None:
                reason, hint = refusal
                return f"it chains {_qualified_name(inner)}, and {reason}", hint
    if "plaintext" in type(backend).__name__.lower():
        return (
            "it stores secrets unencrypted in a plain file",
            "select an encrypting backend (SecretService, macOS Keychain, Windows Credential "
            "Locker) with PYTHON_KEYRING_BACKEND, or use a dotenv:PATH#NAME reference, "
            "whose file cio-sec keeps at mode 0600 and checks",
        )
    return None


def _qualified_name(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _backend_label(backend: KeyringBackend) -> str:
    return _label(type(backend).__module__, _qualified_name(backend))


def _label(module: str, qualified: str) -> str:
    """Name a backend briefly: ``SecretService`` for keyring.backends.SecretService.Keyring."""
    name = qualified.rpartition(".")[2]
    if name == "Keyring" and module:
        return module.rpartition(".")[2]
    return name
