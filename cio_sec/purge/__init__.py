"""Removing attributes sent by mistake (an SSN, a card number) without removing the people.

``cio-sec erase --attributes NAMES`` finds who holds them through the App API search,
empties exactly those attributes with one identify call per person, and reads each person
back to prove it; ``audit --online`` uses the same search to find never-send attributes.

One module per concern: `names` (never-send names and their spellings), `find` (the
search), `targets` (the holders matched to the input), `plan` (request, names, job id,
plan), `journal` (the SQLite job journal), `engine` (the requests), `verify` (the
read-backs), `trail` (audit records), `report` (results), `job` (running a purge end to
end) and `listing` (the purge jobs and their status). `run` purges; `status` lists the
jobs; `cio_sec.render.purge` draws the text.
"""

from __future__ import annotations

from cio_sec.purge.job import ALL_MATCHING, run
from cio_sec.purge.listing import PurgeStatusRequest, status
from cio_sec.purge.plan import PurgePlan, PurgeRequest, PurgeUi, parse_attributes
from cio_sec.purge.report import PurgeJobsReport, PurgeReport

__all__ = [
    "ALL_MATCHING",
    "PurgeJobsReport",
    "PurgePlan",
    "PurgeReport",
    "PurgeRequest",
    "PurgeStatusRequest",
    "PurgeUi",
    "parse_attributes",
    "run",
    "status",
]
