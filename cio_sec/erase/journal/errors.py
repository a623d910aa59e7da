"""Every SQLite failure of a journal as a `JournalError` naming the file (exit 3).

A full disk stops the job with its committed work intact; a damaged or foreign file is
refused. Purge journals use the same translation and transactions.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from cio_sec.errors import ConfigError

# SQLite result codes (primary) that say the file cannot be written, not that it is damaged.
_CANNOT_WRITE = frozenset(
    {
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
    }
)
_DAMAGED_HINT = (
    "keep a copy if you want to inspect it, then run the same command with --restart to "
    "start the job over (suppress and delete are safe to repeat)"
)


class JournalError(ConfigError):
    """The job journal cannot be written (full disk, permissions) or is damaged."""

    @classmethod
    def from_exception(cls, path: Path | None, exc: sqlite3.Error | ValueError) -> JournalError:
        """Name the file and say whether to make room or to start the job over."""
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in _CANNOT_WRITE:
            return cls(
                f"cannot use the job journal {path}: {exc}",
                hint="make room on its filesystem (or fix its permissions), then run the same "
                "command again: the job resumes where it stopped",
            )
        return cls.damaged(path, str(exc))

    @classmethod
    def damaged(cls, path: Path | None, problem: str) -> JournalError:
        """A file that is not a journal cio-sec wrote, or one changed since."""
        return cls(f"the job journal {path} is damaged: {problem}", hint=_DAMAGED_HINT)


@contextlib.contextmanager
def immediate_transaction(
    db: sqlite3.Connection, path: Path | None
) -> Iterator[sqlite3.Connection]:
    """One write transaction, committed whole or rolled back (journal errors translated)."""
    with translated(path):
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            # NOTE: on a full disk SQLite may have rolled back already; nothing to undo.
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise


@contextlib.contextmanager
def translated(path: Path | None) -> Iterator[None]:
    """SQLite errors, and values no journal of cio-sec holds, as a `JournalError`."""
    try:
        yield
    except (sqlite3.Error, ValueError) as exc:
        raise JournalError.from_exception(path, exc) from None
