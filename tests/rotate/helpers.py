"""Shared set-up for rotation tests: credentials moved from the environment into a store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cio_sec.sandbox import Sandbox
from tests.support.memory_keyring import MemoryKeyring

SERVICE = "cio-sec"


def keyring_credentials(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, keyring: MemoryKeyring
) -> None:
    """Put the sandbox's keys into the (memory) keyring, where a rotation can write."""
    info = sandbox.info
    for variable in ("CUSTOMERIO_SITE_ID", "CUSTOMERIO_TRACK_API_KEY", "CUSTOMERIO_APP_API_KEY"):
        monkeypatch.delenv(variable)
    keyring.set_password(SERVICE, "default/site_id", info.site_id)
    keyring.set_password(SERVICE, "default/track_api_key", info.track_api_key)
    keyring.set_password(SERVICE, "default/app_api_key", info.app_api_key)
    keyring.set_password(SERVICE, "default/webhook_signing_key", info.webhook_signing_key)


def dotenv_credentials(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, work: Path) -> Path:
    """Put the sandbox's keys into ./.env (mode 0600, git-free directory)."""
    info = sandbox.info
    for variable in ("CUSTOMERIO_SITE_ID", "CUSTOMERIO_TRACK_API_KEY", "CUSTOMERIO_APP_API_KEY"):
        monkeypatch.delenv(variable)
    path = work / ".env"
    path.write_text(
        f"CUSTOMERIO_SITE_ID={info.site_id}\n"
        f"CUSTOMERIO_TRACK_API_KEY={info.track_api_key}\n"
        f"CUSTOMERIO_APP_API_KEY={info.app_api_key}\n"
    )
    path.chmod(0o600)
    return path


def state_dir(work: Path) -> Path:
    """``$XDG_STATE_HOME/cio-sec`` of the hermetic environment."""
    return work.parent / "home" / ".local" / "state" / "cio-sec"


def state_file(work: Path, kind: str, profile: str = "default") -> Path:
    """Where the state of a rotation lives."""
    return state_dir(work) / "rotations" / f"{profile}-{kind}.json"


def rotation_records(work: Path) -> list[dict[str, object]]:
    """The key-age records written so far."""
    path = state_dir(work) / "rotations.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]
