"""KeyringStore on the in-memory keyring, and its refusals and error translations."""

# keyring's backend constructors are untyped.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import re
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import (
    InitError,
    KeyringError,
    KeyringLocked,
    NoKeyringError,
    PasswordDeleteError,
    PasswordSetError,
)

from cio_sec.errors import ConfigError, ExitCode, SecretStoreUnavailableError
from cio_sec.stores import SecretRef, SecretStore, StoredValue, open_store
from cio_sec.stores.keyring_store import KeyringStore, _backend_errors
from tests.conftest import CANARY
from tests.support.memory_keyring import MemoryKeyring

REF = "keyring:cio-sec/prod/track_api_key"
SECRET = "trk_live_5ecret_value_0001"


def open_keyring(ref: str = REF, environ: dict[str, str] | None = None) -> SecretStore:
    return open_store(ref, environ=environ or {}, cwd=Path())


class RaisingKeyring(KeyringBackend):
    """A backend whose every operation raises the error it was given."""

    priority = 1

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error


class StickyKeyring(MemoryKeyring):
    """Says it cannot delete, and indeed keeps the password."""

    def delete_password(self, service: str, username: str) -> None:
        raise PasswordDeleteError("cannot delete")


class PlaintextKeyring(MemoryKeyring):
    """Stands in for keyrings.alt.file.PlaintextKeyring (keyrings.alt is not installed)."""


PlaintextKeyring.__module__ = "keyrings.alt.file"


class NotABackend:
    priority = 1


# --- entries and round trips ------------------------------------------------------------


def test_service_is_the_first_segment_and_username_the_rest(
    memory_keyring: MemoryKeyring,
) -> None:
    store = open_keyring()
    store.put(SECRET)
    assert memory_keyring.passwords[("cio-sec", "prod/track_api_key")] == SECRET
    store.put("trk_live_5ecret_value_0002")
    assert memory_keyring.passwords[("cio-sec", "prod/track_api_key@previous")] == SECRET


def test_reads_what_another_program_stored(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("cio-sec", "prod/track_api_key", SECRET)
    memory_keyring.set_password("cio-sec", "prod/track_api_key@previous", "older_value_0000")
    store = open_keyring()
    assert store.get() == StoredValue(SECRET)
    assert store.get_previous() == StoredValue("older_value_0000")


def test_empty_password_reads_as_missing(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("cio-sec", "prod/track_api_key", "")
    assert open_keyring().get() is None


def test_rollback_with_no_current_value_drops_the_previous_entry(
    memory_keyring: MemoryKeyring,
) -> None:
    memory_keyring.set_password("cio-sec", "prod/track_api_key@previous", SECRET)
    store = open_keyring()
    assert store.rollback() == StoredValue(SECRET)
    assert store.get() == StoredValue(SECRET)
    assert store.get_previous() is None
    assert ("cio-sec", "prod/track_api_key@previous") not in memory_keyring.passwords


def test_delete_leaves_other_entries(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("cio-sec", "prod/app_api_key", "app_value_0001")
    store = open_keyring()
    store.put(SECRET)
    store.put("trk_live_5ecret_value_0002")
    store.delete()
    assert memory_keyring.passwords == {
        ("cio-sec", "default/pseudonym_key"): CANARY,
        ("cio-sec", "prod/app_api_key"): "app_value_0001",
    }


def test_describe_names_service_entry_and_backend() -> None:
    assert open_keyring().describe() == (
        "keyring service 'cio-sec', entry 'prod/track_api_key' (MemoryKeyring)"
    )


def test_from_ref_directly() -> None:
    ref = SecretRef.parse(REF)
    store = KeyringStore.from_ref(ref, environ={}, cwd=Path())
    assert isinstance(store, SecretStore)
    assert (store.ref, store.service, store.username) == (ref, "cio-sec", "prod/track_api_key")
    assert store.previous_username == "prod/track_api_key@previous"
    assert store.writable is True


@pytest.mark.parametrize(
    "ref",
    ["keyring:cio-sec", "keyring:cio-sec/", "keyring:/track_api_key", "keyring: /x", "keyring:s/ "],
)
def test_missing_service_or_username_is_a_config_error(ref: str) -> None:
    with pytest.raises(ConfigError, match="does not name a keyring service and entry") as caught:
        open_keyring(ref)
    assert caught.value.hint is not None
    assert "keyring:SERVICE/USERNAME" in caught.value.hint


def test_username_ending_with_previous_suffix_is_reserved() -> None:
    with pytest.raises(ConfigError, match="@previous"):
        open_keyring("keyring:cio-sec/prod/track_api_key@previous")


# --- no silent fallback -----------------------------------------------------------------


def test_fail_backend_is_refused_with_the_headless_recipe() -> None:
    keyring.set_keyring(fail.Keyring())
    store = open_keyring()
    for action in (store.get, store.get_previous, lambda: store.put(SECRET), store.delete):
        with pytest.raises(SecretStoreUnavailableError) as caught:
            action()
        assert "keyring.backends.fail.Keyring" in caught.value.message
        assert "no keyring backend is available" in caught.value.message
        assert caught.value.exit_code is ExitCode.CONFIG
        assert caught.value.hint is not None
        assert "dbus-run-session" in caught.value.hint
        assert "gnome-keyring-daemon --unlock --components=secrets" in caught.value.hint
        assert "env:" in caught.value.hint
        assert "dotenv:" in caught.value.hint


def test_null_backend_is_refused() -> None:
    keyring.set_keyring(null.Keyring())
    with pytest.raises(
        SecretStoreUnavailableError, match=re.escape("keyring.backends.null.Keyring")
    ) as caught:
        open_keyring().put(SECRET)
    assert "discards" in caught.value.message
    assert caught.value.hint is not None
    assert "PYTHON_KEYRING_BACKEND" in caught.value.hint


def test_plaintext_backend_is_refused() -> None:
    keyring.set_keyring(PlaintextKeyring())
    with pytest.raises(SecretStoreUnavailableError, match="unencrypted") as caught:
        open_keyring().put(SECRET)
    assert "keyrings.alt.file.PlaintextKeyring" in caught.value.message
    assert caught.value.hint is not None
    assert "dotenv:" in caught.value.hint


def test_chainer_without_backends_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    keyring.set_keyring(chainer.ChainerBackend())
    with pytest.raises(SecretStoreUnavailableError, match="no backends to chain"):
        open_keyring().get()


def test_chainer_including_a_plaintext_backend_is_refused(
    monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [memory_keyring, PlaintextKeyring()])
    keyring.set_keyring(chainer.ChainerBackend())
    with pytest.raises(SecretStoreUnavailableError, match=re.escape("it chains keyrings.alt.file")):
        open_keyring().get()


def test_chainer_of_real_backends_is_used(
    monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [memory_keyring])
    keyring.set_keyring(chainer.ChainerBackend())
    store = open_keyring()
    store.put(SECRET)
    assert memory_keyring.passwords[("cio-sec", "prod/track_api_key")] == SECRET
    assert store.describe().endswith("(ChainerBackend)")


# --- PYTHON_KEYRING_BACKEND -------------------------------------------------------------


def test_python_keyring_backend_in_environ_is_honoured() -> None:
    environ = {"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    store = open_keyring(environ=environ)
    assert store.describe().endswith("(null)")
    with pytest.raises(SecretStoreUnavailableError, match="null"):
        store.get()


def test_named_backend_is_loaded_once() -> None:
    environ = {"PYTHON_KEYRING_BACKEND": "tests.support.memory_keyring.MemoryKeyring"}
    store = open_keyring(environ=environ)
    store.put(SECRET)
    assert store.get() == StoredValue(SECRET)  # same MemoryKeyring instance as the put
    assert store.describe().endswith("(MemoryKeyring)")


@pytest.mark.parametrize(
    "name",
    [
        "no.such.module.Keyring",
        "keyring.backends.NoSuchClass",
        "NoDots",
        "tests.stores.test_keyring_store.NotABackend",
    ],
)
def test_unloadable_python_keyring_backend_is_unavailable(name: str) -> None:
    store = open_keyring(environ={"PYTHON_KEYRING_BACKEND": name})
    with pytest.raises(SecretStoreUnavailableError, match="PYTHON_KEYRING_BACKEND") as caught:
        store.get()
    assert caught.value.hint is not None
    assert "keyring.backends.SecretService.Keyring" in caught.value.hint


# --- error translation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "message", "hint"),
    [
        (
            NoKeyringError("No recommended backend was available."),
            "no keyring backend is available for keyring service 'cio-sec'",
            "dbus-run-session",
        ),
        (
            InitError("Failed to create the collection: Prompt dismissed.."),
            "could not open its collection for keyring service 'cio-sec', entry "
            "'prod/track_api_key': the unlock prompt was dismissed",
            "--unlock",
        ),
        (
            KeyringLocked("Failed to unlock the collection!"),
            "could not unlock its collection for keyring service 'cio-sec'",
            "password given to gnome-keyring-daemon --unlock",
        ),
        (
            InitError("Failed to create the collection: something else."),
            "failed (InitError)",
            "--debug",
        ),
        (PasswordSetError("backend said no"), "failed (PasswordSetError)", "--debug"),
        (KeyringError(SECRET), "failed (KeyringError)", "--debug"),
        (ConnectionRefusedError(111, "Connection refused"), "cannot reach", "DBUS_SESSION"),
    ],
    ids=["no-keyring", "prompt-dismissed", "locked", "init", "set", "generic", "transport"],
)
@pytest.mark.parametrize("operation", ["get", "get_previous", "put", "rollback", "delete"])
def test_backend_errors_become_store_unavailable(
    error: Exception, message: str, hint: str, operation: str
) -> None:
    keyring.set_keyring(RaisingKeyring(error))
    store = open_keyring()

    action = (lambda: store.put(SECRET)) if operation == "put" else getattr(store, operation)

    with pytest.raises(SecretStoreUnavailableError) as caught:
        action()

    assert message in caught.value.message
    assert "RaisingKeyring" in caught.value.message
    assert caught.value.hint is not None
    assert hint in caught.value.hint
    assert caught.value.__cause__ is error
    assert SECRET not in caught.value.message + caught.value.hint


def test_delete_that_leaves_the_entry_behind_is_an_error() -> None:
    backend = StickyKeyring()
    backend.set_password("cio-sec", "prod/track_api_key", SECRET)
    keyring.set_keyring(backend)
    with pytest.raises(SecretStoreUnavailableError, match="failed \\(PasswordDeleteError\\)"):
        open_keyring().delete()


def test_delete_of_missing_entries_is_not_an_error() -> None:
    keyring.set_keyring(StickyKeyring())
    open_keyring().delete()


def test_backend_errors_include_dbus_errors_only_when_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import secretstorage.exceptions

    assert secretstorage.exceptions.SecretStorageException in _backend_errors()
    monkeypatch.delitem(sys.modules, "secretstorage.exceptions")
    monkeypatch.delitem(sys.modules, "jeepney.wrappers")
    assert _backend_errors() == (KeyringError, OSError)
