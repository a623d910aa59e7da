"""The job journal itself: one SQLite database (WAL) per erasure job, and its queries."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from cio_sec.erase.inputs import IdType, Row
from cio_sec.erase.journal.errors import translated
from cio_sec.erase.journal.readbacks import ReadBackRows
from cio_sec.erase.journal.rows import (
    ACTIONS,
    ERASED,
    FAILED,
    TO_DELETE,
    VERIFY_OUTCOMES,
    ActionRecord,
    Counts,
    FailedPerson,
    Outcome,
    Person,
)
from cio_sec.erase.journal.schema import (
    SCHEMA,
    add_verify_columns,
    check_schema,
    show_missing_verify_columns,
)
from cio_sec.errors import ConfigError
from cio_sec.pseudonym import PseudonymKey

_LOAD_CHUNK = 5000


class Journal(ReadBackRows):
    """One job's journal; open it with `Journal.open` (``:memory:`` for dry runs)."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, path: Path | None) -> Journal:
        """Open (creating) a journal file, or an in-memory one when ``path`` is None.

        Raises:
            ConfigError: the directory or file cannot be created.
            JournalError: the file cannot be written, is damaged or is not a journal.
        """
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            except OSError as exc:
                raise ConfigError(
                    f"cannot open the job journal {path}: {exc.strerror}",
                    hint="check the permissions of the state directory (XDG_STATE_HOME)",
                ) from None
        with translated(path):
            if path is None:
                connection = sqlite3.connect(":memory:", isolation_level=None)
            else:
                connection = sqlite3.connect(path, isolation_level=None)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA secure_delete=ON")
            connection.executescript(SCHEMA)
            add_verify_columns(connection)
            check_schema(connection, path)
        return cls(connection, path)

    @classmethod
    def open_readonly(cls, path: Path) -> Journal:
        """Open an existing journal to read it; the file is never created or changed.

        Raises:
            JournalError: the file is missing, damaged or not a journal.
        """
        with translated(path):
            connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None)
            check_schema(connection, path)
            show_missing_verify_columns(connection)
        return cls(connection, path)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # ------------------------------------------------------------------ meta and loading

    def meta(self) -> dict[str, str]:
        """The job's settings and status.

        Raises:
            JournalError: the journal cannot be read.
        """
        with translated(self.path):
            return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, values: Mapping[str, object]) -> None:
        """Store settings or status, committed.

        Raises:
            JournalError: the journal cannot be written (full disk) or is damaged.
        """
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(key, str(value)) for key, value in values.items()],
            )

    @property
    def loaded(self) -> bool:
        """Whether the people were loaded completely (a killed load is started over).

        Raises:
            JournalError: the journal cannot be read.
        """
        return self.meta().get("loaded") == "1"

    def load(self, rows: Iterable[Row], key: PseudonymKey, meta: Mapping[str, object]) -> int:
        """Load the people in one transaction, duplicates once; returns how many there are.

        Emails are deduplicated case-insensitively, through their pseudonyms (which
        normalise first), so the duplicate check keeps no plaintext either.

        Raises:
            JournalError: the journal cannot be written (full disk) or is damaged.
        """
        with self._transaction() as db:
            db.execute("DELETE FROM people")
            db.execute("DELETE FROM meta")
            batch: list[tuple[str, str, str]] = []
            for row in rows:
                subject = key.pseudonym(row.value, row.id_type.pseudonym_kind)
                batch.append((row.id_type.value, subject, row.value))
                if len(batch) >= _LOAD_CHUNK:
                    _insert(db, batch)
                    batch = []
            _insert(db, batch)
            (people,) = db.execute("SELECT count(*) FROM people").fetchone()
            values = {**meta, "people": people, "loaded": 1}
            db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(name, str(value)) for name, value in values.items()],
            )
        return int(people)

    # ------------------------------------------------------------------ the work

    def pending(self, after: int, limit: int) -> list[Person]:
        """Up to ``limit`` people after number ``after`` that still need a request.

        Raises:
            JournalError: the journal cannot be read or holds values cio-sec never wrote.
        """
        with translated(self.path):
            rows = self._db.execute(
                "SELECT n, id_type, identifier, subject, stage FROM people "
                "WHERE n > ? AND stage < ? ORDER BY n LIMIT ?",
                (after, ERASED, limit),
            ).fetchall()
            return [
                Person(n, IdType(kind), ident, subject, stage)
                for n, kind, ident, subject, stage in rows
            ]

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """Commit action outcomes (one transaction).

        Raises:
            JournalError: the journal cannot be written (full disk) or is damaged.
        """
        if not outcomes:
            return
        with self._transaction() as db:
            for outcome in outcomes:
                stage = _next_stage(outcome)
                db.execute(
                    f"UPDATE people SET stage = ?, reason = coalesce(?, reason), "  # noqa: S608 - fixed names
                    f"{outcome.action}_outcome = ?, {outcome.action}_status = ?, "
                    f"{outcome.action}_attempts = ? WHERE n = ?",
                    (
                        stage,
                        outcome.reason,
                        "done" if outcome.done else "failed",
                        outcome.status,
                        outcome.attempts,
                        outcome.n,
                    ),
                )

    def unaudited(self) -> Iterator[ActionRecord]:
        """Final action outcomes not yet marked as written to the audit trail.

        Raises:
            JournalError: the journal cannot be read.
        """
        for action in ACTIONS:
            with translated(self.path):
                rows = self._db.execute(
                    f"SELECT n, subject, id_type, {action}_outcome, {action}_status, "  # noqa: S608
                    f"reason, {action}_attempts FROM people "
                    f"WHERE {action}_outcome IS NOT NULL AND {action}_audited = 0 ORDER BY n"
                ).fetchall()
            for n, subject, id_type, outcome, status, reason, attempts in rows:
                yield ActionRecord(
                    n,
                    subject,
                    id_type,
                    action,
                    outcome,
                    status,
                    reason if outcome == "failed" else None,
                    attempts or 0,
                )

    def mark_audited(self, records: Iterable[tuple[int, str]]) -> None:
        """Note that the trail holds these (person number, action) records.

        Raises:
            JournalError: the journal cannot be written (full disk) or is damaged.
        """
        with self._transaction() as db:
            for n, action in records:
                if action in ACTIONS:
                    db.execute(
                        f"UPDATE people SET {action}_audited = 1 WHERE n = ?",  # noqa: S608
                        (n,),
                    )

    def subjects(self) -> dict[tuple[str, str], int]:
        """(id type, subject) → person number, to match trail records to people.

        Raises:
            JournalError: the journal cannot be read.
        """
        with translated(self.path):
            rows = self._db.execute("SELECT id_type, subject, n FROM people").fetchall()
        return {(kind, subject): n for kind, subject, n in rows}

    # ------------------------------------------------------------------ reporting

    def counts(self) -> Counts:
        """People, erased, failed and invalid counts, and the read-back outcomes.

        Raises:
            JournalError: the journal cannot be read or holds values cio-sec never wrote.
        """
        with translated(self.path):
            row = self._db.execute(
                "SELECT count(*), coalesce(sum(stage = ?), 0), coalesce(sum(stage = ?), 0), "
                "coalesce(sum(verify_outcome = ?), 0), coalesce(sum(verify_outcome = ?), 0), "
                "coalesce(sum(verify_outcome = ?), 0) FROM people",
                (ERASED, FAILED, *VERIFY_OUTCOMES),
            ).fetchone()
            people, erased, failed, verified, present, unverified = (int(v) for v in row)
            invalid = int(self.meta().get("invalid", "0"))
        return Counts(people, erased, failed, invalid, verified, present, unverified)

    def failed(self) -> list[FailedPerson]:
        """Every person whose erasure failed.

        Raises:
            JournalError: the journal cannot be read.
        """
        with translated(self.path):
            rows = self._db.execute(
                "SELECT subject, id_type, suppress_outcome, suppress_status, delete_status, "
                "reason FROM people WHERE stage = ? ORDER BY n",
                (FAILED,),
            ).fetchall()
        return [
            FailedPerson(
                subject,
                id_type,
                "suppress" if suppressed == "failed" else "delete",
                suppress_status if suppressed == "failed" else delete_status,
                reason,
            )
            for subject, id_type, suppressed, suppress_status, delete_status, reason in rows
        ]

    def purge(self) -> None:
        """Remove every plaintext identifier and rewrite the file so no copy survives.

        Raises:
            JournalError: the journal cannot be written (VACUUM needs room for a copy).
        """
        with self._transaction() as db:
            db.execute("UPDATE people SET identifier = NULL")
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('purged', '1')")
        with translated(self.path):
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _insert(db: sqlite3.Connection, batch: list[tuple[str, str, str]]) -> None:
    db.executemany(
        "INSERT OR IGNORE INTO people (id_type, subject, identifier) VALUES (?, ?, ?)", batch
    )


def _next_stage(outcome: Outcome) -> int:
    if not outcome.done:
        return FAILED
    return TO_DELETE if outcome.action == "suppress" else ERASED
