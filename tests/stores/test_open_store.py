"""open_store(): every store kind opens, and every value handed out is redacted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cio_sec.redact import mask, redact
from cio_sec.stores import SecretRef, SecretStore, StoredValue, open_store
from cio_sec.stores.dotenv_file import DotenvStore
from cio_sec.stores.env import EnvStore
from cio_sec.stores.keyring_store import KeyringStore
from cio_sec.stores.memory import MemoryStore
from tests.support.memory_keyring import MemoryKeyring

CURRENT = "cur_5ecret_value_0001"
PREVIOUS = "prev_5ecret_value_0002"


@pytest.fixture
def seeded(hermetic_env: Path, memory_keyring: MemoryKeyring) -> dict[str, str]:
    """The same current and previous value in every store; returns the environment."""
    (hermetic_env / ".env").write_text(f"KEY={CURRENT}\nKEY_PREVIOUS={PREVIOUS}\n")
    (hermetic_env / ".env").chmod(0o600)
    memory_keyring.set_password("cio-sec", "prod/key", CURRENT)
    memory_keyring.set_password("cio-sec", "prod/key@previous", PREVIOUS)
    memory = MemoryStore.from_ref(
        SecretRef.parse("memory:key", internal=True), environ={}, cwd=hermetic_env
    )
    memory.put(PREVIOUS)
    memory.put(CURRENT)
    return {"KEY": CURRENT, "KEY_PREVIOUS": PREVIOUS}


#: Each reference kind, with the classmethod that opens its store without the wrapper.
REFS: dict[str, Callable[..., SecretStore]] = {
    "env:KEY": EnvStore.from_ref,
    "dotenv:.env#KEY": DotenvStore.from_ref,
    "keyring:cio-sec/prod/key": KeyringStore.from_ref,
    "memory:key": MemoryStore.from_ref,
}


@pytest.mark.parametrize("ref", list(REFS))
def test_every_kind_opens_as_a_secret_store(hermetic_env: Path, ref: str) -> None:
    store = open_store(ref, environ={}, cwd=hermetic_env)
    assert isinstance(store, SecretStore)
    assert store.ref == SecretRef.parse(ref, internal=True)
    assert store.writable is (ref.partition(":")[0] != "env")
    inner = REFS[ref](SecretRef.parse(ref, internal=True), environ={}, cwd=hermetic_env)
    assert store.describe() == inner.describe()


@pytest.mark.parametrize("ref", list(REFS))
def test_values_read_are_masked_from_then_on(
    hermetic_env: Path, seeded: dict[str, str], ref: str
) -> None:
    store = open_store(SecretRef.parse(ref, internal=True), environ=seeded, cwd=hermetic_env)
    log_line = f"using {CURRENT} (was {PREVIOUS})"
    assert redact(log_line) == log_line  # nothing registered yet

    assert store.get() == StoredValue(CURRENT)
    assert redact(log_line) == f"using {mask(CURRENT)} (was {PREVIOUS})"

    assert store.get_previous() == StoredValue(PREVIOUS)
    assert redact(log_line) == f"using {mask(CURRENT)} (was {mask(PREVIOUS)})"
    assert CURRENT not in redact(log_line)
    assert PREVIOUS not in redact(log_line)


@pytest.mark.parametrize("ref", [ref for ref in REFS if not ref.startswith("env:")])
def test_values_written_and_rolled_back_to_are_masked(
    hermetic_env: Path, seeded: dict[str, str], ref: str
) -> None:
    store = open_store(ref, environ=seeded, cwd=hermetic_env)
    new = "new_5ecret_value_0003"
    store.put(new)
    assert redact(new) == mask(new)
    assert redact(CURRENT) == CURRENT  # nothing has handed CURRENT out yet
    assert store.rollback() == StoredValue(CURRENT)
    assert redact(CURRENT) == mask(CURRENT)


def test_missing_values_register_nothing(hermetic_env: Path) -> None:
    store = open_store("env:UNSET", environ={}, cwd=hermetic_env)
    assert store.get() is None
    assert store.get_previous() is None
    assert redact("UNSET") == "UNSET"
