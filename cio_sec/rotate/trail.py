"""The last step of a rotation: the key-age records and, when a trail is kept, a trail record.

The key-age store itself is `cio_sec.rotate.key_ages`; the trail is `cio_sec.trail`.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from cio_sec import __version__
from cio_sec.errors import SecretMissingError
from cio_sec.pseudonym import load_keys
from cio_sec.rotate.key_ages import RotationRecord, read_rotations, record_rotation
from cio_sec.rotate.state import RotationState
from cio_sec.settings import Settings
from cio_sec.stores.chain import StoreOpener
from cio_sec.trail.records import read_lines
from cio_sec.trail.writer import TrailWriter


def trail_configured(settings: Settings) -> bool:
    """A trail is kept when the profile names ``audit_log`` or the default trail exists.

    An existing default trail means another command (``erase``) keeps evidence there, and a
    rotation belongs in it too; otherwise no trail is started as a side effect.
    """
    return settings.audit_log != settings.state_dir / "audit.jsonl" or settings.audit_log.exists()


def operator_name() -> str:
    """``user@host`` for the trail."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no USER/LOGNAME: a bare container
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def record(
    settings: Settings,
    opener: StoreOpener,
    state: RotationState,
    credentials: tuple[str, ...],
    *,
    now: Callable[[], datetime],
) -> tuple[str, list[str]]:
    """Write the key-age records (once per fingerprint) and the trail record.

    Returns a detail line and warnings. Without a pseudonym key the trail record is skipped
    with a warning: creating the key here would change what every later pseudonym means.

    Raises:
        ConfigError: the state directory or the trail cannot be written.
    """
    moment = now()
    existing = {
        (r.profile, r.credential, r.fingerprint) for r in read_rotations(settings.state_dir)
    }
    for name in credentials:
        fingerprint = state.new[name]
        if (state.profile, name, fingerprint) in existing:
            continue  # written before a crash; a resumed run does not repeat it
        record_rotation(
            settings.state_dir,
            RotationRecord(state.profile, name, state.kind, moment, fingerprint),
        )
    detail = f"key-age record in {settings.state_dir / 'rotations.jsonl'}"
    if not trail_configured(settings):
        return detail, []
    try:
        keys = load_keys(settings, opener)
    except SecretMissingError:
        return detail, [
            f"no pseudonym key, so no record was added to the audit trail {settings.audit_log}; "
            "run `cio-sec rotate pseudonym` or `cio-sec credentials set pseudonym_key` first"
        ]
    entry = {
        "type": "rotation",
        "kind": state.kind,
        "profile": state.profile,
        "credentials": list(credentials),
        "fingerprints": {name: state.new[name] for name in credentials},
        "workspace": state.workspace_id,
        "region": state.region,
        "operator": operator_name(),
        "version": __version__,
    }
    if not _last_rotation_is(settings.audit_log, entry):  # else written before a crash
        TrailWriter(settings.audit_log, keys.current).append([entry])
    return f"{detail}; audit trail {settings.audit_log}", []


def _last_rotation_is(trail: Path, entry: dict[str, Any]) -> bool:
    """Whether the trail's last rotation record is of the same new values as ``entry``.

    The fingerprints are of freshly created keys, so equal ones mean the same rotation.

    Raises:
        InputError: the trail exists but cannot be read.
    """
    if not trail.exists():
        return False
    last = None
    for line in read_lines(trail):
        if line.record is not None and line.record.get("type") == "rotation":
            last = line.record
    same = ("kind", "profile", "fingerprints")
    return last is not None and all(last.get(name) == entry[name] for name in same)
