"""The journal's tables, the check that refuses a damaged or foreign file, and migrations.

A journal written before read-back verification existed gets its columns added (or, opened
read-only, sees them empty through a temporary view).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cio_sec.erase.journal.errors import JournalError

_VERIFY_COLUMNS = {
    "verify_outcome": "TEXT",
    "verify_reason": "TEXT",
    "verify_at": "TEXT",
    "verify_checks": "INTEGER NOT NULL DEFAULT 0",
    "verify_first": "REAL",
    "verify_next": "REAL",
    "verify_audited": "INTEGER NOT NULL DEFAULT 0",
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS people (
    n INTEGER PRIMARY KEY,
    id_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    identifier TEXT,
    stage INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    suppress_outcome TEXT, suppress_status INTEGER, suppress_attempts INTEGER,
    suppress_audited INTEGER NOT NULL DEFAULT 0,
    delete_outcome TEXT, delete_status INTEGER, delete_attempts INTEGER,
    delete_audited INTEGER NOT NULL DEFAULT 0,
    UNIQUE (id_type, subject)
);
"""
_VERIFY_INDEX = (
    "CREATE INDEX IF NOT EXISTS people_to_verify ON people (coalesce(verify_next, 0)) "
    "WHERE stage = 2 AND verify_outcome IS NULL"
)


def _expected_columns() -> dict[str, set[str]]:
    """Every table of the schema and its columns."""
    reference = sqlite3.connect(":memory:")
    try:
        reference.executescript(SCHEMA)
        tables = reference.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name: _columns(reference, name) for (name,) in tables.fetchall()}
    finally:
        reference.close()


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    # NOTE: ``table`` comes from our own schema, never from the file being checked.
    return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}


def check_schema(connection: sqlite3.Connection, path: Path | None) -> None:
    """Refuse a file whose tables lack columns the journal needs (damaged or foreign).

    Raises:
        JournalError: a table or column is missing.
        sqlite3.Error: the file is not a database.
    """
    for table, needed in _expected_columns().items():
        missing = sorted(needed - _columns(connection, table))
        if missing:
            raise JournalError.damaged(path, f"table {table} lacks column(s) {', '.join(missing)}")


def show_missing_verify_columns(db: sqlite3.Connection) -> None:
    """Let a read-only look at a journal from before read-back verification see them empty.

    The file must not change, so a temporary view (temp objects come first in SQLite's name
    lookup, and live outside the file) stands in for ``people`` with the columns added.
    """
    present = {row[1] for row in db.execute("PRAGMA main.table_info(people)")}
    missing = [name for name in _VERIFY_COLUMNS if name not in present]
    if missing:
        empty = ", ".join(f"NULL AS {name}" for name in missing)
        db.execute(f"CREATE TEMP VIEW people AS SELECT *, {empty} FROM main.people")  # noqa: S608 - names are ours


def add_verify_columns(db: sqlite3.Connection) -> None:
    """Give a journal written before read-back verification existed its columns."""
    present = {row[1] for row in db.execute("PRAGMA table_info(people)")}
    for name, kind in _VERIFY_COLUMNS.items():
        if name not in present:
            db.execute(f"ALTER TABLE people ADD COLUMN {name} {kind}")
    db.execute(_VERIFY_INDEX)
