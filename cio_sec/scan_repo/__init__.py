"""``scan-repo``: find leaked Customer.io credentials in a repository's whole history.

The public interface, stable for other capabilities (``audit``) and library users:

- `scan_bytes(data) -> list[Match]` (in `cio_sec.scan_repo.detectors`): every credential in
  a byte string, with rule, line, fingerprint and masked preview.
- `scan_working_tree(path) -> ScanReport`: the files of a directory as they are on disk.
- `scan_staged(repo) -> ScanReport`: what the next commit would add.
- `scan_files(paths) -> ScanReport`: the named files as they are on disk.
- `run(ScanRequest(...), ui) -> ScanReport`: what the command runs (history, ``--staged``,
  ``--no-history``, ``--files``, baseline, ``--verify``).

Modules: `rules` (the kinds of leak: ids and help), `anchors` (what wakes a detector up),
`text` (a blob's lines and context), `detectors` (`scan_bytes`), `prefilter` (the optional
Hyperscan gate), `archives` (archive members, ASCII runs of binaries), `history`
(GitPython: object streams, the one history pass), `hits` (what the scans share),
`history_scan` and `snapshot` (the scans), `request` and `scan` (`run`), `report` (leaks,
skipped items, JSON, SARIF), `baseline`, `verify` (read-only liveness checks). A damaged
archive member or object is a `SkippedItem` of the report, never an exception.
"""

from __future__ import annotations

from cio_sec.scan_repo.detectors import Match, scan_bytes
from cio_sec.scan_repo.report import Leak, ScanReport, SkippedItem
from cio_sec.scan_repo.request import ScanRequest, scan_targets
from cio_sec.scan_repo.rules import LEAK_RULES, LeakRule
from cio_sec.scan_repo.scan import ScanUi, run
from cio_sec.scan_repo.snapshot import scan_files, scan_staged, scan_working_tree
from cio_sec.scan_repo.verify import Endpoints

__all__ = [
    "LEAK_RULES",
    "Endpoints",
    "Leak",
    "LeakRule",
    "Match",
    "ScanReport",
    "ScanRequest",
    "ScanUi",
    "SkippedItem",
    "run",
    "scan_bytes",
    "scan_files",
    "scan_staged",
    "scan_targets",
    "scan_working_tree",
]
