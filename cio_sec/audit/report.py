"""Audit results: one `CheckResult` per check and the `AuditReport` (render.sarif draws SARIF)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from cio_sec.errors import ExitCode


class Status(str, Enum):
    """How a check came out; the order is from best to worst."""

    PASS = "PASS"  # noqa: S105 - a status, not a password
    MANUAL = "MANUAL"
    """cio-sec cannot decide; a person has to look (the remediation says what at)."""
    WARN = "WARN"
    FAIL = "FAIL"


_RANK = {status: rank for rank, status in enumerate(Status)}


def worst(statuses: list[Status], default: Status = Status.PASS) -> Status:
    """The worst of several statuses (``default`` when there are none)."""
    return max(statuses, key=_RANK.__getitem__, default=default)


@dataclass(frozen=True)
class CheckFinding:
    """One located problem under a check (a handler line, a committed file ...)."""

    status: Status
    message: str
    path: str | None = None
    """Relative to the audited directory."""
    line: int | None = None

    @property
    def where(self) -> str:
        """``path:line``, ``path`` or nothing."""
        if self.path is None:
            return ""
        return self.path if self.line is None else f"{self.path}:{self.line}"

    def to_json(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "status": self.status.value,
            "message": self.message,
            "path": self.path,
            "line": self.line,
        }


@dataclass(frozen=True)
class CheckResult:
    """One check: its status, one line of evidence and one line of remediation."""

    id: str
    title: str
    status: Status
    evidence: str
    remediation: str
    findings: tuple[CheckFinding, ...] = ()

    def to_json(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "evidence": self.evidence,
            "remediation": self.remediation,
            "findings": [finding.to_json() for finding in self.findings],
        }


NOTHING_TO_DO = "nothing to do"


def passed(check_id: str, title: str, evidence: str) -> CheckResult:
    """A PASS result."""
    return CheckResult(check_id, title, Status.PASS, evidence, NOTHING_TO_DO)


def from_findings(
    check_id: str, title: str, findings: list[CheckFinding], *, remediation: str, more: str = "more"
) -> CheckResult:
    """A result whose status is its worst finding and whose evidence is the first of those."""
    status = worst([finding.status for finding in findings])
    first = next(finding for finding in findings if finding.status is status)
    where = f"{first.where}: " if first.where else ""
    rest = len(findings) - 1
    evidence = f"{where}{first.message}" + (f" (+{rest} {more})" if rest else "")
    return CheckResult(check_id, title, status, evidence, remediation, tuple(findings))


@dataclass(frozen=True)
class AuditReport:
    """Every check's result for one directory and profile."""

    path: Path
    profile: str
    checks: tuple[CheckResult, ...]
    strict: bool = False
    """WARN fails the audit too."""

    @property
    def counts(self) -> dict[str, int]:
        """How many checks ended in each status."""
        found = Counter(check.status for check in self.checks)
        return {status.value: found[status] for status in Status}

    @property
    def ok(self) -> bool:
        """True when nothing FAILs (nor WARNs under ``--strict``)."""
        failing = {Status.FAIL, Status.WARN} if self.strict else {Status.FAIL}
        return not any(check.status in failing for check in self.checks)

    @property
    def exit_code(self) -> ExitCode:
        """0 when the audit passes, 1 otherwise."""
        return ExitCode.OK if self.ok else ExitCode.CHECK_FAILED

    def to_json(self) -> dict[str, object]:
        """The JSON payload."""
        return {
            "path": str(self.path),
            "profile": self.profile,
            "strict": self.strict,
            "counts": self.counts,
            "checks": [check.to_json() for check in self.checks],
        }
