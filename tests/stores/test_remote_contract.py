"""The SecretStore contract on the production stores, against real local servers.

moto (server mode, a separate process) plays Secrets Manager and SSM; an OpenBao dev
server plays Vault. Unlike the local stores, every value read carries the store's version.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from cio_sec.errors import ConfigError, ExitCode
from cio_sec.redact import redact
from cio_sec.stores import SecretStore, open_store
from tests.conftest import CANARY
from tests.support.servers import MotoServer, VaultServer

pytestmark = pytest.mark.slow

FIRST = "first_value_0001"
SECOND = "second_value_0002"
THIRD = "third_value_0003"

KINDS = ["aws-sm", "aws-sm-field", "aws-ssm", "vault"]


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, hermetic_env: Path) -> SecretStore:
    unique = uuid.uuid4().hex[:12]
    if request.param == "vault":
        request.getfixturevalue("vault")
        ref = f"vault:secret/contract/{unique}#track_api_key"
    else:
        request.getfixturevalue("aws")
        ref = {
            "aws-sm": f"aws-sm:contract/{unique}",
            "aws-sm-field": f"aws-sm:contract/{unique}#track_api_key",
            "aws-ssm": f"aws-ssm:/contract/{unique}",
        }[request.param]
    return open_store(ref, environ=dict(os.environ), cwd=hermetic_env)


def test_is_writable_and_starts_empty(store: SecretStore) -> None:
    assert isinstance(store, SecretStore)
    assert store.writable is True
    assert store.get() is None
    assert store.get_previous() is None


def test_every_write_is_a_new_version_and_keeps_the_previous(store: SecretStore) -> None:
    first = store.put(FIRST)
    assert first.version is not None
    assert store.get() == first
    assert store.get_previous() is None
    second = store.put(SECOND)
    assert second.version not in (None, first.version)
    assert store.get() == second
    assert store.get_previous() == first
    third = store.put(THIRD)
    assert (store.get(), store.get_previous()) == (third, second)


def test_putting_the_current_value_again_writes_no_version(store: SecretStore) -> None:
    store.put(FIRST)
    second = store.put(SECOND)
    assert store.put(SECOND) == second  # a retried write must not push FIRST out
    assert store.get() == second
    previous = store.get_previous()
    assert previous is not None
    assert previous.value == FIRST


def test_rollback_restores_the_previous_version_and_can_be_undone(store: SecretStore) -> None:
    store.put(FIRST)
    store.put(SECOND)
    restored = store.rollback()
    assert restored.value == FIRST
    assert store.get() == restored
    replaced = store.get_previous()
    assert replaced is not None
    assert replaced.value == SECOND
    assert store.rollback().value == SECOND
    previous = store.get_previous()
    assert previous is not None
    assert previous.value == FIRST


def test_rollback_without_previous_is_a_config_error(store: SecretStore) -> None:
    with pytest.raises(ConfigError) as empty:
        store.rollback()
    assert empty.value.exit_code is ExitCode.CONFIG
    store.put(FIRST)
    with pytest.raises(ConfigError, match="roll back"):
        store.rollback()
    current = store.get()
    assert current is not None
    assert current.value == FIRST


def test_delete_removes_current_and_previous(store: SecretStore) -> None:
    store.put(FIRST)
    store.put(SECOND)
    store.delete()
    assert store.get() is None
    assert store.get_previous() is None
    store.delete()  # deleting nothing is not an error


def test_empty_value_is_refused(store: SecretStore) -> None:
    store.put(FIRST)
    with pytest.raises(ConfigError, match="empty value"):
        store.put("")
    current = store.get()
    assert current is not None
    assert current.value == FIRST


def test_values_read_are_redacted_and_never_described(store: SecretStore) -> None:
    store.put(CANARY)
    assert CANARY not in store.describe()
    assert CANARY not in repr(store.get())
    assert CANARY not in redact(f"leaked: {CANARY}")


def test_servers_are_real_processes(moto_server: MotoServer, vault_server: VaultServer) -> None:
    """The fixtures are separate servers on loopback, not in-process mocks."""
    assert moto_server.url.startswith("http://127.0.0.1:")
    assert vault_server.url.startswith("http://127.0.0.1:")
