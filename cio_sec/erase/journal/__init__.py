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

One module per concern: `rows` (what a journal holds and returns), `store` (the `Journal`
and its queries), `schema` (tables, the damage check, migrations), `errors` (SQLite
failures as `JournalError`, transactions) and `lock` (the job lock, `live_status`).
"""

from __future__ import annotations

from cio_sec.erase.journal.errors import JournalError, immediate_transaction, translated
from cio_sec.erase.journal.lock import JobLock, jobs_dir, live_status
from cio_sec.erase.journal.rows import (
    ACTIONS,
    ERASED,
    FAILED,
    STILL_PRESENT,
    TO_DELETE,
    TO_SUPPRESS,
    UNVERIFIED,
    VERIFIED,
    VERIFY_OUTCOMES,
    ActionRecord,
    Check,
    Counts,
    FailedPerson,
    Outcome,
    Person,
    PresentPerson,
    ToVerify,
    VerifyRecord,
)
from cio_sec.erase.journal.store import Journal

__all__ = [
    "ACTIONS",
    "ERASED",
    "FAILED",
    "STILL_PRESENT",
    "TO_DELETE",
    "TO_SUPPRESS",
    "UNVERIFIED",
    "VERIFIED",
    "VERIFY_OUTCOMES",
    "ActionRecord",
    "Check",
    "Counts",
    "FailedPerson",
    "JobLock",
    "Journal",
    "JournalError",
    "Outcome",
    "Person",
    "PresentPerson",
    "ToVerify",
    "VerifyRecord",
    "immediate_transaction",
    "jobs_dir",
    "live_status",
    "translated",
]
