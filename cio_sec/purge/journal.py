"""The purge journal: one SQLite database (WAL) per attribute purge, beside erase's jobs.

One row per person: who they are (identifier and pseudonym), which of the purged attributes
they held when the purge was planned (names only, never values), the outcome of the request
that removed them and of the read-back that proved it. Every change is committed before it
is reported, so a killed run resumes where it stopped. The plaintext identifiers are purged
when the job completes; pseudonyms, attribute names and outcomes stay as its record.

Every SQLite failure becomes a `JournalError` naming the file (exit 3).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cio_sec.erase.journal import JournalError, immediate_transaction, translated

PENDING, PURGED, FAILED = 0, 1, 2
VERIFIED, STILL_PRESENT, UNVERIFIED = "verified", "still-present", "unverified"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS people (
    n INTEGER PRIMARY KEY,
    id_type TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    identifier TEXT,
    attributes TEXT NOT NULL,
    stage INTEGER NOT NULL DEFAULT 0,
    status INTEGER, reason TEXT, attempts INTEGER,
    audited INTEGER NOT NULL DEFAULT 0,
    verify_outcome TEXT, verify_reason TEXT, verify_at TEXT,
    verify_audited INTEGER NOT NULL DEFAULT 0,
    UNIQUE (subject_type, subject)
);
"""


def purges_dir(state_dir: Path) -> Path:
    """Where the purge journals live."""
    return state_dir / "purges"


@dataclass(frozen=True)
class Target:
    """A person to purge, as the planner found them."""

    id_type: str
    """``id``, ``email`` or ``cio_id``: how the identifier names them in requests."""
    identifier: str
    subject_type: str
    """The identifier type the subject pseudonym was made from (the input's)."""
    subject: str
    attributes: tuple[str, ...]
    """The attributes of the purge this person held (names only)."""


@dataclass(frozen=True)
class Person:
    """A journal row the engine or the verifier works on."""

    n: int
    id_type: str
    identifier: str | None
    subject_type: str
    subject: str
    attributes: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """The final result of one person's purge request."""

    n: int
    done: bool
    status: int | None
    reason: str | None
    attempts: int


@dataclass(frozen=True)
class Check:
    """The final result of one person's read-back."""

    n: int
    outcome: str
    reason: str | None
    at: str


@dataclass(frozen=True)
class Counts:
    """A purge's progress."""

    people: int
    purged: int
    failed: int
    verified: int
    still_present: int
    unverified: int

    @property
    def left(self) -> int:
        """People whose request has no final outcome yet."""
        return self.people - self.purged - self.failed

    @property
    def to_verify(self) -> int:
        """Purged people not read back yet."""
        return self.purged - self.verified - self.still_present - self.unverified

    def to_json(self) -> dict[str, int]:
        """The JSON form."""
        return {
            "people": self.people,
            "purged": self.purged,
            "failed": self.failed,
            "left": self.left,
            "verified": self.verified,
            "still_present": self.still_present,
            "unverified": self.unverified,
            "to_verify": self.to_verify,
        }


class PurgeJournal:
    """One purge job's journal (``path`` None: in memory, for dry runs)."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, path: Path | None) -> PurgeJournal:
        """Open or create a journal.

        Raises:
            JournalError: the file cannot be created or is not a purge journal.
        """
        with _translated(path):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            db = sqlite3.connect(":memory:" if path is None else path, isolation_level=None)
            if path is not None:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA secure_delete=ON")
            db.executescript(_SCHEMA)
            db.execute("SELECT n, attributes, verify_audited FROM people LIMIT 1").fetchall()
            return cls(db, path)

    @classmethod
    def open_readonly(cls, path: Path) -> PurgeJournal:
        """Open an existing journal without changing it.

        Raises:
            JournalError: the file cannot be read or is not a purge journal.
        """
        with _translated(path):
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            db.execute("SELECT n, attributes, verify_audited FROM people LIMIT 1").fetchall()
            return cls(db, path)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with _translated(self.path), immediate_transaction(self._db, self.path) as db:
            yield db

    # ------------------------------------------------------------------ meta

    def meta(self) -> dict[str, str]:
        """The job's settings and status."""
        with _translated(self.path):
            return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, values: Mapping[str, object]) -> None:
        """Set meta values, committed."""
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(name, str(value)) for name, value in values.items()],
            )

    @property
    def loaded(self) -> bool:
        """Whether the people were loaded completely (a killed load is started over)."""
        return self.meta().get("loaded") == "1"

    def load(self, targets: Iterable[Target], meta: Mapping[str, object]) -> int:
        """Load the people in one transaction, duplicates once; returns how many there are."""
        with self._transaction() as db:
            db.execute("DELETE FROM people")
            db.execute("DELETE FROM meta")
            db.executemany(
                "INSERT OR IGNORE INTO people "
                "(id_type, identifier, subject_type, subject, attributes) VALUES (?, ?, ?, ?, ?)",
                (
                    (
                        t.id_type,
                        t.identifier,
                        t.subject_type,
                        t.subject,
                        json.dumps(list(t.attributes)),
                    )
                    for t in targets
                ),
            )
            (people,) = db.execute("SELECT count(*) FROM people").fetchone()
            db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(k, str(v)) for k, v in {**meta, "people": people, "loaded": 1}.items()],
            )
        return int(people)

    # ------------------------------------------------------------------ the work

    def _people(self, where: str, args: Sequence[object] = ()) -> list[Person]:
        with _translated(self.path):
            rows = self._db.execute(
                "SELECT n, id_type, identifier, subject_type, subject, attributes FROM people "  # noqa: S608 - fixed clauses, values bound
                f"WHERE {where} ORDER BY n",
                args,
            ).fetchall()
            return [
                Person(n, kind, ident, subject_type, subject, tuple(json.loads(names)))
                for n, kind, ident, subject_type, subject, names in rows
            ]

    def pending(self) -> list[Person]:
        """The people whose purge request has no final outcome yet."""
        return self._people("stage = ?", (PENDING,))

    def to_verify(self) -> list[Person]:
        """The purged people not read back yet."""
        return self._people("stage = ? AND verify_outcome IS NULL", (PURGED,))

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """Commit request outcomes."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE people SET stage = ?, status = ?, reason = ?, attempts = ? WHERE n = ?",
                [
                    (PURGED if o.done else FAILED, o.status, o.reason, o.attempts, o.n)
                    for o in outcomes
                ],
            )

    def record_checks(self, checks: Sequence[Check]) -> None:
        """Commit read-back outcomes."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE people SET verify_outcome = ?, verify_reason = ?, verify_at = ? "
                "WHERE n = ?",
                [(c.outcome, c.reason, c.at, c.n) for c in checks],
            )

    def unaudited(self) -> list[tuple[Person, Outcome]]:
        """Request outcomes committed but not yet in the trail."""
        with _translated(self.path):
            rows = self._db.execute(
                "SELECT n, stage, status, reason, attempts FROM people "
                "WHERE stage > ? AND audited = 0 ORDER BY n",
                (PENDING,),
            ).fetchall()
        people = {p.n: p for p in self._people("stage > ? AND audited = 0", (PENDING,))}
        return [
            (people[n], Outcome(n, stage == PURGED, status, reason, attempts or 0))
            for n, stage, status, reason, attempts in rows
        ]

    def unaudited_checks(self) -> list[tuple[Person, Check]]:
        """Read-back outcomes committed but not yet in the trail."""
        with _translated(self.path):
            rows = self._db.execute(
                "SELECT n, verify_outcome, verify_reason, verify_at FROM people "
                "WHERE verify_outcome IS NOT NULL AND verify_audited = 0 ORDER BY n"
            ).fetchall()
        where = "verify_outcome IS NOT NULL AND verify_audited = 0"
        people = {p.n: p for p in self._people(where)}
        return [(people[n], Check(n, outcome, reason, at)) for n, outcome, reason, at in rows]

    def mark_audited(self, numbers: Iterable[int]) -> None:
        """Note that these request outcomes are in the trail."""
        with self._transaction() as db:
            db.executemany("UPDATE people SET audited = 1 WHERE n = ?", [(n,) for n in numbers])

    def mark_checks_audited(self, numbers: Iterable[int]) -> None:
        """Note that these read-back outcomes are in the trail."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE people SET verify_audited = 1 WHERE n = ?", [(n,) for n in numbers]
            )

    def counts(self) -> Counts:
        """The job's progress."""
        with _translated(self.path):
            (people, purged, failed, verified, present, unverified) = self._db.execute(
                "SELECT count(*), "
                "coalesce(sum(stage = 1), 0), coalesce(sum(stage = 2), 0), "
                "coalesce(sum(verify_outcome = 'verified'), 0), "
                "coalesce(sum(verify_outcome = 'still-present'), 0), "
                "coalesce(sum(verify_outcome = 'unverified'), 0) FROM people"
            ).fetchone()
        return Counts(people, purged, failed, verified, present, unverified)

    def per_attribute(self) -> dict[str, int]:
        """How many of the job's people hold each attribute."""
        counts: dict[str, int] = {}
        for person in self._people("1 = 1"):
            for name in person.attributes:
                counts[name] = counts.get(name, 0) + 1
        return counts

    def purge_identifiers(self) -> None:
        """Forget the plaintext identifiers (the job is complete)."""
        with self._transaction() as db:
            db.execute("UPDATE people SET identifier = NULL")
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('purged', '1')")
        with _translated(self.path):
            self._db.execute("VACUUM")


@contextlib.contextmanager
def _translated(path: Path | None) -> Iterator[None]:
    """As erase's journals, and an unusable state directory named too."""
    try:
        with translated(path):
            yield
    except OSError as exc:
        raise JournalError(
            f"cannot use the job journal {path}: {exc.strerror}",
            hint="check the permissions of the state directory (XDG_STATE_HOME) and make room "
            "on its filesystem, then run the same command again",
        ) from None
