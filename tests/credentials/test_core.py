"""The credentials command core on plain data: writes, read-back failures and checks."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from cio_sec.credentials import (
    CheckRequest,
    CredentialsReport,
    ShowRequest,
    check,
    set_credential,
    show,
)
from cio_sec.errors import ConfigError, ExitCode, InputError, SecretStoreUnavailableError
from cio_sec.settings import CliFlags, Settings, load_settings
from cio_sec.stores import SecretRef, StoredValue
from cio_sec.stores.chain import store_opener
from cio_sec.stores.memory import MemoryStore


def settings_for(config: str | None = None, **env: str) -> Settings:
    environ = {**os.environ, **env}
    return load_settings(CliFlags(), environ, cwd=Path.cwd(), config_text=config)


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


def test_show_and_a_stored_credential_always_exit_zero() -> None:
    settings = settings_for()
    opener = store_opener(settings, {})
    report = show(ShowRequest(), settings, opener)
    assert isinstance(report, CredentialsReport)
    assert (report.ok, report.exit_code) == (True, ExitCode.OK)
    stored = set_credential(
        settings,
        "site_id",
        "0123456789abcdef0123",
        opener,
        store=SecretRef("memory", "show/site_id"),
    )
    assert (stored.ok, stored.exit_code) == (True, ExitCode.OK)


def test_a_strong_pseudonym_key_is_stored_and_a_weak_one_refused() -> None:
    settings = settings_for()
    opener = store_opener(settings, {})
    where = SecretRef("memory", "strong/pseudonym_key")
    with pytest.raises(InputError, match="refusing to store a weak pseudonym_key"):
        set_credential(settings, "pseudonym_key", "short", opener, store=where)
    stored = set_credential(settings, "pseudonym_key", "k" * 16, opener, store=where)
    assert stored.store == "memory:strong/pseudonym_key"
    assert opener(where).get() == StoredValue("k" * 16)
