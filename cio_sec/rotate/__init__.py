"""Guided key rotation in the safe order: resumable, reversible, with proof the old key is dead.

One module per concern: `steps` (the kinds and their ordered steps, as data), `request`
(what was asked), `state` (the state file and the lock), `kinds` (formats, remote tests, UI
paths), `rotation` (what every step reads and asks for), `actions` (what each step does),
`checks` (the remote and read-back tests), `writes` (the store step), `rollback` (rollback
and abort), `trail` (the last step: the key-age and audit-trail records), `key_ages` (when each
credential was last rotated, which `audit check` reads), `flow` (the order of it all)
and `report` (the result). Import from the package: ``rotate.run(request, settings,
opener, ui)``.
"""

from __future__ import annotations

from cio_sec.rotate.flow import run
from cio_sec.rotate.report import Outcome, RotationReport, StepReport, StepStatus
from cio_sec.rotate.request import Action, RotationRequest
from cio_sec.rotate.steps import STEPS, Kind, Needs, Step
from cio_sec.rotate.ui import RotationUi

__all__ = [
    "STEPS",
    "Action",
    "Kind",
    "Needs",
    "Outcome",
    "RotationReport",
    "RotationRequest",
    "RotationUi",
    "Step",
    "StepReport",
    "StepStatus",
    "run",
]
