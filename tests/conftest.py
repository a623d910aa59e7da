"""Hermetic test environment: cleared env, temporary HOME/XDG dirs, memory keyring, canary."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
import pytest_socket
from hypothesis import settings as hypothesis_settings
from keyring.backends import SecretService

from cio_sec.redact import REDACTOR
from cio_sec.sandbox import Sandbox
from tests.support.cli import CliHarness
from tests.support.memory_keyring import ForbiddenKeyring, MemoryKeyring
from tests.support.sandbox import running_sandbox
from tests.support.secretservice import (
    SecretServiceDaemon,
    require_programs,
    running_secret_service,
)
from tests.support.servers import (
    MotoServer,
    VaultServer,
    running_moto,
    running_vault,
)

# No per-example deadline: on a loaded two-core CI machine a timing limit only produces
# flaky failures, and speed is measured by the benchmarks, never by tests.
hypothesis_settings.register_profile("cio-sec", deadline=None, print_blob=True)
hypothesis_settings.load_profile("cio-sec")

#: A recognisable secret. It is seeded into the environment and the memory keyring of
#: every test; `run_cli` fails the test if it ever appears in stdout or stderr.
CANARY = "canary0c4n4ry5ecret7e57"

# COVERAGE_* lets coverage follow the `cio-sec` subprocesses some tests start.
_KEEP_ENV = (
    "PATH",
    "SYSTEMROOT",
    "DBUS_SESSION_BUS_ADDRESS",
    "CI",
    "LANG",
    "LC_ALL",
    "COVERAGE_RUN",
    "COVERAGE_PROCESS_CONFIG",
)


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run every test with a cleared environment rooted in its own temporary directory."""
    kept = {name: os.environ[name] for name in _KEEP_ENV if name in os.environ}
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in kept.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("TEST_CANARY_SECRET", CANARY)
    monkeypatch.setenv("COLUMNS", "200")  # Rich folds wide tables at 80 otherwise
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    REDACTOR.clear()
    hermetic = dict(os.environ)
    yield work
    REDACTOR.clear()
    # Drop variables a test set directly; monkeypatch then restores the real environment.
    pytest_marker = os.environ.get("PYTEST_CURRENT_TEST")
    os.environ.clear()
    os.environ.update(hermetic)
    if pytest_marker is not None:
        os.environ["PYTEST_CURRENT_TEST"] = pytest_marker


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Give every test an in-memory keyring seeded with the canary; forbid real backends."""
    backend = MemoryKeyring()
    # In the default chain of a credential, so every command that resolves credentials
    # reads it, registers it and must keep it out of its output.
    backend.set_password("cio-sec", "default/pseudonym_key", CANARY)
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(ForbiddenKeyring())


@pytest.fixture
def watched_secrets() -> set[str]:
    """Secrets that must never appear in any output; tests and fixtures add to it."""
    return {CANARY}


@pytest.fixture
def run_cli(watched_secrets: set[str]) -> CliHarness:
    """Run cio-sec in-process; fails on an unexpected exit code or a leaked secret."""
    return CliHarness(watched_secrets)


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, watched_secrets: set[str]) -> Iterator[Sandbox]:
    """A running sandbox on 127.0.0.1, with cio-sec's environment pointed at it."""
    with running_sandbox(monkeypatch, watched_secrets) as started:
        yield started


#: The login keyring password of the shared daemon. Not a secret: the keyring is a
#: throwaway under a temporary HOME.
KEYRING_PASSWORD = "correct horse battery staple"


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


def use_secret_service(
    daemon: SecretServiceDaemon, monkeypatch: pytest.MonkeyPatch
) -> SecretService.Keyring:
    """Point this process at ``daemon``'s bus and select the SecretService backend."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", daemon.address)
    backend = SecretService.Keyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def secretservice_keyring(
    secret_service: SecretServiceDaemon,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    unix_sockets: None,
) -> SecretService.Keyring:
    """The real SecretService backend on the shared unlocked daemon.

    The autouse ``memory_keyring`` fixture takes the backend away again afterwards.
    """
    return use_secret_service(secret_service, monkeypatch)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One moto server (Secrets Manager, SSM, IAM) for the whole session."""
    with running_moto(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """The moto server, emptied, with boto3's standard configuration pointed at it."""
    moto_server.reset()
    for name, value in moto_server.env().items():
        monkeypatch.setenv(name, value)
    return moto_server


@pytest.fixture(scope="session")
def vault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VaultServer]:
    """One OpenBao dev server (KV v2 at ``secret/``) for the whole session."""
    with running_vault(tmp_path_factory.mktemp("vault")) as server:
        yield server


@pytest.fixture
def vault(vault_server: VaultServer, monkeypatch: pytest.MonkeyPatch) -> VaultServer:
    """The OpenBao dev server, with ``VAULT_ADDR`` and the root ``VAULT_TOKEN`` set."""
    monkeypatch.setenv("VAULT_ADDR", vault_server.url)
    monkeypatch.setenv("VAULT_TOKEN", vault_server.root_token)
    return vault_server
