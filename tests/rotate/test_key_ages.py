"""Rotation records: what `rotate` writes and the key-age check of `audit` reads."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cio_sec.errors import ConfigError
from cio_sec.rotate.key_ages import (
    FILE_NAME,
    RotationRecord,
    last_rotation,
    read_rotations,
    record_rotation,
)

WHEN = datetime(2026, 11, 1, 9, 30, tzinfo=timezone.utc)


def rotation(credential: str, days: int, profile: str = "prod") -> RotationRecord:
    return RotationRecord(profile, credential, "track", WHEN + timedelta(days=days), "ab" * 8)


def test_records_round_trip_and_the_latest_wins(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert read_rotations(state) == []
    assert last_rotation(state, "prod", "site_id") is None
    for record in [rotation("site_id", 5), rotation("site_id", 1), rotation("site_id", 9, "dev")]:
        record_rotation(state, record)
    assert len(read_rotations(state)) == 3
    assert last_rotation(state, "prod", "site_id") == rotation("site_id", 5)
    assert (state / FILE_NAME).stat().st_mode & 0o777 == 0o600


def test_damaged_lines_are_skipped_and_naive_dates_are_utc(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_text(
        "not json\n[]\n"
        '{"profile": "p", "credential": "c", "kind": "app"}\n'
        '{"profile": "p", "credential": "c", "kind": "app", '
        '"rotated_at": "2026-11-01T09:30:00", "fingerprint": "f"}\n'
    )
    (only,) = read_rotations(tmp_path)
    assert only.rotated_at == WHEN
    assert only.to_json()["rotated_at"] == "2026-11-01T09:30:00+00:00"


def test_unwritable_and_unreadable_state_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot record the rotation"):
        record_rotation(blocker, rotation("site_id", 0))
    (tmp_path / "dir" / FILE_NAME).mkdir(parents=True)
    with pytest.raises(ConfigError, match="cannot read"):
        read_rotations(tmp_path / "dir")
