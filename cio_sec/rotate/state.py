"""A rotation's state file and lock: what is done, fingerprints only, never a key.

The state lives in ``<state dir>/rotations/<profile>-<kind>.json`` and is rewritten
atomically (temporary file, fsync, rename) after every step, so a crash or a closed laptop
leaves the last completed step on disk. The lock beside it (``.lock``) is an ``flock`` the
kernel releases when the holder dies, and names the holder's pid for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cio_sec.atomicfile import atomic_write
from cio_sec.errors import ConfigError
from cio_sec.rotate.steps import CREDENTIALS, Kind

STATE_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass
class RotationState:
    """What a rotation has done so far. Values are fingerprints, never keys."""

    kind: str
    profile: str
    started_at: str
    done: list[str] = field(default_factory=list)
    """Names of the completed steps, in order."""
    waiting: list[str] = field(default_factory=list)
    """Operator steps the last run stopped at; running ``--resume`` confirms them."""
    sources: dict[str, str] = field(default_factory=dict)
    """Credential → the secret reference it is rotated in."""
    old: dict[str, str] = field(default_factory=dict)
    """Credential → fingerprint of the value being replaced."""
    new: dict[str, str] = field(default_factory=dict)
    """Credential → fingerprint of the new value (once entered)."""
    workspace_id: str | None = None
    """The workspace the credential is for, as text (older states stored an integer)."""
    region: str | None = None

    def to_json(self) -> dict[str, object]:
        """The stored form."""
        return {
            "version": STATE_VERSION,
            "kind": self.kind,
            "profile": self.profile,
            "started_at": self.started_at,
            "done": list(self.done),
            "waiting": list(self.waiting),
            "sources": dict(self.sources),
            "old": dict(self.old),
            "new": dict(self.new),
            "workspace_id": self.workspace_id,
            "region": self.region,
        }

    @classmethod
    def from_json(cls, data: object) -> RotationState:
        """Parse the stored form.

        Raises:
            ValueError: the document is not a state of this version.
        """
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError("not a rotation state of a version this cio-sec reads")
        try:
            state = cls(
                kind=str(data["kind"]),
                profile=str(data["profile"]),
                started_at=str(data["started_at"]),
                done=[str(name) for name in data["done"]],
                waiting=[str(name) for name in data["waiting"]],
                sources={str(k): str(v) for k, v in data["sources"].items()},
                old={str(k): str(v) for k, v in data["old"].items()},
                new={str(k): str(v) for k, v in data["new"].items()},
                workspace_id=_optional_workspace(data["workspace_id"]),
                region=None if data["region"] is None else str(data["region"]),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed rotation state ({exc})") from None
        state.check_complete()
        return state

    def check_complete(self) -> None:
        """Check that every credential of the kind has what the done steps recorded.

        Raises:
            ValueError: an unknown kind, or a missing source or fingerprint.
        """
        try:
            credentials = CREDENTIALS[Kind(self.kind)]
        except ValueError:
            raise ValueError(f"unknown rotation kind {self.kind!r}") from None
        needed = {"sources": self.sources, "old": self.old}  # preflight sets both
        if {"new-key", "store"} & set(self.done):
            needed["new"] = self.new
        for entry, values in needed.items():
            missing = [name for name in credentials if name not in values]
            if missing:
                raise ValueError(f"{entry} has no entry for {', '.join(missing)}")


def _optional_workspace(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value:
        return value
    raise TypeError("workspace_id is neither an integer nor a string")


def state_path(state_dir: Path, profile: str, kind: str) -> Path:
    """Where the state of one profile's rotation of one kind lives."""
    return state_dir / "rotations" / f"{_UNSAFE.sub('_', profile)}-{kind}.json"


def load_state(path: Path) -> RotationState | None:
    """Read a state file; None when there is none.

    Raises:
        ConfigError: the file exists but cannot be read or parsed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the rotation state {path}: {exc.strerror}") from None
    try:
        return RotationState.from_json(json.loads(text))
    except ValueError as exc:
        raise ConfigError(
            f"the rotation state {path} is damaged: {exc}",
            hint="inspect it; `--abort` removes it and forgets the attempt",
        ) from None


def save_state(path: Path, state: RotationState) -> None:
    """Replace the state file atomically (mode 0600, fsync'd, then renamed into place).

    Raises:
        ConfigError: the state directory is not writable.
    """
    data = json.dumps(state.to_json(), indent=2, sort_keys=True).encode() + b"\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, data)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the rotation state {path}: {exc.strerror or exc}"
        ) from None


def clear_state(path: Path) -> None:
    """Remove the state file (forgetting the attempt); a missing file is fine."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _note_holder(fd: int) -> None:
    # The pid only makes "another rotation is running" more helpful; the lock is the flock.
    # On a full disk it cannot be written, and the rotation's own writes then say where.
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


@contextlib.contextmanager
def rotation_lock(path: Path) -> Iterator[None]:
    """Hold the lock of one rotation for the duration; another holder is an error.

    Raises:
        ConfigError: another process holds the lock, or it cannot be created.
    """
    lock_path = path.with_suffix(".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot create the rotation lock {lock_path}: {exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise ConfigError(
                f"another rotation of this credential is running (pid {holder})",
                hint="wait for it to finish; a crashed one releases the lock by itself",
            ) from None
        _note_holder(fd)
        yield
    finally:
        os.close(fd)  # closing releases the lock
