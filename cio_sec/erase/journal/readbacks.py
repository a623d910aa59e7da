"""The read-back half of the journal: who is due a read-back, and how each one ended."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path

from cio_sec.erase.inputs import IdType
from cio_sec.erase.journal.errors import immediate_transaction, translated
from cio_sec.erase.journal.rows import (
    STILL_PRESENT,
    UNVERIFIED,
    VERIFY_OUTCOMES,
    Check,
    PresentPerson,
    ToVerify,
    VerifyRecord,
)


class ReadBackRows:
    """Queries on the read-back columns of ``people``; `Journal` is the class to use."""

    _db: sqlite3.Connection
    path: Path | None

    def _transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._db, self.path)

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
