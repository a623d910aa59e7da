"""What ``cio-sec rotate KIND`` was asked to do: the kind, the action and the confirmation."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from cio_sec.rotate.steps import Kind


class Action(str, Enum):
    """What ``cio-sec rotate`` was asked to do."""

    RUN = "run"
    RESUME = "resume"
    ROLLBACK = "rollback"
    ABORT = "abort"


@dataclass(frozen=True, kw_only=True)
class RotationRequest:
    """The options of one ``cio-sec rotate`` run."""

    kind: Kind
    action: Action = Action.RUN
    yes: bool = False
    """``--yes``: confirmed in advance (required when nobody can be asked)."""
