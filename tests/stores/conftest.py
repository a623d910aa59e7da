"""Fixtures for the store tests: a clean memory store, and real SecretService daemons."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
import pytest_socket
from keyring.backends import SecretService

from cio_sec.stores.memory import MemoryStore
from tests.support.memory_keyring import MemoryKeyring
from tests.support.secretservice import (
    SecretServiceDaemon,
    require_programs,
    running_secret_service,
)

#: The login keyring password of the shared daemon. Not a secret: the keyring is a
#: throwaway under a temporary HOME.
KEYRING_PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_memory_store() -> Iterator[None]:
    MemoryStore.reset()
    yield
    MemoryStore.reset()


@pytest.fixture
def unix_sockets(pytestconfig: pytest.Config) -> None:
    """Let the test reach Unix sockets (the D-Bus bus); TCP stays limited to loopback.

    pytest-socket's ``--allow-hosts`` also blocks Unix sockets unless
    ``--allow-unix-socket`` is given; its own teardown undoes this.
    """
    pytest_socket.socket_allow_hosts(
        pytestconfig.getoption("--allow-hosts"), allow_unix_socket=True
    )


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretServiceDaemon]:
    """One unlocked gnome-keyring Secret Service on a private bus, for the whole session."""
    require_programs()
    with running_secret_service(
        tmp_path_factory.mktemp("secretservice"), password=KEYRING_PASSWORD
    ) as daemon:
        yield daemon


@pytest.fixture(scope="module")
def secret_service_never_unlocked(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SecretServiceDaemon]:
    """gnome-keyring started without ``--unlock`` on a fresh HOME: no login collection."""
    require_programs()
    with running_secret_service(tmp_path_factory.mktemp("never-unlocked"), password=None) as daemon:
        yield daemon


@pytest.fixture(scope="module")
def secret_service_wrong_password(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SecretServiceDaemon]:
    """A login keyring created with one password, then a daemon unlocking with another."""
    require_programs()
    root = tmp_path_factory.mktemp("wrong-password")
    with running_secret_service(root, password=KEYRING_PASSWORD):
        pass  # creates HOME/.local/share/keyrings/login.keyring with KEYRING_PASSWORD
    with running_secret_service(root, password="not the password") as daemon:
        yield daemon


def use_secret_service(
    daemon: SecretServiceDaemon, monkeypatch: pytest.MonkeyPatch
) -> SecretService.Keyring:
    """Point this process at ``daemon``'s bus and select the SecretService backend."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", daemon.address)
    backend = SecretService.Keyring()  # type: ignore[no-untyped-call]
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def secretservice_keyring(
    secret_service: SecretServiceDaemon,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    unix_sockets: None,
) -> Iterator[SecretService.Keyring]:
    """The real SecretService backend on the shared unlocked daemon."""
    yield use_secret_service(secret_service, monkeypatch)
    keyring.set_keyring(memory_keyring)


@pytest.fixture
def restore_memory_keyring(memory_keyring: MemoryKeyring) -> Iterator[None]:
    """Put the memory keyring back after a test that selected another backend."""
    yield
    keyring.set_keyring(memory_keyring)


@pytest.fixture
def dotenv_path(hermetic_env: Path) -> Path:
    """Where a test's dotenv file goes: ``.env`` in the test's working directory."""
    return hermetic_env / ".env"
