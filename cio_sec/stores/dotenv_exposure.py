"""Two common leaks of a dotenv file, warned about once per file per process.

Permissions that let other users read it, and a git work tree that would commit it.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import threading
from pathlib import Path

_LOG = logging.getLogger("cio_sec")

#: How long `git check-ignore` may take before the check is skipped.
GIT_TIMEOUT_SECONDS = 5.0

_warned_lock = threading.Lock()
_warned: set[tuple[str, str]] = set()


def check_exposure(path: Path, status: os.stat_result) -> None:
    """Warn (once per file per process) when the file is readable by others or committable."""
    mode = stat.S_IMODE(status.st_mode)
    # NOTE: on Windows st_mode is synthesised from the read-only flag; only POSIX modes
    # say who else can read the file.
    if os.name == "posix" and mode & 0o077 and _first_time(path, "mode"):
        _LOG.warning(
            "dotenv file %s is readable or writable by group or others (mode %s); "
            "fix it with: chmod 600 %s",
            path,
            f"{mode:04o}",
            path,
        )
    if _first_time(path, "git") and _git_ignores(path) is False:
        _LOG.warning(
            "dotenv file %s is inside a git work tree and not ignored by git, so its "
            "secrets can be committed; add it to .gitignore",
            path,
        )


def _first_time(path: Path, check: str) -> bool:
    key = (str(path), check)
    with _warned_lock:
        if key in _warned:
            return False
        _warned.add(key)
        return True


def _git_ignores(path: Path) -> bool | None:
    """Return whether git ignores ``path``; None when git or a work tree is missing."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell; the path is an argument
            [git, "check-ignore", "-q", "--", str(path)],
            cwd=path.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    # 0: ignored, 1: not ignored, 128: not a work tree (or another fatal error).
    return {0: True, 1: False}.get(result.returncode)
