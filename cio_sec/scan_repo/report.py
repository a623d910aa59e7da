"""What a scan returns: findings and the report (JSON, exit code); render.sarif draws SARIF."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from cio_sec import terminal
from cio_sec.errors import ExitCode

HOOK_ID: Final = "cio-sec-scan-repo"
"""The id ``.pre-commit-hooks.yaml`` publishes (``SKIP=`` takes it)."""
NEXT_STEPS: Final = (
    "next: a real key? Rotate it first: docs/runbooks/key-leaked.md",
    "      a known test key? Accept it: cio-sec scan-repo --baseline .cio-sec-baseline.json "
    "--write-baseline, then give the hook `args: [--baseline, .cio-sec-baseline.json]`",
    f"      a false alarm, this once? SKIP={HOOK_ID} git commit ...",
)
_HOOK_SOURCES: Final = frozenset({"staged", "files"})


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


def printable(text: str) -> str:
    """``text`` on one line, with every control character shown as a visible escape.

    Paths, member names and git's messages come from the repository: an escape sequence in
    a file name must not act on the terminal of the person reading the report.
    """
    return terminal.printable(text, keep_newlines=False)
