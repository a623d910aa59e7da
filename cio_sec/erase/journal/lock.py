"""Where journals live, the lock that lets one process run a job, and a job's live status."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from cio_sec.errors import ConfigError


def jobs_dir(state_dir: Path) -> Path:
    """Where journals and locks live."""
    return state_dir / "jobs"


def live_status(recorded: str, journal: Path) -> str:
    """``interrupted`` for a job recorded as running whose process is gone (killed, power cut).

    The lock beside the journal is held by a live process only: the kernel drops it when
    the holder dies, whatever killed it.
    """
    if recorded == "running" and not JobLock(journal.with_suffix(".lock")).is_held():
        return "interrupted"
    return recorded


class JobLock:
    """An exclusive lock on one job, released when the holder exits (even when killed)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, job: str) -> None:
        """Take the lock or explain who holds it.

        Raises:
            ConfigError: another process runs this job.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise ConfigError(
                f"job {job} is already running in process {holder}",
                hint="wait for it to finish, or stop that process; its progress is kept",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def is_held(self) -> bool:
        """Whether a live process holds this lock (the kernel drops it when the holder dies)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops the shared lock taken just to test
        return False

    def release(self) -> None:
        """Give the lock up."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
