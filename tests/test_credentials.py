"""The credentials core on plain data: resolution chains, writes and failures."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from cio_sec.credentials import CheckRequest, check, set_credential
from cio_sec.errors import (
    ConfigError,
    SecretMissingError,
    SecretStoreUnavailableError,
)
from cio_sec.settings import CliFlags, Settings, load_settings
from cio_sec.stores import SecretRef, StoredValue
from cio_sec.stores.chain import require, resolve, store_opener
from cio_sec.stores.memory import MemoryStore
from cio_sec.stores.writing import shape_warnings, target_store
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


def test_shape_warnings() -> None:
    assert shape_warnings("site_id", "0123456789abcdef0123") == ()
    assert shape_warnings("app_api_key", " " + "a" * 32) == (
        "the app_api_key value has leading or trailing whitespace",
    )
    assert "20 lowercase hex" in shape_warnings("track_api_key", "ABC")[0]
    assert shape_warnings("webhook_signing_key", "anything") == ()


def test_writes_go_to_the_only_writable_store_or_fail_clearly() -> None:
    settings = settings_for(
        "[profiles.default]\n"
        "site_id = ['env:SITE', 'dotenv:site.env#SITE']\n"
        "app_api_key = 'env:APP'\n"
    )
    opener = store_opener(settings, {})
    assert target_store(settings, "site_id", None, opener).ref.scheme == "dotenv"
    with pytest.raises(ConfigError, match="no writable store configured for app_api_key"):
        target_store(settings, "app_api_key", None, opener)


def test_a_library_caller_writing_to_the_environment_is_refused() -> None:
    # The CLI refuses --store env:... while parsing it; the core still guards itself.
    settings = settings_for()
    opener = store_opener(settings, {})
    with pytest.raises(ConfigError, match="env:SITE is read-only"):
        set_credential(
            settings, "site_id", "0123456789abcdef0123", opener, store=SecretRef("env", "SITE")
        )


class _ForgetfulStore(MemoryStore):
    """A store that accepts writes and then returns something else (a shadowed entry)."""

    def get(self) -> StoredValue | None:
        return StoredValue("not-what-was-written")


def test_a_store_that_does_not_read_back_the_value_is_an_error() -> None:
    settings = settings_for()

    def opener(ref: SecretRef) -> _ForgetfulStore:
        return _ForgetfulStore.from_ref(ref, environ={}, cwd=Path.cwd())  # type: ignore[return-value]

    with pytest.raises(SecretStoreUnavailableError, match="did not return the value"):
        set_credential(
            settings, "site_id", "0123456789abcdef0123", opener, store=SecretRef("env", "X")
        )


def test_an_unreachable_app_api_is_reported_per_credential() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = settings_for(CIO_SEC_APP_URL=f"http://127.0.0.1:{port}")
    report = check(
        CheckRequest(), settings, store_opener(settings, {"CUSTOMERIO_APP_API_KEY": "a" * 32})
    )
    statuses = {check.name: check.status for check in report.checks}
    assert statuses == {"track": "skipped", "app": "unavailable"}
    assert report.exit_code == 4
    assert not report.ok
