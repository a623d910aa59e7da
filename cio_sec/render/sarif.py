"""The SARIF 2.1.0 logs of ``scan-repo`` and ``audit``: one builder, one tool, one writer.

GitHub code scanning turns a result into an alert only when it has a location, and treats it
as a security alert only when its rule has ``security-severity`` and the ``security`` tag.
Microsoft's SARIF Multitool (``validate --rule-kind "Gh;Sarif"``) checks both logs in
``make test`` (``scripts/sarif-validate.sh``). The reports keep their data; this module
turns it into SARIF.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from cio_sec import __version__
from cio_sec.audit.report import CheckFinding, CheckResult, Status
from cio_sec.render.document import write_json
from cio_sec.render.sarif_rules import SCAN_RULES, Rule, rule_for
from cio_sec.scan_repo.report import Leak, ScanReport, SkippedItem
from cio_sec.scan_repo.rules import LEAK_RULES

if TYPE_CHECKING:
    from cio_sec.audit.report import AuditReport
    from cio_sec.render.streams import Streams

SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME: Final = "cio-sec"
INFORMATION_URI: Final = "https://pypi.org/project/cio-sec/"

ROOT_URI: Final = "."
"""The repository root, for a result that concerns no single file in it."""

_AUDIT_LEVEL: Final = {Status.FAIL: "error", Status.WARN: "warning", Status.MANUAL: "note"}


def emit_sarif(report: AuditReport | ScanReport, streams: Streams) -> None:
    """Write a report's SARIF 2.1.0 log on stdout (redacted, like every document)."""
    write_json(sarif_log(report), streams)


def sarif_log(report: AuditReport | ScanReport, version: str = __version__) -> dict[str, Any]:
    """The report's SARIF 2.1.0 log, naming ``version`` as the tool's."""
    if isinstance(report, ScanReport):
        return _scan_log(report, version)
    return _audit_log(report, version)


def _log(run: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def driver(version: str, rules: list[Rule]) -> dict[str, Any]:
    """The ``tool`` object: one name and home for both commands."""
    return {
        "driver": {
            "name": TOOL_NAME,
            "version": version,
            "informationUri": INFORMATION_URI,
            "rules": [rule.descriptor() for rule in rules],
        }
    }


def location(uri: str, line: int, base: str | None = None) -> dict[str, Any]:
    """A ``location`` at ``line`` of ``uri`` (already percent-encoded)."""
    artifact: dict[str, Any] = {"uri": uri}
    if base is not None:
        artifact["uriBaseId"] = base
    return {"physicalLocation": {"artifactLocation": artifact, "region": {"startLine": line}}}


def stable_id(*parts: str) -> str:
    """32 hex digits naming a result across runs and machines (for ``partialFingerprints``).

    The parts are public (rule, path, public fingerprint), so the digest hides nothing and
    needs no key: a key made on one CI runner would not exist on the next.
    """
    joined = "\0".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(joined).hexdigest()[:32]


def _uri(path: str) -> str:
    # A path that is not UTF-8 holds lone surrogates: percent-encode its original bytes.
    return quote(path, errors="surrogateescape")


# --- audit: one result per non-passing finding ---------------------------------------------


def _audit_log(report: AuditReport, version: str) -> dict[str, Any]:
    """One result per non-passing finding; checks that pass produce none.

    A check without located findings is located at the repository root, so that code
    scanning keeps it.
    """
    rules = [rule_for(check.id, check.title) for check in report.checks]
    results = [
        result
        for index, check in enumerate(report.checks)
        if check.status is not Status.PASS
        for result in _audit_results(check, index)
    ]
    return _log(
        {
            "tool": driver(version, rules),
            "originalUriBaseIds": {"SRCROOT": {"uri": report.path.resolve().as_uri() + "/"}},
            "invocations": [{"executionSuccessful": True}],
            "results": results,
            "properties": {"profile": report.profile, "counts": report.counts},
        }
    )


def _audit_results(check: CheckResult, index: int) -> list[dict[str, Any]]:
    located = [finding for finding in check.findings if finding.status is not Status.PASS]
    if not located:
        located = [CheckFinding(check.status, check.evidence)]
    seen: Counter[str | None] = Counter()
    results = []
    for finding in located:
        seen[finding.path] += 1
        results.append(_audit_result(check, index, finding, seen[finding.path]))
    return results


def _audit_result(
    check: CheckResult, index: int, finding: CheckFinding, occurrence: int
) -> dict[str, Any]:
    uri = ROOT_URI if finding.path is None else _uri(finding.path)
    where = location(uri, finding.line or 1, base="SRCROOT")
    # Lines move as files change; the rule, the file and the n-th result there do not.
    identity = stable_id(check.id, uri, str(occurrence))
    return {
        "ruleId": check.id,
        "ruleIndex": index,
        "level": _AUDIT_LEVEL[finding.status],
        "properties": {"status": finding.status.value},
        "message": {"text": f"{finding.message}. Remediation: {check.remediation}"},
        "locations": [where],
        "partialFingerprints": {"cioSecAuditResult/v1": identity},
    }


# --- scan-repo: every rule, one located result per finding ----------------------------------


def _scan_log(report: ScanReport, version: str) -> dict[str, Any]:
    index = {rule.id: position for position, rule in enumerate(LEAK_RULES)}
    return _log(
        {
            "tool": driver(version, list(SCAN_RULES.values())),
            "results": [
                _scan_result(finding, index[finding.rule], identity)
                for finding, identity in zip(
                    report.findings, _scan_result_ids(report.findings), strict=True
                )
            ],
            "invocations": [
                {
                    "executionSuccessful": True,
                    "toolExecutionNotifications": [
                        _scan_notification(item) for item in report.skipped
                    ],
                }
            ],
        }
    )


def _scan_result_ids(findings: tuple[Leak, ...]) -> list[str]:
    """One id per finding, the same in every run: rule, place and public fingerprint.

    Two keys of one rule in one file share the 4-digit fingerprint once in 65,536 times;
    the later one (by line) then counts as the second of that fingerprint there.
    """
    seen: dict[tuple[str, str, str], set[str]] = {}
    ids = []
    for finding in findings:
        place = finding.path if finding.path is not None else f"blob:{finding.blob}"
        secrets = seen.setdefault((finding.rule, place, finding.fingerprint), set())
        secrets.add(finding.identity)
        parts = [finding.rule, place, finding.fingerprint]
        ids.append(stable_id(*parts, str(len(secrets))))
    return ids


def _scan_result(finding: Leak, rule_index: int, identity: str) -> dict[str, Any]:
    where = f"since commit {finding.commit[:12]}" if finding.commit else "not committed"
    head = {True: ", still in HEAD", False: ", not in HEAD", None: ""}[finding.in_head]
    found = "" if finding.path is not None else f" in unreachable blob {finding.blob}"
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": "note" if finding.baselined else "error",
        "message": {"text": f"Customer.io credential {finding.preview}{found} ({where}{head})"},
        "locations": [_scan_location(finding)],
        "partialFingerprints": {"cioSecFinding/v2": identity},
        "properties": {
            "fingerprint": finding.fingerprint,
            "commit": finding.commit,
            "authorDate": finding.author_date,
            "refs": list(finding.refs),
            "inHead": finding.in_head,
            "blob": finding.blob,
            "baselined": finding.baselined,
            "liveness": finding.liveness,
        },
    }


def _scan_location(finding: Leak) -> dict[str, Any]:
    if finding.path is None:  # a dangling blob: no file holds it, the repository does
        return location(ROOT_URI, 1)
    # NOTE: a member of an archive is reported on the archive's first line.
    archive, member = finding.path.partition("!")[::2]
    return location(_uri(archive), 1 if member else finding.line)


def _scan_notification(item: SkippedItem) -> dict[str, Any]:
    notification: dict[str, Any] = {
        "level": "warning",
        "message": {"text": f"not scanned in full: {item.location}: {item.reason}"},
        "properties": item.to_json(),
    }
    if item.path is not None:
        uri = {"uri": _uri(item.path)}
        notification["locations"] = [{"physicalLocation": {"artifactLocation": uri}}]
    return notification
