"""EnvStore: read-only secrets from the (injected) process environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from cio_sec.errors import ConfigError, ExitCode
from cio_sec.stores import SecretRef, SecretStore, StoredValue, open_store
from cio_sec.stores.env import EnvStore

ENVIRON = {
    "CUSTOMERIO_TRACK_API_KEY": "trk_current_value_123",
    "CUSTOMERIO_TRACK_API_KEY_PREVIOUS": "trk_previous_value_456",
    "EMPTY": "",
}


def open_env(name: str, environ: dict[str, str] | None = None) -> SecretStore:
    return open_store(f"env:{name}", environ=ENVIRON if environ is None else environ, cwd=Path())


def test_get_reads_the_variable() -> None:
    store = open_env("CUSTOMERIO_TRACK_API_KEY")
    assert store.get() == StoredValue("trk_current_value_123")
    assert store.get_previous() == StoredValue("trk_previous_value_456")


def test_missing_and_empty_variables_read_as_none() -> None:
    assert open_env("NOT_SET").get() is None
    assert open_env("NOT_SET").get_previous() is None
    assert open_env("EMPTY").get() is None


def test_reads_the_mapping_it_was_given_not_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", "from_os_environ_0000")
    assert open_env("CUSTOMERIO_TRACK_API_KEY", {}).get() is None


def test_is_read_only() -> None:
    store = open_env("CUSTOMERIO_TRACK_API_KEY")
    assert store.writable is False
    for action in (lambda: store.put("new_value_1234"), store.rollback, store.delete):
        with pytest.raises(ConfigError, match="the environment is read-only") as caught:
            action()
        assert caught.value.exit_code is ExitCode.CONFIG
        assert caught.value.hint is not None
        assert "dotenv:" in caught.value.hint
        assert "keyring:" in caught.value.hint
        assert "new_value_1234" not in caught.value.message
    assert ENVIRON["CUSTOMERIO_TRACK_API_KEY"] == "trk_current_value_123"


@pytest.mark.parametrize("name", ["1ABC", "WITH-DASH", "WITH SPACE", "A=B", "NAME#X", "ÄÖ"])
def test_invalid_names_are_config_errors(name: str) -> None:
    with pytest.raises(ConfigError, match="is not a valid variable name"):
        open_env(name)


def test_from_ref_directly() -> None:
    ref = SecretRef.parse("env:_Private_1")
    store = EnvStore.from_ref(ref, environ={"_Private_1": "value_abcd"}, cwd=Path())
    assert isinstance(store, SecretStore)
    assert store.ref == ref
    assert store.name == "_Private_1"
    assert store.get() == StoredValue("value_abcd")
    assert store.describe() == "environment variable _Private_1"


def test_describe_never_shows_the_value() -> None:
    description = open_env("CUSTOMERIO_TRACK_API_KEY").describe()
    assert description == "environment variable CUSTOMERIO_TRACK_API_KEY"
