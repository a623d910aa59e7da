"""``scan-repo``: find leaked Customer.io credentials in a repository's whole history.

The public interface, stable for other capabilities (``audit``) and library users:

- `scan_bytes(data) -> list[Match]` (in `cio_sec.scan_repo.detectors`): every credential in
  a byte string, with rule, line, fingerprint and masked preview.
- `scan_working_tree(path) -> ScanReport`: the files of a directory as they are on disk.
- `scan_repo(ScanOptions(...)) -> ScanReport`: what the command runs (history, ``--staged``,
  ``--no-history``, baseline, ``--verify``).

Modules: `detectors` (the rules), `archives` (archive members, ASCII runs of binaries),
`history` (GitPython: object streams, the one history pass), `scan` (the scans),
`report` (findings, skipped items, JSON, SARIF), `baseline`, `verify` (read-only
liveness checks). A damaged archive member or object is a `SkippedItem` of the report,
never an exception.
"""

from __future__ import annotations

from cio_sec.scan_repo.detectors import DETECTORS, Detector, Match, scan_bytes
from cio_sec.scan_repo.report import Finding, ScanReport, SkippedItem
from cio_sec.scan_repo.scan import ScanOptions, scan_repo, scan_staged, scan_working_tree
from cio_sec.scan_repo.verify import Endpoints

__all__ = [
    "DETECTORS",
    "Detector",
    "Endpoints",
    "Finding",
    "Match",
    "ScanOptions",
    "ScanReport",
    "SkippedItem",
    "scan_bytes",
    "scan_repo",
    "scan_staged",
    "scan_working_tree",
]
