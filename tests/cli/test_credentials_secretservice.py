"""`cio-sec credentials` against a real SecretService (gnome-keyring on a private bus)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from keyring.backends import SecretService

from tests.support.cli import CliHarness
from tests.support.schemas import parse_document
from tests.support.secretservice import SecretServiceDaemon

pytestmark = pytest.mark.secretservice

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
