"""The SecretStore contract, checked on every writable store through `open_store`.

One suite for every store: the in-process ones (memory, dotenv, the keyring on the
in-memory backend), the keyring on a real Secret Service, and the production stores on
real local servers (moto, a separate process, plays Secrets Manager and SSM; an OpenBao
dev server plays Vault). The secret managers label every value with its version; the
other stores have none, and their values compare equal to a plain `StoredValue`.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cio_sec.errors import ConfigError, ExitCode
from cio_sec.redact import redact
from cio_sec.stores import SecretStore, StoredValue, open_store
from tests.conftest import CANARY
from tests.support.servers import MotoServer, VaultServer

FIRST = "first_value_0001"
SECOND = "second_value_0002"
THIRD = "third_value_0003"


@dataclass(frozen=True)
class Kind:
    """A store kind under test: how to reach a fresh entry, and whether it keeps versions."""

    name: str
    ref: str
    """The reference; ``{unique}`` is replaced by a fresh id (the servers are shared)."""
    versioned: bool = False
    server: str | None = None
    """The fixture that points the process at the kind's server or daemon."""


LOCAL_KINDS = [
    Kind("memory", "memory:contract/track_api_key"),
    Kind("dotenv", "dotenv:.env#CONTRACT_TRACK_API_KEY"),
    Kind("keyring", "keyring:cio-sec/contract/track_api_key"),
]
SECRET_SERVICE = Kind(
    "keyring-secretservice",
    "keyring:cio-sec-test-{unique}/contract/track_api_key",
    server="secretservice_keyring",
)
REMOTE_KINDS = [
    Kind("aws-sm", "aws-sm:contract/{unique}", versioned=True, server="aws"),
    Kind("aws-sm-field", "aws-sm:contract/{unique}#track_api_key", versioned=True, server="aws"),
    Kind("aws-ssm", "aws-ssm:/contract/{unique}", versioned=True, server="aws"),
    Kind("vault", "vault:secret/contract/{unique}#track_api_key", versioned=True, server="vault"),
]
EVERY_KIND = [
    *LOCAL_KINDS,
    pytest.param(SECRET_SERVICE, marks=[pytest.mark.secretservice, pytest.mark.slow]),
    # The servers take seconds to start: `make test-fast` leaves them out.
    *(pytest.param(kind, marks=pytest.mark.slow) for kind in REMOTE_KINDS),
]

#: Each example starts from a deleted entry, so sharing the function-scoped store (and
#: its temporary directory) between examples is safe.
PROPERTY_SETTINGS = settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@dataclass(frozen=True)
class Case:
    """A store under test and what its kind promises about versions."""

    store: SecretStore
    versioned: bool

    def check_versions(self, *values: StoredValue | None) -> None:
        """Versioned stores label every value; the others label none."""
        for value in values:
            assert value is not None
            if self.versioned:
                assert value.version is not None
            else:
                assert value == StoredValue(value.value, version=None)


def _open(kind: Kind, request: pytest.FixtureRequest, cwd: Path) -> Case:
    if kind.server is not None:
        request.getfixturevalue(kind.server)
    ref = kind.ref.format(unique=uuid.uuid4().hex[:12])
    return Case(open_store(ref, environ=dict(os.environ), cwd=cwd), kind.versioned)


@pytest.fixture(params=EVERY_KIND, ids=lambda kind: kind.name)
def case(request: pytest.FixtureRequest, hermetic_env: Path) -> Case:
    return _open(request.param, request, hermetic_env)


@pytest.fixture(params=LOCAL_KINDS, ids=lambda kind: kind.name)
def local_store(request: pytest.FixtureRequest, hermetic_env: Path) -> SecretStore:
    return _open(request.param, request, hermetic_env).store


def test_is_writable_and_starts_empty(case: Case) -> None:
    store = case.store
    assert isinstance(store, SecretStore)
    assert store.writable is True
    assert store.get() is None
    assert store.get_previous() is None


def test_first_put_has_no_previous(case: Case) -> None:
    store = case.store
    first = store.put(FIRST)
    assert first.value == FIRST
    case.check_versions(first)
    assert store.get() == first
    assert store.get_previous() is None


def test_every_put_keeps_the_replaced_value_as_previous(case: Case) -> None:
    store = case.store
    first = store.put(FIRST)
    second = store.put(SECOND)
    case.check_versions(first, second)
    if case.versioned:
        assert second.version != first.version  # every write is a new version
    assert store.get() == second
    assert store.get_previous() == first
    third = store.put(THIRD)
    assert (store.get(), store.get_previous()) == (third, second)
    assert (third.value, second.value) == (THIRD, SECOND)


def test_putting_the_current_value_again_keeps_the_previous(case: Case) -> None:
    store = case.store
    store.put(FIRST)
    second = store.put(SECOND)
    assert store.put(SECOND) == second  # a retried write must not push FIRST out
    assert store.get() == second
    previous = store.get_previous()
    case.check_versions(previous)
    assert previous is not None
    assert previous.value == FIRST


def test_rollback_swaps_current_and_previous_and_can_be_undone(case: Case) -> None:
    store = case.store
    store.put(FIRST)
    store.put(SECOND)
    restored = store.rollback()
    assert restored.value == FIRST
    assert store.get() == restored
    replaced = store.get_previous()
    case.check_versions(restored, replaced)
    assert replaced is not None
    assert replaced.value == SECOND
    undone = store.rollback()
    assert undone.value == SECOND
    previous = store.get_previous()
    case.check_versions(undone, previous)
    assert previous is not None
    assert previous.value == FIRST


def test_rollback_without_previous_is_a_config_error(case: Case) -> None:
    store = case.store
    with pytest.raises(ConfigError) as empty:
        store.rollback()
    assert empty.value.exit_code is ExitCode.CONFIG
    store.put(FIRST)
    with pytest.raises(ConfigError, match="roll back"):
        store.rollback()
    current = store.get()
    case.check_versions(current)
    assert current is not None
    assert current.value == FIRST


def test_delete_removes_current_and_previous(case: Case) -> None:
    store = case.store
    store.put(FIRST)
    store.put(SECOND)
    store.delete()
    assert store.get() is None
    assert store.get_previous() is None
    store.delete()  # deleting nothing is not an error


def test_empty_value_is_refused(case: Case) -> None:
    store = case.store
    store.put(FIRST)
    with pytest.raises(ConfigError, match="empty value"):
        store.put("")
    current = store.get()
    case.check_versions(current)
    assert current is not None
    assert current.value == FIRST


def test_values_read_are_redacted_and_never_described(case: Case) -> None:
    store = case.store
    store.put(FIRST)
    assert FIRST not in store.describe()
    store.put(CANARY)
    assert CANARY not in store.describe()
    assert CANARY not in repr(store.get())
    assert CANARY not in redact(f"leaked: {CANARY}")


# NOTE: the in-process stores only: 60 examples of any text against the shared servers
# would be slow, and a server's own limits on values are not the contract.
@PROPERTY_SETTINGS
@given(old=st.text(min_size=1), new=st.text(min_size=1))
def test_put_then_two_rollbacks_return_to_the_put_value(
    local_store: SecretStore, old: str, new: str
) -> None:
    store = local_store
    store.delete()
    store.put(old)
    store.put(new)
    if old == new:
        with pytest.raises(ConfigError):
            store.rollback()
        assert store.get() == StoredValue(new)
        return
    assert store.rollback() == StoredValue(old)
    assert store.get_previous() == StoredValue(new)
    assert store.rollback() == StoredValue(new)
    assert store.get() == StoredValue(new)
    assert store.get_previous() == StoredValue(old)


@pytest.mark.slow
def test_servers_are_real_processes(moto_server: MotoServer, vault_server: VaultServer) -> None:
    """The fixtures are separate servers on loopback, not in-process mocks."""
    assert moto_server.url.startswith("http://127.0.0.1:")
    assert vault_server.url.startswith("http://127.0.0.1:")
