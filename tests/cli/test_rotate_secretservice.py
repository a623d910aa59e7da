"""`cio-sec rotate` writing to a real SecretService (gnome-keyring on a private bus)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from keyring.backends import SecretService

from cio_sec.errors import ExitCode
from cio_sec.sandbox import Sandbox
from tests.support.cli import CliHarness

pytestmark = [pytest.mark.secretservice, pytest.mark.slow]


def _profile(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> str:
    """A profile of its own: the daemon is shared by the whole session."""
    name = f"ss-{uuid.uuid4().hex[:8]}"
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "cio-sec" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[profiles.{name}]\nregion = "us"\n')
    for variable in ("CUSTOMERIO_SITE_ID", "CUSTOMERIO_TRACK_API_KEY", "CUSTOMERIO_APP_API_KEY"):
        monkeypatch.delenv(variable)
    return name


def test_track_rotation_through_the_real_keyring(
    run_cli: CliHarness,
    sandbox: Sandbox,
    secretservice_keyring: SecretService.Keyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = _profile(monkeypatch, sandbox)
    old = sandbox.info
    secretservice_keyring.set_password("cio-sec", f"{profile}/site_id", old.site_id)
    secretservice_keyring.set_password("cio-sec", f"{profile}/track_api_key", old.track_api_key)
    new = sandbox.add_track_keys()
    pair = f"{new.site_id}\n{new.track_api_key}\n"
    first = run_cli(
        "--profile",
        profile,
        "rotate",
        "track",
        "--new-key-stdin",
        "--yes",
        "-f",
        "json",
        input=pair,
        expect=ExitCode.PARTIAL,
    )
    assert f"--profile {profile} rotate track --resume --yes" in first.json["hint"]
    entry = f"{profile}/track_api_key"
    assert secretservice_keyring.get_password("cio-sec", entry) == new.track_api_key
    assert secretservice_keyring.get_password("cio-sec", entry + "@previous") == old.track_api_key
    sandbox.revoke_track_keys(old.site_id)
    done = run_cli("--profile", profile, "rotate", "track", "--resume", "-f", "json").json
    assert done["outcome"] == "completed"


def test_rollback_through_the_real_keyring(
    run_cli: CliHarness,
    sandbox: Sandbox,
    secretservice_keyring: SecretService.Keyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = _profile(monkeypatch, sandbox)
    old_key = sandbox.info.app_api_key
    secretservice_keyring.set_password("cio-sec", f"{profile}/app_api_key", old_key)
    new_key = sandbox.add_app_key()
    run_cli(
        "--profile",
        profile,
        "rotate",
        "app",
        "--new-key-stdin",
        "--yes",
        input=new_key,
        expect=ExitCode.PARTIAL,
    )
    document = run_cli("--profile", profile, "rotate", "app", "--rollback", "--yes", "-f", "json")
    assert document.json["old_key_works"] is True
    entry = f"{profile}/app_api_key"
    assert secretservice_keyring.get_password("cio-sec", entry) == old_key
    assert secretservice_keyring.get_password("cio-sec", entry + "@previous") == new_key
