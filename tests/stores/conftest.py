"""Fixtures for the store tests: a clean memory store, and real SecretService daemons."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cio_sec.stores.memory import MemoryStore
from tests.conftest import KEYRING_PASSWORD
from tests.support.secretservice import (
    SecretServiceDaemon,
    require_programs,
    running_secret_service,
)


@pytest.fixture(autouse=True)
def _fresh_memory_store() -> Iterator[None]:
    MemoryStore.reset()
    yield
    MemoryStore.reset()


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


@pytest.fixture
def dotenv_path(hermetic_env: Path) -> Path:
    """Where a test's dotenv file goes: ``.env`` in the test's working directory."""
    return hermetic_env / ".env"
