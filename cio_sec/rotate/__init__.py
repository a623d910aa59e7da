"""Guided key rotation in the safe order: resumable, reversible, with proof the old key is dead.

One module per concern: `steps` (the kinds and their ordered steps, as data), `state` (the
state file and the lock), `kinds` (formats, remote tests, UI paths), `actions` (what each
step does), `trail` (the last step: the key-age and audit-trail records), `key_ages`
(when each credential was last rotated, which `audit check` reads), `flow` (run, resume,
rollback, abort) and `report` (the result). Import from the package.
"""

from __future__ import annotations

from cio_sec.rotate.flow import Action, Operator, rotate
from cio_sec.rotate.report import RotationReport, StepReport
from cio_sec.rotate.steps import STEPS, Kind, Needs, Step

__all__ = [
    "STEPS",
    "Action",
    "Kind",
    "Needs",
    "Operator",
    "RotationReport",
    "Step",
    "StepReport",
    "rotate",
]
