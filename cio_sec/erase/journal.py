"""The job journal: one SQLite database (WAL) per erasure job, and the lock that guards it.

Every person of the job is one row holding the outcome of each action and of the read-back
that verifies their erasure. A state change is
committed before it is reported (progress, audit trail), so a run killed at any moment
resumes from the journal: at worst an idempotent request is sent twice. The plaintext
identifiers are purged (and the file rewritten) when the job completes; pseudonyms and
outcomes stay as the job's record. They are kept until every erased person has been read
back, since the read-back needs them.

Every SQLite failure becomes a `JournalError` naming the file (exit 3): a full disk stops
the job with its committed work intact, and a damaged or foreign file is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cio_sec.erase.inputs import IdType, Row
from cio_sec.errors import ConfigError
from cio_sec.pseudonym import PseudonymKey

ACTIONS: tuple[str, ...] = ("suppress", "delete")

# Stages of a person, in order.
TO_SUPPRESS, TO_DELETE, ERASED, FAILED = 0, 1, 2, 3

# How the read-back of an erased person ended.
VERIFIED, STILL_PRESENT, UNVERIFIED = "verified", "still-present", "unverified"
VERIFY_OUTCOMES: tuple[str, ...] = (VERIFIED, STILL_PRESENT, UNVERIFIED)

_VERIFY_COLUMNS = {
    "verify_outcome": "TEXT",
    "verify_reason": "TEXT",
    "verify_at": "TEXT",
    "verify_checks": "INTEGER NOT NULL DEFAULT 0",
    "verify_first": "REAL",
    "verify_next": "REAL",
    "verify_audited": "INTEGER NOT NULL DEFAULT 0",
}

_SCHEMA = """
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
_LOAD_CHUNK = 5000


@dataclass(frozen=True)
class Person:
    """A person still to erase, as the engine needs them."""

    n: int
    id_type: IdType
    identifier: str
    subject: str
    stage: int


@dataclass(frozen=True)
class Outcome:
    """The final result of one action for one person."""

    n: int
    action: str
    done: bool
    status: int | None
    reason: str | None
    attempts: int


@dataclass(frozen=True)
class ActionRecord:
    """An action outcome the audit trail must hold."""

    n: int
    subject: str
    id_type: str
    action: str
    outcome: str
    status: int | None
    reason: str | None
    attempts: int


@dataclass(frozen=True)
class ToVerify:
    """An erased person whose read-back has no final outcome yet."""

    n: int
    id_type: IdType
    identifier: str | None
    """None once the journal was purged (``erase verify`` then needs the input again)."""
    subject: str
    checks: int
    first: float | None
    """Wall-clock time of the first read-back; the window runs from it."""


@dataclass(frozen=True)
class Check:
    """What one read-back (or the decision not to make one) leaves in the journal."""

    n: int
    checks: int
    first: float
    outcome: str | None
    """A final outcome, or None when the person is to be read back again at ``next``."""
    next: float | None = None
    reason: str | None = None
    at: str | None = None
    """When the final outcome was established (UTC, ISO 8601)."""


@dataclass(frozen=True)
class VerifyRecord:
    """A final read-back outcome the audit trail must hold."""

    n: int
    subject: str
    id_type: str
    outcome: str
    reason: str | None
    checks: int
    at: str | None


@dataclass(frozen=True)
class Counts:
    """How far a job has got."""

    people: int
    erased: int
    failed: int
    invalid: int
    verified: int = 0
    still_present: int = 0
    unverified: int = 0

    @property
    def left(self) -> int:
        """People without a final outcome yet."""
        return self.people - self.erased - self.failed

    @property
    def to_verify(self) -> int:
        """Erased people whose read-back has no final outcome yet."""
        return self.erased - self.verified - self.still_present - self.unverified

    def to_json(self) -> dict[str, int]:
        """Every count, ``left`` and ``to_verify`` included."""
        return {
            "people": self.people,
            "erased": self.erased,
            "failed": self.failed,
            "invalid": self.invalid,
            "left": self.left,
            "verified": self.verified,
            "still_present": self.still_present,
            "unverified": self.unverified,
            "to_verify": self.to_verify,
        }


@dataclass(frozen=True)
class PresentPerson:
    """An erased person the App API still returned when the window ended, by pseudonym."""

    subject: str
    id_type: str
    checks: int

    def to_json(self) -> dict[str, object]:
        """Pseudonym, identifier type and read-backs made."""
        return {"subject": self.subject, "id_type": self.id_type, "checks": self.checks}


@dataclass(frozen=True)
class FailedPerson:
    """A person whose erasure failed, by pseudonym."""

    subject: str
    id_type: str
    action: str
    status: int | None
    reason: str | None

    def to_json(self) -> dict[str, object]:
        """Pseudonym, identifier type, failed action, status and reason."""
        return {
            "subject": self.subject,
            "id_type": self.id_type,
            "action": self.action,
            "status": self.status,
            "reason": self.reason,
        }


def jobs_dir(state_dir: Path) -> Path:
    """Where journals and locks live."""
    return state_dir / "jobs"


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


class Journal:
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
            connection.executescript(_SCHEMA)
            _add_verify_columns(connection)
            _check_schema(connection, path)
        return cls(connection, path)

    @classmethod
    def open_readonly(cls, path: Path) -> Journal:
        """Open an existing journal to read it; the file is never created or changed.

        Raises:
            JournalError: the file is missing, damaged or not a journal.
        """
        with translated(path):
            connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None)
            _check_schema(connection, path)
            _show_missing_verify_columns(connection)
        return cls(connection, path)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def _transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._db, self.path)

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

    # ------------------------------------------------------------------ verification

    def to_verify(self, now: float, limit: int, busy: Collection[int]) -> list[ToVerify]:
        """Up to ``limit`` erased people due for a read-back at ``now``, not in ``busy``."""
        rows = self._db.execute(
            "SELECT n, id_type, identifier, subject, verify_checks, verify_first FROM people "
            "WHERE stage = 2 AND verify_outcome IS NULL AND coalesce(verify_next, 0) <= ? "
            "ORDER BY coalesce(verify_next, 0), n LIMIT ?",
            (now, limit + len(busy)),
        ).fetchall()
        due = [
            ToVerify(n, IdType(kind), ident, subject, checks, first)
            for n, kind, ident, subject, checks, first in rows
            if n not in busy
        ]
        return due[:limit]

    def verify_pending(self) -> int:
        """Erased people whose read-back has no final outcome yet."""
        (count,) = self._db.execute(
            "SELECT count(*) FROM people WHERE stage = 2 AND verify_outcome IS NULL"
        ).fetchone()
        return int(count)

    def record_checks(self, checks: Sequence[Check]) -> None:
        """Commit read-back results (one transaction)."""
        if not checks:
            return
        with self._transaction() as db:
            db.executemany(
                "UPDATE people SET verify_checks = ?, verify_first = coalesce(verify_first, ?), "
                "verify_next = ?, verify_outcome = ?, verify_reason = ?, verify_at = ? "
                "WHERE n = ?",
                [(c.checks, c.first, c.next, c.outcome, c.reason, c.at, c.n) for c in checks],
            )

    def unaudited_checks(self) -> Iterator[VerifyRecord]:
        """Final read-back outcomes not yet marked as written to the audit trail."""
        rows = self._db.execute(
            "SELECT n, subject, id_type, verify_outcome, verify_reason, verify_checks, "
            "verify_at FROM people "
            "WHERE verify_outcome IS NOT NULL AND verify_audited = 0 ORDER BY n"
        )
        for n, subject, id_type, outcome, reason, checks, at in rows:
            yield VerifyRecord(n, subject, id_type, outcome, reason, checks, at)

    def mark_checks_audited(self, numbers: Iterable[int]) -> None:
        """Note that the trail holds these people's read-back outcomes."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE people SET verify_audited = 1 WHERE n = ?", [(n,) for n in numbers]
            )

    def erased_numbers(self) -> list[int]:
        """The numbers of every erased person (to draw a sample from)."""
        rows = self._db.execute("SELECT n FROM people WHERE stage = 2 ORDER BY n")
        return [n for (n,) in rows]

    def reset_verification(self, numbers: Iterable[int]) -> None:
        """Forget these people's read-back outcomes so that they are read back again."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE people SET verify_outcome = NULL, verify_reason = NULL, "
                "verify_at = NULL, verify_checks = 0, verify_first = NULL, verify_next = NULL, "
                "verify_audited = 0 WHERE n = ? AND stage = 2",
                [(n,) for n in numbers],
            )

    def still_present(self, numbers: Collection[int] | None = None) -> list[PresentPerson]:
        """Every erased person (of ``numbers``, if given) last read back as still there."""
        rows = self._db.execute(
            "SELECT n, subject, id_type, verify_checks FROM people "
            "WHERE verify_outcome = ? ORDER BY n",
            (STILL_PRESENT,),
        )
        return [
            PresentPerson(subject, id_type, checks)
            for n, subject, id_type, checks in rows
            if numbers is None or n in numbers
        ]

    def unverified_reasons(self) -> list[tuple[str, int]]:
        """Why people ended unverified, most common first, with how many each.

        Raises:
            JournalError: the journal cannot be read.
        """
        with translated(self.path):
            rows = self._db.execute(
                "SELECT coalesce(verify_reason, ''), count(*) FROM people "
                "WHERE verify_outcome = ? GROUP BY 1 ORDER BY 2 DESC, 1",
                (UNVERIFIED,),
            ).fetchall()
        return [(str(reason), int(count)) for reason, count in rows]

    def verify_outcomes(self, numbers: Collection[int]) -> dict[str, int]:
        """How many of these people ended in each read-back outcome."""
        found = dict.fromkeys(VERIFY_OUTCOMES, 0)
        rows = self._db.execute(
            "SELECT n, verify_outcome FROM people WHERE verify_outcome IS NOT NULL"
        )
        for n, outcome in rows:
            if n in numbers:
                found[outcome] = found.get(outcome, 0) + 1
        return found

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


def _expected_columns() -> dict[str, set[str]]:
    """Every table of the schema and its columns."""
    reference = sqlite3.connect(":memory:")
    try:
        reference.executescript(_SCHEMA)
        tables = reference.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name: _columns(reference, name) for (name,) in tables.fetchall()}
    finally:
        reference.close()


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    # NOTE: ``table`` comes from our own schema, never from the file being checked.
    return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}


def _check_schema(connection: sqlite3.Connection, path: Path | None) -> None:
    """Refuse a file whose tables lack columns the journal needs (damaged or foreign).

    Raises:
        JournalError: a table or column is missing.
        sqlite3.Error: the file is not a database.
    """
    for table, needed in _expected_columns().items():
        missing = sorted(needed - _columns(connection, table))
        if missing:
            raise JournalError.damaged(path, f"table {table} lacks column(s) {', '.join(missing)}")


def _show_missing_verify_columns(db: sqlite3.Connection) -> None:
    """Let a read-only look at a journal from before read-back verification see them empty.

    The file must not change, so a temporary view (temp objects come first in SQLite's name
    lookup, and live outside the file) stands in for ``people`` with the columns added.
    """
    present = {row[1] for row in db.execute("PRAGMA main.table_info(people)")}
    missing = [name for name in _VERIFY_COLUMNS if name not in present]
    if missing:
        empty = ", ".join(f"NULL AS {name}" for name in missing)
        db.execute(f"CREATE TEMP VIEW people AS SELECT *, {empty} FROM main.people")  # noqa: S608 - names are ours


def _add_verify_columns(db: sqlite3.Connection) -> None:
    """Give a journal written before read-back verification existed its columns."""
    present = {row[1] for row in db.execute("PRAGMA table_info(people)")}
    for name, kind in _VERIFY_COLUMNS.items():
        if name not in present:
            db.execute(f"ALTER TABLE people ADD COLUMN {name} {kind}")
    db.execute(_VERIFY_INDEX)


def _insert(db: sqlite3.Connection, batch: list[tuple[str, str, str]]) -> None:
    db.executemany(
        "INSERT OR IGNORE INTO people (id_type, subject, identifier) VALUES (?, ?, ?)", batch
    )


def _next_stage(outcome: Outcome) -> int:
    if not outcome.done:
        return FAILED
    return TO_DELETE if outcome.action == "suppress" else ERASED


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
