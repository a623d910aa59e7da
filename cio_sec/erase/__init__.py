"""GDPR/CCPA erasure of people in Customer.io: crash-safe, rate-limited, with an audit trail.

One module per concern: `inputs` (reading and validating identifiers), `plan` (job id,
plan, confirmation), `journal` (the SQLite job journal and lock), `ratelimit` (the adaptive
limiter), `engine` (async requests, retries, signals), `trail` (trail records), `report`
(results) and `job` (running a job end to end).
"""

from __future__ import annotations

from cio_sec.erase.inputs import IdType, InputSpec
from cio_sec.erase.job import erase, job_status
from cio_sec.erase.plan import ErasureRequest, ErasureUi, Plan
from cio_sec.erase.report import ErasureReport, JobsReport

__all__ = [
    "ErasureReport",
    "ErasureRequest",
    "ErasureUi",
    "IdType",
    "InputSpec",
    "JobsReport",
    "Plan",
    "erase",
    "job_status",
]
