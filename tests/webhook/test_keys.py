"""signing_keys(): current, previous and extra references, every value registered."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import pytest
from keyring.errors import KeyringLocked

from cio_sec.errors import ExitCode, InputError, SecretMissingError
from cio_sec.redact import redact
from cio_sec.settings import CliFlags, Settings, read_settings
from cio_sec.stores.chain import store_opener
from cio_sec.webhook.keys import SigningKeys, parse_refs, signing_keys
from tests.support.memory_keyring import MemoryKeyring


def _settings() -> Settings:
    flags = CliFlags(profile=None, env_file=None, non_interactive=True, stdin_is_tty=False)
    return read_settings(flags, os.environ, cwd=Path.cwd())


def _keys(*refs: str, current_only: bool = False) -> SigningKeys:
    settings = _settings()
    opener = store_opener(settings, os.environ)
    return signing_keys(settings, opener, parse_refs(refs), current_only=current_only)


def test_current_and_previous_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", "current-signing-key")
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET_PREVIOUS", "previous-signing-key")
    keys = _keys()
    assert keys.labels == (
        "env:CUSTOMERIO_WEBHOOK_SECRET",
        "env:CUSTOMERIO_WEBHOOK_SECRET (previous)",
    )
    assert [key.previous for key in keys.active] == [False, True]
    assert redact("current-signing-key previous-signing-key") == "cu…ey pr…ey"
    only = _keys(current_only=True)
    assert only.labels == ("env:CUSTOMERIO_WEBHOOK_SECRET",)
    assert [key.label for key in only.inactive] == ["env:CUSTOMERIO_WEBHOOK_SECRET (previous)"]


def test_extra_references_and_duplicates(
    monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", "current-signing-key")
    monkeypatch.setenv("STAGING_WEBHOOK_KEY", "staging-signing-key")
    memory_keyring.set_password("cio-sec", "other/webhook", "current-signing-key")
    Path(".env").write_text("OTHER=dotenv-signing-key\nOTHER_PREVIOUS=dotenv-old-key\n")
    keys = _keys("env:STAGING_WEBHOOK_KEY", "keyring:cio-sec/other/webhook", "dotenv:.env#OTHER")
    assert keys.labels == (
        "env:CUSTOMERIO_WEBHOOK_SECRET",
        "env:STAGING_WEBHOOK_KEY",
        "dotenv:.env#OTHER",
        "dotenv:.env#OTHER (previous)",
    )
    assert keys.require().label == "env:CUSTOMERIO_WEBHOOK_SECRET"


def test_only_extra_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGING_WEBHOOK_KEY", "staging-signing-key")
    assert _keys("env:STAGING_WEBHOOK_KEY").labels == ("env:STAGING_WEBHOOK_KEY",)


def test_none_at_all() -> None:
    keys = _keys()
    assert keys.active == ()
    with pytest.raises(SecretMissingError) as caught:
        keys.require()
    assert "CUSTOMERIO_WEBHOOK_SECRET" in (caught.value.hint or "")


def test_an_empty_extra_reference_is_an_error() -> None:
    with pytest.raises(SecretMissingError, match="nothing is stored at env:NOPE"):
        _keys("env:NOPE")


def test_a_whitespace_only_key_is_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", " ")
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET_PREVIOUS", "previous-signing-key")
    monkeypatch.setenv("BLANK_WEBHOOK_KEY", "\t ")
    keys = _keys()
    assert keys.active == ()
    with pytest.raises(SecretMissingError, match="no webhook signing key is available"):
        keys.require()
    with pytest.raises(SecretMissingError, match="nothing is stored at env:BLANK_WEBHOOK_KEY"):
        _keys("env:BLANK_WEBHOOK_KEY")


@pytest.mark.parametrize(
    "text", ["not-a-reference", "canary0c4n4ry5ecret7e57", "gcp-sm:projects/p/secrets/s"]
)
def test_a_bad_reference_is_a_usage_error_that_never_echoes_it(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_refs([text])
    assert caught.value.exit_code == ExitCode.USAGE
    assert text not in caught.value.message
    assert caught.value.message.startswith("--secret-ref: ")


class LockedPreviousKeyring(MemoryKeyring):
    """A keyring whose ``@previous`` entries are locked (a real backend failure mode)."""

    def get_password(self, service: str, username: str) -> str | None:
        if username.endswith("@previous"):
            raise KeyringLocked("the collection is locked")
        return super().get_password(service, username)


def test_an_unreadable_previous_value_is_a_note() -> None:
    backend = LockedPreviousKeyring()
    backend.set_password("cio-sec", "default/webhook_signing_key", "current-signing-key")
    keyring.set_keyring(backend)
    keys = _keys()
    assert keys.labels == ("keyring:cio-sec/default/webhook_signing_key",)
    (note,) = keys.notes
    assert note.startswith(
        "the previous value at keyring:cio-sec/default/webhook_signing_key could not be read"
    )
