"""The SecretStore contract, checked on every writable store through `open_store`.

The keyring store runs on the in-memory keyring here; test_keyring_secretservice.py runs
it on a real Secret Service.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cio_sec.errors import ConfigError, ExitCode
from cio_sec.stores import SecretStore, StoredValue, open_store

WRITABLE_REFS = [
    "memory:contract/track_api_key",
    "dotenv:.env#CONTRACT_TRACK_API_KEY",
    "keyring:cio-sec/contract/track_api_key",
]

FIRST = "first_value_0001"
SECOND = "second_value_0002"
THIRD = "third_value_0003"

#: Each example starts from a deleted entry, so sharing the function-scoped store (and
#: its temporary directory) between examples is safe.
PROPERTY_SETTINGS = settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(params=WRITABLE_REFS, ids=lambda ref: ref.partition(":")[0])
def store(request: pytest.FixtureRequest, hermetic_env: Path) -> SecretStore:
    return open_store(request.param, environ={"HOME": str(Path.home())}, cwd=hermetic_env)


def test_is_writable_and_starts_empty(store: SecretStore) -> None:
    assert isinstance(store, SecretStore)
    assert store.writable is True
    assert store.get() is None
    assert store.get_previous() is None


def test_first_put_has_no_previous(store: SecretStore) -> None:
    assert store.put(FIRST) == StoredValue(FIRST, version=None)
    assert store.get() == StoredValue(FIRST, version=None)
    assert store.get_previous() is None


def test_put_keeps_the_replaced_value_as_previous(store: SecretStore) -> None:
    store.put(FIRST)
    store.put(SECOND)
    assert store.get() == StoredValue(SECOND)
    assert store.get_previous() == StoredValue(FIRST)
    store.put(THIRD)
    assert store.get() == StoredValue(THIRD)
    assert store.get_previous() == StoredValue(SECOND)


def test_putting_the_current_value_again_keeps_the_previous(store: SecretStore) -> None:
    store.put(FIRST)
    store.put(SECOND)
    store.put(SECOND)  # a retried write must not push FIRST out
    assert store.get() == StoredValue(SECOND)
    assert store.get_previous() == StoredValue(FIRST)


def test_rollback_swaps_current_and_previous(store: SecretStore) -> None:
    store.put(FIRST)
    store.put(SECOND)
    assert store.rollback() == StoredValue(FIRST)
    assert store.get() == StoredValue(FIRST)
    assert store.get_previous() == StoredValue(SECOND)
    assert store.rollback() == StoredValue(SECOND)
    assert store.get_previous() == StoredValue(FIRST)


def test_rollback_without_previous_is_a_config_error(store: SecretStore) -> None:
    with pytest.raises(ConfigError) as empty:
        store.rollback()
    assert empty.value.exit_code is ExitCode.CONFIG
    store.put(FIRST)
    with pytest.raises(ConfigError, match="roll back"):
        store.rollback()
    assert store.get() == StoredValue(FIRST)


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
    assert store.get() == StoredValue(FIRST)


def test_describe_never_contains_the_value(store: SecretStore) -> None:
    store.put(FIRST)
    assert FIRST not in store.describe()


@PROPERTY_SETTINGS
@given(old=st.text(min_size=1), new=st.text(min_size=1))
def test_put_then_two_rollbacks_return_to_the_put_value(
    store: SecretStore, old: str, new: str
) -> None:
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
