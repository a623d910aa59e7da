"""KeyringStore against a real gnome-keyring Secret Service on a private D-Bus bus."""

# keyring's backend constructors are untyped.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import gc
import uuid
import warnings
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
import secretstorage
from keyring.backends import SecretService
from keyring.errors import InitError, KeyringLocked
from secretstorage.exceptions import SecretServiceNotAvailableException

from cio_sec.errors import ConfigError, SecretStoreUnavailableError
from cio_sec.stores import SecretStore, StoredValue, open_store
from cio_sec.stores.keyring_store import KeyringStore
from tests.conftest import use_secret_service
from tests.support.secretservice import SecretServiceDaemon

pytestmark = [pytest.mark.secretservice, pytest.mark.slow]

SECRET = "trk_live_5ecret_value_0001"
NEW_SECRET = "trk_live_5ecret_value_0002"


@pytest.fixture
def ref() -> str:
    """A reference to an entry no other test uses (the daemon is shared by the session)."""
    return f"keyring:cio-sec-test-{uuid.uuid4().hex[:8]}/prod/track_api_key"


def open_keyring(ref: str, environ: dict[str, str] | None = None) -> SecretStore:
    return open_store(ref, environ=environ or {}, cwd=Path.cwd())


def items_in_daemon(service: str, username: str) -> list[str]:
    """Read the daemon directly through secretstorage, bypassing keyring and cio-sec."""
    with closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        return [
            item.get_secret().decode("utf-8")
            for item in collection.search_items({"service": service, "username": username})
        ]


@pytest.mark.usefixtures("secretservice_keyring")
def test_put_get_rollback_delete_round_trip(ref: str) -> None:
    store = open_keyring(ref)
    service = ref.removeprefix("keyring:").partition("/")[0]

    assert store.get() is None
    assert store.put(SECRET) == StoredValue(SECRET)
    assert store.get() == StoredValue(SECRET)
    assert store.get_previous() is None

    store.put(NEW_SECRET)
    assert store.get() == StoredValue(NEW_SECRET)
    assert store.get_previous() == StoredValue(SECRET)
    assert items_in_daemon(service, "prod/track_api_key") == [NEW_SECRET]
    assert items_in_daemon(service, "prod/track_api_key@previous") == [SECRET]

    assert store.rollback() == StoredValue(SECRET)
    assert store.get() == StoredValue(SECRET)
    assert store.get_previous() == StoredValue(NEW_SECRET)

    store.delete()
    assert store.get() is None
    assert store.get_previous() is None
    assert items_in_daemon(service, "prod/track_api_key") == []
    assert items_in_daemon(service, "prod/track_api_key@previous") == []
    store.delete()  # deleting nothing is not an error


@pytest.mark.usefixtures("secretservice_keyring")
def test_values_survive_the_daemon_byte_for_byte(ref: str) -> None:
    store = open_keyring(ref)
    value = " spaces, 'quotes', \"double\", #hash, $dollar, ünïcødé, tab\there "
    store.put(value)
    assert store.get() == StoredValue(value)


@pytest.mark.usefixtures("secretservice_keyring")
def test_rollback_without_previous_is_a_config_error(ref: str) -> None:
    store = open_keyring(ref)
    store.put(SECRET)
    with pytest.raises(ConfigError, match="no previous value"):
        store.rollback()


@pytest.mark.usefixtures("secretservice_keyring")
def test_describe_names_the_secretservice_backend(ref: str) -> None:
    store = open_keyring(ref)
    service = ref.removeprefix("keyring:").partition("/")[0]
    assert store.describe() == (
        f"keyring service {service!r}, entry 'prod/track_api_key' (SecretService)"
    )


@pytest.mark.usefixtures("memory_keyring", "unix_sockets")
def test_python_keyring_backend_in_environ_selects_the_real_backend(
    secret_service: SecretServiceDaemon,
    memory_keyring: keyring.backend.KeyringBackend,
    monkeypatch: pytest.MonkeyPatch,
    ref: str,
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.address)
    environ = {"PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring"}
    store = open_keyring(ref, environ)

    store.put(SECRET)

    service = ref.removeprefix("keyring:").partition("/")[0]
    assert items_in_daemon(service, "prod/track_api_key") == [SECRET]
    assert memory_keyring.get_password(service, "prod/track_api_key") is None
    assert store.describe().endswith("(SecretService)")
    store.delete()


@pytest.mark.usefixtures("unix_sockets")
@pytest.mark.parametrize("operation", ["get", "put", "delete"])
def test_collection_never_unlocked_reports_the_dismissed_prompt(
    secret_service_never_unlocked: SecretServiceDaemon,
    monkeypatch: pytest.MonkeyPatch,
    ref: str,
    operation: str,
) -> None:
    # Observed: gnome-keyring asks the gcr prompter, which cannot open a display and
    # exits; secretstorage reports PromptDismissedException and keyring raises
    # InitError("Failed to create the collection: Prompt dismissed.."), for reads too.
    use_secret_service(secret_service_never_unlocked, monkeypatch)
    store = open_keyring(ref)

    failure = capture_failure(lambda: run(store, operation))

    assert failure.message.startswith(
        "keyring backend SecretService could not open its collection for keyring service"
    )
    assert "unlock prompt was dismissed" in failure.message
    assert "gnome-keyring-daemon --unlock --components=secrets" in failure.hint
    assert failure.cause_type is InitError
    assert failure.cause_text == "Failed to create the collection: Prompt dismissed.."
    assert SECRET not in failure.message + failure.hint


@pytest.mark.usefixtures("unix_sockets")
@pytest.mark.parametrize("operation", ["get", "put", "delete"])
def test_wrong_unlock_password_reports_a_locked_collection(
    secret_service_wrong_password: SecretServiceDaemon,
    monkeypatch: pytest.MonkeyPatch,
    ref: str,
    operation: str,
) -> None:
    # Observed: the daemon starts, the login keyring stays locked, the unlock prompt is
    # dismissed and keyring raises KeyringLocked("Failed to unlock the collection!").
    use_secret_service(secret_service_wrong_password, monkeypatch)
    store = open_keyring(ref)

    failure = capture_failure(lambda: run(store, operation))

    assert "could not unlock its collection" in failure.message
    assert "password given to gnome-keyring-daemon --unlock" in failure.hint
    assert failure.cause_type is KeyringLocked
    assert failure.cause_text == "Failed to unlock the collection!"
    assert SECRET not in failure.message + failure.hint


@pytest.mark.usefixtures("unix_sockets")
def test_bus_address_pointing_nowhere_is_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ref: str
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    keyring.set_keyring(SecretService.Keyring())

    with pytest.raises(SecretStoreUnavailableError, match="cannot reach keyring backend") as caught:
        open_keyring(ref).get()

    assert "FileNotFoundError" in caught.value.message
    assert isinstance(caught.value.__cause__, FileNotFoundError)
    assert caught.value.hint is not None
    assert "DBUS_SESSION_BUS_ADDRESS" in caught.value.hint


def test_no_session_bus_at_all_is_unavailable(monkeypatch: pytest.MonkeyPatch, ref: str) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    keyring.set_keyring(SecretService.Keyring())

    with pytest.raises(SecretStoreUnavailableError, match="is unset") as caught:
        open_keyring(ref).put(SECRET)

    assert isinstance(caught.value.__cause__, SecretServiceNotAvailableException)
    assert SECRET not in caught.value.message


def test_named_secretservice_backend_without_a_bus_cannot_be_used(
    monkeypatch: pytest.MonkeyPatch, ref: str
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    environ = {"PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring"}
    store = KeyringStore.from_ref(open_keyring(ref).ref, environ=environ, cwd=Path.cwd())

    with pytest.raises(SecretStoreUnavailableError, match="cannot be used here") as caught:
        store.get()

    assert caught.value.hint is not None
    assert "dbus-run-session" in caught.value.hint


@dataclass(frozen=True)
class Failure:
    message: str
    hint: str
    cause_type: type[BaseException] | None
    cause_text: str


def capture_failure(action: Callable[[], object]) -> Failure:
    """Run ``action``, expecting SecretStoreUnavailableError; return what it said.

    keyring's SecretService backend does not close its D-Bus connection when it cannot
    open or unlock the collection (keyring 25.7, ``get_preferred_collection``). The
    exception is dropped and collected here, where that ResourceWarning is expected,
    instead of surfacing in whichever later test the garbage collector runs in.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            action()
        except SecretStoreUnavailableError as exc:
            failure = Failure(
                exc.message,
                exc.hint or "",
                type(exc.__cause__) if exc.__cause__ else None,
                str(exc.__cause__),
            )
        else:
            pytest.fail("expected SecretStoreUnavailableError")
        gc.collect()
    return failure


def run(store: SecretStore, operation: str) -> None:
    if operation == "get":
        store.get()
    elif operation == "put":
        store.put(SECRET)
    else:
        store.delete()
