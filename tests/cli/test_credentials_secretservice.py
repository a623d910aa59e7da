"""`cio-sec credentials` against a real SecretService (gnome-keyring on a private bus)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from subprocess import CompletedProcess

import pytest
from keyring.backends import SecretService

from tests.conftest import CANARY, KEYRING_PASSWORD
from tests.support.cli import CliHarness
from tests.support.schemas import parse_document
from tests.support.secretservice import (
    SecretServiceDaemon,
    require_programs,
    running_secret_service,
)

pytestmark = [pytest.mark.secretservice, pytest.mark.slow]

FIRST, SECOND = "0123456789abcdef0123", "fedcba9876543210fedc"


def test_set_and_show_through_the_real_keyring(
    run_cli: CliHarness, secretservice_keyring: SecretService.Keyring
) -> None:
    run_cli("credentials", "set", "track_api_key", "--stdin", input=FIRST)
    stored = run_cli("credentials", "set", "track_api_key", "--stdin", "-f", "json", input=SECOND)
    assert stored.json["store"] == "keyring:cio-sec/default/track_api_key"
    assert stored.json["previous_kept"] is True
    assert "SecretService" in stored.json["description"]
    assert secretservice_keyring.get_password("cio-sec", "default/track_api_key") == SECOND
    assert secretservice_keyring.get_password("cio-sec", "default/track_api_key@previous") == FIRST
    shown = run_cli("credentials", "show", "-f", "json").json
    row = next(r for r in shown["credentials"] if r["name"] == "track_api_key")
    assert row["source"] == "keyring:cio-sec/default/track_api_key"
    assert row["masked"] == "…"


@pytest.mark.timeout(60)
def test_a_real_cio_sec_process_finds_the_keyring_on_the_session_bus(
    secret_service: SecretServiceDaemon,
    secretservice_keyring: SecretService.Keyring,
) -> None:
    """No backend chosen for it: keyring picks SecretService from the D-Bus session."""
    secretservice_keyring.set_password("cio-sec", "default/app_api_key", "a" * 32)
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": secret_service.address}
    result = subprocess.run(
        [sys.executable, "-m", "cio_sec", "credentials", "show", "-f", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=50,
    )
    assert "a" * 32 not in result.stdout + result.stderr
    rows = {row["name"]: row for row in parse_document(result.stdout)["credentials"]}
    assert rows["app_api_key"]["source"] == "keyring:cio-sec/default/app_api_key"
    assert rows["app_api_key"]["masked"] == "aaaa…aaaa"


# --------------------------------------------------------------------------- unreadable keyring

TRACK_KEY, SITE_ID, APP_KEY = "0123456789abcdef0123", "abcdef0123456789abcd", "b" * 32


@pytest.fixture(scope="module")
def locked_keyring_with_keys(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SecretServiceDaemon]:
    """The keys stored by cio-sec in gnome-keyring, then the daemon restarted locked.

    The second daemon unlocks with the wrong password, so the login collection, and the
    keys in it, stay locked: what a new session without the keyring password sees.
    """
    require_programs()
    root = tmp_path_factory.mktemp("locked-with-keys")
    with running_secret_service(root, password=KEYRING_PASSWORD) as unlocked:
        for name, value in (
            ("site_id", SITE_ID),
            ("track_api_key", TRACK_KEY),
            ("app_api_key", APP_KEY),
        ):
            _cio_sec(unlocked.address, "credentials", "set", name, "--stdin", input=value)
    with running_secret_service(root, password="not the password") as locked:
        yield locked


def _cio_sec(bus: str | None, *args: str, input: str | None = None) -> CompletedProcess[str]:
    """A real cio-sec process in a session whose D-Bus address is ``bus`` (None: no session)."""
    env = {name: value for name, value in os.environ.items() if name != "DBUS_SESSION_BUS_ADDRESS"}
    if bus is not None:
        env["DBUS_SESSION_BUS_ADDRESS"] = bus
    result = subprocess.run(
        [sys.executable, "-m", "cio_sec", *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        check=False,
        timeout=50,
    )
    for secret in (TRACK_KEY, SITE_ID, APP_KEY, CANARY):
        assert secret not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


@pytest.mark.timeout(120)
def test_check_names_a_locked_keyring_instead_of_saying_nothing_is_configured(
    locked_keyring_with_keys: SecretServiceDaemon,
) -> None:
    result = _cio_sec(locked_keyring_with_keys.address, "credentials", "check")
    assert result.returncode == 3
    assert "configured at all" not in result.stdout
    assert "the keyring store could not be read: the keyring is locked" in result.stdout
    assert "credentials set" not in result.stderr  # the keys are there: no advice to store them
    hints = [line for line in result.stderr.splitlines() if line.startswith("hint")]
    assert len(hints) == 1
    assert hints[0].startswith("hint (track, app): the collection exists but stayed locked")


@pytest.mark.timeout(120)
def test_show_prints_the_locked_keyring_once(
    locked_keyring_with_keys: SecretServiceDaemon,
) -> None:
    result = _cio_sec(locked_keyring_with_keys.address, "credentials", "show")
    assert result.returncode == 0
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: the keyring store could not be read for site_id, track_api_key, app_api_key, "
        "webhook_signing_key, pseudonym_key: the keyring is locked (SecretService could not "
        "unlock its collection)"
    ]
    assert len([line for line in result.stderr.splitlines() if line.startswith("hint")]) == 1
    as_json = _cio_sec(locked_keyring_with_keys.address, "credentials", "show", "-f", "json")
    rows = {row["name"]: row for row in parse_document(as_json.stdout)["credentials"]}
    assert rows["track_api_key"]["found"] is False
    assert rows["track_api_key"]["problems"][0].startswith("keyring:cio-sec/default/track_api_key")


@pytest.mark.timeout(60)
def test_check_outside_any_dbus_session_says_so() -> None:
    result = _cio_sec(None, "credentials", "check")
    assert result.returncode == 3
    assert "configured at all" not in result.stdout
    assert "no D-Bus session (DBUS_SESSION_BUS_ADDRESS is unset)" in result.stdout
    assert "hint (track, app): on a headless Linux host" in result.stderr
