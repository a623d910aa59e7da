"""What the job journal holds and returns: stages, outcomes and the rows of one person."""

from __future__ import annotations

from dataclasses import dataclass

from cio_sec.erase.inputs import IdType

ACTIONS: tuple[str, ...] = ("suppress", "delete")

# Stages of a person, in order.
TO_SUPPRESS, TO_DELETE, ERASED, FAILED = 0, 1, 2, 3

# How the read-back of an erased person ended.
VERIFIED, STILL_PRESENT, UNVERIFIED = "verified", "still-present", "unverified"
VERIFY_OUTCOMES: tuple[str, ...] = (VERIFIED, STILL_PRESENT, UNVERIFIED)


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
