"""MemoryStore: the process-global store for tests and library users."""

from __future__ import annotations

from pathlib import Path

import pytest

from cio_sec.errors import ConfigError
from cio_sec.stores import SecretRef, SecretStore, StoredValue, open_store
from cio_sec.stores.memory import MemoryStore


def open_memory(name: str = "track") -> SecretStore:
    return open_store(f"memory:{name}", environ={}, cwd=Path())


def test_round_trip() -> None:
    store = open_memory()
    assert store.writable is True
    assert store.get() is None
    store.put("first_value_0001")
    store.put("second_value_0002")
    assert store.get() == StoredValue("second_value_0002")
    assert store.get_previous() == StoredValue("first_value_0001")


def test_stores_on_the_same_name_share_the_value() -> None:
    open_memory("shared").put("shared_value_0001")
    assert open_memory("shared").get() == StoredValue("shared_value_0001")
    assert open_memory("other").get() is None


def test_reset_forgets_everything() -> None:
    open_memory("a").put("value_a_0001")
    open_memory("a").put("value_a_0002")
    open_memory("b").put("value_b_0001")
    MemoryStore.reset()
    assert open_memory("a").get() is None
    assert open_memory("a").get_previous() is None
    assert open_memory("b").get() is None


def test_blank_name_is_a_config_error() -> None:
    ref = SecretRef("memory", "   ")
    with pytest.raises(ConfigError, match="has no name"):
        MemoryStore.from_ref(ref, environ={}, cwd=Path())


def test_from_ref_directly() -> None:
    ref = SecretRef.parse("memory:prod/track", internal=True)
    store = MemoryStore.from_ref(ref, environ={}, cwd=Path())
    assert isinstance(store, SecretStore)
    assert store.ref == ref
    assert store.describe() == "in-memory secret 'prod/track'"
