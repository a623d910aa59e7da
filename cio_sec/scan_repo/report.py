"""What a scan returns: findings, the report (JSON, exit code) and its SARIF 2.1.0 log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

from cio_sec import __version__, sarif, terminal
from cio_sec.errors import ExitCode
from cio_sec.scan_repo.rules import LEAK_RULES

_ROTATE: Final = (
    "Treat it as leaked: rotate it in Customer.io, then remove it from the code and history "
    "(the leaked-key runbook gives each step). A known test key can go into a baseline "
    "(`--baseline FILE --write-baseline`)."
)
_SEVERITY: Final = {
    "customerio-track-key-pair": "9.0",
    "customerio-track-api-key": "8.0",
    "customerio-track-basic-auth": "9.0",
    "customerio-app-api-key": "9.5",
    "customerio-webhook-signing-key": "7.5",
    "customerio-service-account-token": "9.5",
}
"""GitHub ``security-severity`` per leak rule (documented in ``docs/reference/sarif.md``)."""

HOOK_ID: Final = "cio-sec-scan-repo"
"""The id ``.pre-commit-hooks.yaml`` publishes (``SKIP=`` takes it)."""
NEXT_STEPS: Final = (
    "next: a real key? Rotate it first: docs/runbooks/key-leaked.md",
    "      a known test key? Accept it: cio-sec scan-repo --baseline .cio-sec-baseline.json "
    "--write-baseline, then give the hook `args: [--baseline, .cio-sec-baseline.json]`",
    f"      a false alarm, this once? SKIP={HOOK_ID} git commit ...",
)
_HOOK_SOURCES: Final = frozenset({"staged", "files"})

SARIF_RULES: Final = {
    rule.id: sarif.Rule(rule.id, f"{rule.description}.", rule.help, _ROTATE, _SEVERITY[rule.id])
    for rule in LEAK_RULES
}
"""Leak rule id → SARIF rule, in the rules' order: the scan's rule metadata, in one place."""


@dataclass(frozen=True)
class Leak:
    """A finding: one credential at one path, where it is, since when, who still reaches it."""

    rule: str
    path: str | None
    """Path in the repository (``archive.tar.gz!member`` inside archives); None for a
    dangling blob no commit contains."""
    line: int
    fingerprint: str
    """First 4 hex digits of SHA-256 of the secret (of ``site_id:key`` for a pair): the
    same on every machine, and short enough to leave 64 bits of a Track key unknown."""
    preview: str
    """The secret masked (`cio_sec.redact.mask`, of each part of a pair)."""
    commit: str | None = None
    """The earliest commit that introduced the secret at this path (history scans)."""
    author_date: str | None = None
    refs: tuple[str, ...] = ()
    """Refs from which that commit is reachable; empty when only unreachable commits
    hold it."""
    in_head: bool | None = None
    """Whether HEAD still has it at this path; None when the scan is not of history."""
    blob: str | None = None
    baselined: bool = False
    liveness: str | None = None
    """``live``, ``revoked`` or ``unknown`` after ``--verify``; None otherwise."""
    liveness_detail: str | None = None
    identity: str = field(default="", repr=False, compare=False)
    """The secret's keyed fingerprint: which `ScanReport.credentials` entry it is."""

    @property
    def location(self) -> str:
        """``path:line`` for people, or the blob id of a dangling blob."""
        return f"{self.path}:{self.line}" if self.path is not None else f"blob {self.blob}"

    def to_json(self) -> dict[str, object]:
        """The finding's fields for ``--format json``; never the secret."""
        return {
            "rule": self.rule,
            "path": self.path,
            "line": self.line,
            "commit": self.commit,
            "author_date": self.author_date,
            "refs": list(self.refs),
            "in_head": self.in_head,
            "fingerprint": self.fingerprint,
            "preview": self.preview,
            "blob": self.blob,
            "baselined": self.baselined,
            "liveness": self.liveness,
            "liveness_detail": self.liveness_detail,
        }


@dataclass(frozen=True)
class SkippedItem:
    """A blob or archive member that could not be read in full: it may hide a credential."""

    path: str | None
    """Path in the repository; None for a dangling blob no commit contains."""
    member: str | None
    """The archive member (``!`` joins nested names); None for the blob or file itself."""
    reason: str
    commit: str | None = None
    """The earliest commit that introduced the blob at this path (history scans)."""
    blob: str | None = None

    @property
    def location(self) -> str:
        """``path!member`` for people, or the object id of a dangling object."""
        where = self.path if self.path is not None else f"object {self.blob}"
        return where if self.member is None else f"{where}!{self.member}"

    def to_json(self) -> dict[str, object]:
        """The item's fields for ``--format json``."""
        return {
            "path": self.path,
            "commit": self.commit,
            "member": self.member,
            "reason": self.reason,
            "blob": self.blob,
        }


@dataclass(frozen=True)
class Credential:
    """A distinct secret found, kept in memory for ``--verify`` only."""

    rule: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class ScanReport:
    """The findings of one scan, and what the command's exit code follows from."""

    source: str
    """``history``, ``staged``, ``files`` or ``working-tree``."""
    root: str
    findings: tuple[Leak, ...]
    blobs_scanned: int
    bytes_scanned: int
    baseline: str | None = None
    baseline_written: bool = False
    verified: bool = False
    skipped: tuple[SkippedItem, ...] = ()
    """What could not be read in full (damaged archives, members cut at a bound)."""
    credentials: Mapping[str, Credential] = field(default_factory=dict, repr=False)
    """Keyed fingerprint (`Leak.identity`) → secret, for `verify`; never serialised."""

    @property
    def new_findings(self) -> tuple[Leak, ...]:
        """Findings whose fingerprint the baseline does not accept."""
        return tuple(f for f in self.findings if not f.baselined)

    @property
    def exit_code(self) -> ExitCode:
        """1 when there are findings not in the baseline (0 after writing the baseline)."""
        if self.new_findings and not self.baseline_written:
            return ExitCode.CHECK_FAILED
        return ExitCode.OK

    @property
    def ok(self) -> bool:
        """Whether nothing new was found."""
        return self.exit_code is ExitCode.OK

    @property
    def next_steps(self) -> tuple[str, ...]:
        """What a person blocked by the pre-commit hook can do next (empty otherwise)."""
        if self.ok or self.source not in _HOOK_SOURCES:
            return ()
        return NEXT_STEPS

    def to_json(self) -> dict[str, object]:
        """The command-specific part of the JSON document."""
        return {
            "source": self.source,
            "root": self.root,
            "findings": [finding.to_json() for finding in self.findings],
            "summary": {
                "findings": len(self.findings),
                "new": len(self.new_findings),
                "baselined": len(self.findings) - len(self.new_findings),
                "blobs_scanned": self.blobs_scanned,
                "bytes_scanned": self.bytes_scanned,
                "skipped": len(self.skipped),
            },
            "skipped": [item.to_json() for item in self.skipped],
            "baseline": self.baseline,
            "baseline_written": self.baseline_written,
            "verified": self.verified,
        }

    def to_sarif(self) -> dict[str, Any]:
        """A SARIF 2.1.0 log with one run: every rule, one located result per finding."""
        index = {rule.id: position for position, rule in enumerate(LEAK_RULES)}
        return {
            "$schema": sarif.SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": sarif.driver(__version__, list(SARIF_RULES.values())),
                    "results": [
                        _sarif_result(finding, index[finding.rule], identity)
                        for finding, identity in zip(
                            self.findings, _result_ids(self.findings), strict=True
                        )
                    ],
                    "invocations": [
                        {
                            "executionSuccessful": True,
                            "toolExecutionNotifications": [
                                _sarif_notification(item) for item in self.skipped
                            ],
                        }
                    ],
                }
            ],
        }


def _result_ids(findings: tuple[Leak, ...]) -> list[str]:
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
        ids.append(sarif.stable_id(*parts, str(len(secrets))))
    return ids


def _sarif_result(finding: Leak, rule_index: int, identity: str) -> dict[str, Any]:
    where = f"since commit {finding.commit[:12]}" if finding.commit else "not committed"
    head = {True: ", still in HEAD", False: ", not in HEAD", None: ""}[finding.in_head]
    found = "" if finding.path is not None else f" in unreachable blob {finding.blob}"
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": "note" if finding.baselined else "error",
        "message": {"text": f"Customer.io credential {finding.preview}{found} ({where}{head})"},
        "locations": [_sarif_location(finding)],
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


def _sarif_location(finding: Leak) -> dict[str, Any]:
    if finding.path is None:  # a dangling blob: no file holds it, the repository does
        return sarif.location(sarif.ROOT_URI, 1)
    # NOTE: a member of an archive is reported on the archive's first line.
    archive, member = finding.path.partition("!")[::2]
    return sarif.location(_uri(archive), 1 if member else finding.line)


def _uri(path: str) -> str:
    # A path that is not UTF-8 holds lone surrogates: percent-encode its original bytes.
    return quote(path, errors="surrogateescape")


def _sarif_notification(item: SkippedItem) -> dict[str, Any]:
    notification: dict[str, Any] = {
        "level": "warning",
        "message": {"text": f"not scanned in full: {item.location}: {item.reason}"},
        "properties": item.to_json(),
    }
    if item.path is not None:
        uri = {"uri": _uri(item.path)}
        notification["locations"] = [{"physicalLocation": {"artifactLocation": uri}}]
    return notification


def printable(text: str) -> str:
    """``text`` on one line, with every control character shown as a visible escape.

    Paths, member names and git's messages come from the repository: an escape sequence in
    a file name must not act on the terminal of the person reading the report.
    """
    return terminal.printable(text, keep_newlines=False)
