"""Replacing a file atomically: a private temporary file beside it, fsync'd, then renamed.

A reader (or a crash) sees the old file or the new one, never half of each; the rename is
made durable by syncing the directory too. Appending files (the audit trail, rotation
records) use `write_all`, which never takes a short write for a whole one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

_LOG = logging.getLogger("cio_sec")


def atomic_write(
    target: Path, data: bytes, *, prepare: Callable[[int], None] | None = None
) -> None:
    """Replace ``target`` with ``data`` through a mode-0600 temporary file in its directory.

    ``prepare`` gets the temporary file's descriptor before anything is written to it
    (to give the file an owner, for example). The temporary file never outlives a failure.

    Raises:
        OSError: the directory is not writable, the disk is full, or the rename failed;
            ``target`` is then left as it was.
    """
    # mkstemp creates the file with mode 0600, before anything is written to it.
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if prepare is not None:
                prepare(handle.fileno())
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    fsync_directory(target.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename durable: the directory entry is data too."""
    if os.name != "posix":  # pragma: no cover - Windows only
        return  # NOTE: Windows cannot open a directory for fsync; NTFS journals renames.
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        # The new file is in place; some filesystems cannot sync a directory (EINVAL).
        _LOG.debug("could not fsync directory %s: %s", directory, exc.strerror or exc)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd``: a short write is continued, a failure raises.

    Raises:
        OSError: the write failed (ENOSPC, EFBIG, EIO ...); part of ``data`` may have been
            written.
    """
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
