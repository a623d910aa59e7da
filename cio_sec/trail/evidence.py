"""``audit log export --ticket REF``: the evidence that a ticket's people were erased.

The report lists, per subject pseudonym, every action with its outcome and time and whether
a read-back proved the person gone ("erased, verified at T" or "erased, unverified"), and per
job its workspace, region, operator and counts, together with the chain head and whether
the whole trail verified. JSON for systems, Markdown for the data-protection officer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cio_sec.errors import ExitCode
from cio_sec.trail.chain import ChainReport, trail_keys, verify_chain
from cio_sec.trail.records import format_ts, trail_records, utc_now

if TYPE_CHECKING:
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import StoreOpener

_JOB_FIELDS = (
    "workspace", "region", "operator", "api", "actions", "input_sha256", "people",
    "invalid", "dry_run", "resumed", "version",
)  # fmt: skip


_ERASE_TYPES = frozenset({"job-start", "action", "verification", "job-end"})
VERIFICATION_COUNTS = ("verified", "still_present", "unverified")
#: A run another run followed without its end in between: the process was killed.
INTERRUPTED = "interrupted"
#: The last run of a job, with no end recorded: killed, or still running.
UNFINISHED = "unfinished"
_PURGE_ACTION = "attribute-purge"
PURGED = "attributes-purged"
"""A subject whose purged attributes were removed (``erase --attributes``); kept as a person."""
_PROVABLE = ("erased", PURGED)


@dataclass
class SubjectEvidence:
    """Everything the trail says about one subject under the ticket."""

    subject: str
    id_type: str | None
    actions: list[dict[str, Any]] = field(default_factory=list)
    verifications: list[dict[str, Any]] = field(default_factory=list)
    """Read-back outcomes, oldest first: the latest one counts."""

    @property
    def verification(self) -> str:
        """``verified``, ``still-present`` or ``unverified`` (never read back counts too)."""
        if not self.verifications:
            return "unverified"
        return str(max(self.verifications, key=_seq)["outcome"])

    @property
    def statement(self) -> str:
        """The evidence in words: "erased, verified at T", "erased, unverified", ..."""
        if self.outcome not in _PROVABLE:
            return self.outcome
        done = "erased"
        if self.outcome == PURGED:
            names = _distinct(n for a in self.actions for n in a.get("attributes") or ())
            done = f"attributes {', '.join(map(str, names))} removed"
        latest = max(self.verifications, key=_seq) if self.verifications else None
        if latest is None or latest["outcome"] == "unverified":
            return f"{done}, unverified"
        if latest["outcome"] == "verified":
            return f"{done}, verified at {latest['at'] or latest['ts']}"
        return f"{done}, but still present at {latest['at'] or latest['ts']}"

    @property
    def outcome(self) -> str:
        """``erased``, ``failed`` (an action failed) or ``incomplete`` (no final delete).

        Per action only its latest record (highest seq) counts: a person whose delete
        failed and who was erased by a later run (``erase --restart``) is erased.
        """
        latest = {a["action"]: a["outcome"] for a in sorted(self.actions, key=_seq)}
        if "failed" in latest.values():
            return "failed"
        if latest.get(_PURGE_ACTION) == "done":
            return PURGED
        return "erased" if latest.get("delete") == "done" else "incomplete"

    def to_json(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "subject": self.subject,
            "id_type": self.id_type,
            "outcome": self.outcome,
            "verification": self.verification if self.outcome in _PROVABLE else None,
            "evidence": self.statement,
            "actions": self.actions,
            "verifications": self.verifications,
        }


@dataclass(frozen=True)
class EvidenceReport:
    """The erasure evidence for one ticket."""

    ticket: str
    generated_at: str
    chain: ChainReport
    jobs: tuple[dict[str, Any], ...]
    subjects: tuple[SubjectEvidence, ...]

    @property
    def ok(self) -> bool:
        """Evidence only counts when the trail verifies and holds the ticket."""
        return self.chain.ok and bool(self.jobs or self.subjects)

    @property
    def exit_code(self) -> ExitCode:
        """1 when the chain is broken or no record names the ticket."""
        return ExitCode.OK if self.ok else ExitCode.CHECK_FAILED

    @property
    def counts(self) -> dict[str, int]:
        """Subjects by outcome, and the erased ones by read-back outcome."""
        outcomes = [subject.outcome for subject in self.subjects]
        counts = {name: outcomes.count(name) for name in ("erased", "failed", "incomplete")}
        if PURGED in outcomes:  # only then: an erasure's evidence keeps its shape
            counts["attributes_purged"] = outcomes.count(PURGED)
        checked = [
            s.verification.replace("-", "_") for s in self.subjects if s.outcome in _PROVABLE
        ]
        return counts | {name: checked.count(name) for name in VERIFICATION_COUNTS}

    def to_json(self) -> dict[str, object]:
        """The JSON evidence document."""
        return {
            "ticket": self.ticket,
            "generated_at": self.generated_at,
            "trail": self.chain.to_json(),
            "workspaces": _distinct(job.get("workspace") for job in self.jobs),
            "operators": _distinct(job.get("operator") for job in self.jobs),
            "jobs": list(self.jobs),
            "counts": self.counts,
            "subjects": [subject.to_json() for subject in self.subjects],
        }


@dataclass(frozen=True, kw_only=True)
class EvidenceRequest:
    """Which ticket ``audit log export`` collects the evidence of, and from which trail."""

    ticket: str
    path: Path | None = None
    """The trail file (default: the profile's ``audit_log``)."""


def export(
    request: EvidenceRequest,
    settings: Settings,
    opener: StoreOpener,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> EvidenceReport:
    """Collect the ticket's jobs and subjects from the trail, and verify the whole chain.

    ``clock`` dates the report (a test seam).

    Raises:
        SecretMissingError: no pseudonym key is stored.
        ConfigError: the key is unusable.
        InputError: the trail cannot be read.
    """
    ticket = request.ticket
    trail = request.path or settings.audit_log
    chain = verify_chain(trail, trail_keys(settings, opener))
    jobs: dict[str, dict[str, Any]] = {}
    subjects: dict[str, SubjectEvidence] = {}
    for record in trail_records(trail):
        if record.get("ticket") != ticket or record.get("type") not in _ERASE_TYPES:
            continue
        job = jobs.setdefault(str(record.get("job")), {"job": record.get("job")})
        _collect(record, job, subjects)
    return EvidenceReport(
        ticket, format_ts(clock()), chain, tuple(jobs.values()), tuple(subjects.values())
    )


def _collect(
    record: Mapping[str, Any], job: dict[str, Any], subjects: dict[str, SubjectEvidence]
) -> None:
    kind = record.get("type")
    if kind == "job-start":
        # A job id may be dry-run first and run for real later: it sent something if any
        # of its runs was not a dry run.
        dry_run = bool(job.get("dry_run", True)) and bool(record.get("dry_run"))
        job.update({name: record.get(name) for name in _JOB_FIELDS})
        job.setdefault("started", record["ts"])  # the first run's start: actions come after
        if record.get("action") == _PURGE_ACTION:  # which attributes, how many held each
            job.update(
                attributes=record.get("attributes"), per_attribute=record.get("per_attribute")
            )
        job["dry_run"] = dry_run
        _start_run(job, record)
    elif kind == "job-end":
        job.update(
            ended=record["ts"],
            status=record.get("status"),
            counts=record.get("counts"),
            duration_s=record.get("duration_s"),
        )
        _end_run(job, record)
    elif kind == "verification":
        subject = str(record.get("subject"))
        evidence = subjects.setdefault(subject, SubjectEvidence(subject, record.get("id_type")))
        evidence.verifications.append(
            {
                "job": record.get("job"),
                "outcome": record.get("outcome"),
                "reason": record.get("reason"),
                "checks": record.get("checks"),
                "at": record.get("at"),
                "ts": record["ts"],
                "seq": record["seq"],
            }
        )
    else:
        subject = str(record.get("subject"))
        evidence = subjects.setdefault(subject, SubjectEvidence(subject, record.get("id_type")))
        evidence.actions.append(
            {
                "job": record.get("job"),
                "action": record.get("action"),
                "outcome": record.get("outcome"),
                "status": record.get("status"),
                "reason": record.get("reason"),
                "attempts": record.get("attempts"),
                "ts": record["ts"],
                "seq": record["seq"],
            }
        )
        if record.get("attributes") is not None:  # an attribute purge: the names, no values
            evidence.actions[-1]["attributes"] = record.get("attributes")


def _start_run(job: dict[str, Any], record: Mapping[str, Any]) -> None:
    """A new run of the job; one still open before it was cut short (killed, power cut)."""
    runs: list[dict[str, Any]] = job.setdefault("runs", [])
    if runs and runs[-1]["status"] in (None, UNFINISHED):
        runs[-1]["status"] = INTERRUPTED
    runs.append(
        {
            "started": record["ts"],
            "ended": None,
            "status": UNFINISHED,
            "counts": None,
            "dry_run": bool(record.get("dry_run")),
            "resumed": bool(record.get("resumed")),
        }
    )


def _end_run(job: dict[str, Any], record: Mapping[str, Any]) -> None:
    runs: list[dict[str, Any]] = job.setdefault("runs", [])
    if not runs or runs[-1]["status"] != UNFINISHED:  # an end whose start is not in the trail
        runs.append({"started": None, "dry_run": False, "resumed": False})
    runs[-1].update(ended=record["ts"], status=record.get("status"), counts=record.get("counts"))


def _seq(action: Mapping[str, Any]) -> int:
    return int(action["seq"])


def _distinct(values: Iterable[object]) -> list[object]:
    return list(dict.fromkeys(value for value in values if value is not None))
