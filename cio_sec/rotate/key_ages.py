"""When each credential was last rotated: the record `rotate` writes and `audit check` reads.

One JSON object per line in ``<state dir>/rotations.jsonl``; never a key, only its
fingerprint. Kept apart from the audit trail because it exists even where no trail is
configured, and because the key-age check must not need the pseudonym key.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cio_sec.atomicfile import write_all
from cio_sec.errors import ConfigError

FILE_NAME = "rotations.jsonl"


@dataclass(frozen=True)
class RotationRecord:
    """One completed rotation of one credential."""

    profile: str
    credential: str
    """``site_id``, ``track_api_key``, ``app_api_key``, ``webhook_signing_key`` ..."""
    kind: str
    """The rotate kind that rotated it: ``track``, ``app``, ``webhook``, ``pseudonym``."""
    rotated_at: datetime
    fingerprint: str
    """First 16 hex digits of SHA-256 of the new value (`cio_sec.redact.fingerprint`)."""

    def to_json(self) -> dict[str, str]:
        """The stored form."""
        return {
            "profile": self.profile,
            "credential": self.credential,
            "kind": self.kind,
            "rotated_at": self.rotated_at.astimezone(timezone.utc).isoformat(),
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_json(cls, data: object) -> RotationRecord:
        """Parse a stored record.

        Raises:
            ValueError: the record is malformed.
        """
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        try:
            rotated_at = datetime.fromisoformat(str(data["rotated_at"]))
            if rotated_at.tzinfo is None:
                rotated_at = rotated_at.replace(tzinfo=timezone.utc)
            return cls(
                profile=str(data["profile"]),
                credential=str(data["credential"]),
                kind=str(data["kind"]),
                rotated_at=rotated_at,
                fingerprint=str(data["fingerprint"]),
            )
        except KeyError as exc:
            raise ValueError(f"missing field {exc.args[0]}") from None


def record_rotation(state_dir: Path, record: RotationRecord) -> Path:
    """Append a rotation record (fsync'd; several processes may append at once).

    A line cut off by an earlier crash or full disk is ended first, so this record starts
    a line of its own (readers skip the cut-off one).

    Raises:
        ConfigError: the state directory is not writable, or the record could not be
            written whole (full disk, file-size limit): rotate's state keeps the step, so
            ``--resume`` writes it again.
    """
    path = state_dir / FILE_NAME
    line = json.dumps(record.to_json(), sort_keys=True).encode() + b"\n"
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot record the rotation in {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        write_all(fd, line)
        os.fsync(fd)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the rotation record to {path}: {exc.strerror or exc}",
            hint="make room on its filesystem, then run `cio-sec rotate --resume`",
        ) from None
    finally:
        os.close(fd)
    return path


def read_rotations(state_dir: Path) -> list[RotationRecord]:
    """Every readable rotation record, oldest first (damaged lines are skipped).

    Raises:
        ConfigError: the file exists but cannot be read.
    """
    path = state_dir / FILE_NAME
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    parsed = (_parse(line) for line in text.splitlines())
    return [record for record in parsed if record is not None]


def _parse(line: str) -> RotationRecord | None:
    try:
        return RotationRecord.from_json(json.loads(line))
    except ValueError:
        return None


def last_rotation(state_dir: Path, profile: str, credential: str) -> RotationRecord | None:
    """The most recent rotation of one credential in one profile, if any was recorded."""
    matching = [
        record
        for record in read_rotations(state_dir)
        if record.profile == profile and record.credential == credential
    ]
    return max(matching, key=lambda record: record.rotated_at, default=None)
