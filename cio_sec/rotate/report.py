"""What a rotation command returns: the checklist with each step's status, and the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from cio_sec.errors import ExitCode
from cio_sec.rotate.request import Action


class StepStatus(str, Enum):
    """Where one step of the checklist stands."""

    DONE = "done"
    PENDING = "pending"
    WAITING = "waiting"
    """For the operator."""
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class Outcome(str, Enum):
    """How a rotation command ended."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    """Resumable: waiting for the operator, or a step failed after preflight."""
    FAILED = "failed"
    """Preflight failed: nothing was started."""
    ROLLED_BACK = "rolled-back"
    ABORTED = "aborted"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class StepReport:
    """One line of the checklist."""

    number: int
    name: str
    title: str
    status: StepStatus
    detail: str | None = None

    def to_json(self) -> dict[str, object]:
        """The JSON form of this step."""
        return {
            "number": self.number,
            "name": self.name,
            "title": self.title,
            "status": self.status.value,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class RotationReport:
    """The result of ``cio-sec rotate KIND`` (run, ``--resume``, ``--rollback``, ``--abort``)."""

    kind: str
    profile: str
    action: Action
    outcome: Outcome
    steps: tuple[StepReport, ...]
    message: str
    exit_code: ExitCode = ExitCode.OK
    hint: str | None = None
    fingerprints: dict[str, str] = field(default_factory=dict)
    """Credential → fingerprint of the new value (never the value)."""
    old_key_works: bool | None = None
    """After a rollback: whether Customer.io still accepts the restored key (None: not
    tested, or no remote test for this kind)."""
    warnings: tuple[str, ...] = ()
    state_file: str | None = None
    error_type: str | None = None
    """The class of the error that failed or stopped it (None: by its exit code)."""

    @property
    def ok(self) -> bool:
        """True when the command did what was asked without stopping."""
        return self.exit_code == ExitCode.OK

    def failure(self) -> tuple[str | None, str, str | None]:
        """The error of a rotation that failed or stopped: its message and next step."""
        return self.error_type, self.message, self.hint

    def to_json(self) -> dict[str, object]:
        """The JSON payload (fingerprints only, never a key).

        ``message`` and ``hint`` describe the outcome, success included; the exit code is
        in the envelope's ``error``, which a failure adds.
        """
        return {
            "kind": self.kind,
            "profile": self.profile,
            "action": self.action.value,
            "outcome": self.outcome.value,
            "message": self.message,
            "hint": self.hint,
            "steps": [step.to_json() for step in self.steps],
            "fingerprints": dict(self.fingerprints),
            "old_key_works": self.old_key_works,
            "warnings": list(self.warnings),
            "state_file": self.state_file,
        }
