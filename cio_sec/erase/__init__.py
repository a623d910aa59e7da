"""GDPR/CCPA erasure of people in Customer.io: crash-safe, rate-limited, with an audit trail.

`run` erases (``cio-sec erase``); `status` lists the jobs (``cio-sec erase status``).

One module per concern: `inputs` (reading and validating identifiers), `plan` (job id,
plan, confirmation), `journal` (the SQLite job journal and lock), `ratelimit` (the adaptive
limiter), `engine` (async requests, retries, signals), `supervisor` (signals and flushes
shared with purge), `verify`, `reach` and `readbacks` (the read-backs that prove the
erasure), `trail` (trail records), `report` (results), `job` (running a job end to end),
`resume` (what a later run inherits), `listing` (the jobs and their status) and `recheck`
(``erase verify JOB``).
"""

from __future__ import annotations

from cio_sec.erase.inputs import IdType, InputSpec
from cio_sec.erase.job import run
from cio_sec.erase.listing import StatusRequest, status
from cio_sec.erase.plan import Api, ErasureRequest, ErasureUi, Plan
from cio_sec.erase.report import ErasureReport, JobsReport, RunStatus

__all__ = [
    "Api",
    "ErasureReport",
    "ErasureRequest",
    "ErasureUi",
    "IdType",
    "InputSpec",
    "JobsReport",
    "Plan",
    "RunStatus",
    "StatusRequest",
    "run",
    "status",
]
