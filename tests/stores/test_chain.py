"""Credential resolution on plain data: the first store with a value wins, failures are named."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from cio_sec.errors import SecretMissingError, SecretStoreUnavailableError
from cio_sec.settings import CliFlags, Settings, load_settings
from cio_sec.stores import SecretRef, StoredValue
from cio_sec.stores.chain import require, resolve, store_opener
from tests.conftest import CANARY


def settings_for(config: str | None = None, **env: str) -> Settings:
    environ = {**os.environ, **env}
    return load_settings(CliFlags(), environ, cwd=Path.cwd(), config_text=config)


@pytest.fixture
def no_keyring() -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())


@pytest.mark.usefixtures("no_keyring")
def test_an_unavailable_store_is_noted_and_skipped() -> None:
    settings = settings_for()
    opener = store_opener(settings, {"CUSTOMERIO_SITE_ID": "0123456789abcdef0123"})
    found = resolve(settings, "site_id", opener)
    assert found.source == SecretRef("env", "CUSTOMERIO_SITE_ID")
    missing = resolve(settings, "app_api_key", opener)
    assert not missing.found
    assert len(missing.problems) == 1
    assert "keyring:cio-sec/default/app_api_key" in str(missing.problems[0])
    with pytest.raises(SecretStoreUnavailableError, match="some stores could not be read"):
        require(settings, "app_api_key", opener)


def test_require_names_the_variable_or_the_profile_to_fix() -> None:
    settings = settings_for()
    opener = store_opener(settings, {})
    with pytest.raises(SecretMissingError) as caught:
        require(settings, "webhook_signing_key", opener)
    assert caught.value.hint is not None
    assert "CUSTOMERIO_WEBHOOK_SECRET" in caught.value.hint
    profiled = settings_for("[profiles.prod]\n", CIO_SEC_PROFILE="prod")
    with pytest.raises(SecretMissingError) as caught:
        require(profiled, "site_id", store_opener(profiled, {}))
    assert caught.value.hint == "run `cio-sec --profile prod credentials set site_id`"
    assert require(settings, "site_id", store_opener(settings, {"CUSTOMERIO_SITE_ID": "s" * 20}))


def test_resolved_credentials_never_show_their_value() -> None:
    settings = settings_for()
    found = resolve(
        settings, "track_api_key", store_opener(settings, {"CUSTOMERIO_TRACK_API_KEY": CANARY})
    )
    assert CANARY not in repr(found)
    assert CANARY not in str(found.to_json())
    assert CANARY not in repr(StoredValue(CANARY))
