"""Audit results: one `CheckResult` per check, the `AuditReport`, and its SARIF 2.1.0 form."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from cio_sec.errors import ExitCode


class Status(str, Enum):
    """How a check came out; the order is from best to worst."""

    PASS = "PASS"  # noqa: S105 - a status, not a password
    MANUAL = "MANUAL"
    """cio-sec cannot decide; a person has to look (the remediation says what at)."""
    WARN = "WARN"
    FAIL = "FAIL"


_RANK = {status: rank for rank, status in enumerate(Status)}
_SARIF_LEVEL = {Status.FAIL: "error", Status.WARN: "warning", Status.MANUAL: "note"}


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

    def to_sarif(self, version: str) -> dict[str, Any]:
        """A SARIF 2.1.0 log for code-scanning upload: one result per non-passing finding.

        Checks that pass produce no result. A check without located findings is located at
        the repository root, so that code scanning keeps it.
        """
        from cio_sec import sarif
        from cio_sec.audit.rules import rule_for

        rules = [rule_for(check.id, check.title) for check in self.checks]
        results = [
            result
            for index, check in enumerate(self.checks)
            if check.status is not Status.PASS
            for result in _sarif_results(check, index)
        ]
        return {
            "$schema": sarif.SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": sarif.driver(version, rules),
                    "originalUriBaseIds": {"SRCROOT": {"uri": self.path.resolve().as_uri() + "/"}},
                    "invocations": [{"executionSuccessful": True}],
                    "results": results,
                    "properties": {"profile": self.profile, "counts": self.counts},
                }
            ],
        }


def _sarif_results(check: CheckResult, index: int) -> list[dict[str, Any]]:
    located = [finding for finding in check.findings if finding.status is not Status.PASS]
    if not located:
        located = [CheckFinding(check.status, check.evidence)]
    seen: Counter[str | None] = Counter()
    results = []
    for finding in located:
        seen[finding.path] += 1
        results.append(_sarif_result(check, index, finding, seen[finding.path]))
    return results


def _sarif_result(
    check: CheckResult, index: int, finding: CheckFinding, occurrence: int
) -> dict[str, Any]:
    from urllib.parse import quote

    from cio_sec import sarif

    uri = sarif.ROOT_URI if finding.path is None else quote(finding.path, errors="surrogateescape")
    where = sarif.location(uri, finding.line or 1, base="SRCROOT")
    # Lines move as files change; the rule, the file and the n-th result there do not.
    identity = sarif.stable_id(check.id, uri, str(occurrence))
    return {
        "ruleId": check.id,
        "ruleIndex": index,
        "level": _SARIF_LEVEL[finding.status],
        "properties": {"status": finding.status.value},
        "message": {"text": f"{finding.message}. Remediation: {check.remediation}"},
        "locations": [where],
        "partialFingerprints": {"cioSecAuditResult/v1": identity},
    }
