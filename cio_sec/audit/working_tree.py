"""No Customer.io credential in the working tree: the scan-repo detectors over current files.

The detectors belong to ``scan-repo`` and are imported lazily; where they are not installed
the check is MANUAL and says what to run instead.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from cio_sec.audit.files import SKIPPED_DIRS, GitView
from cio_sec.audit.report import CheckFinding, CheckResult, Status, from_findings, passed

DETECTORS = "cio_sec.scan_repo.detectors"
MAX_FILE_BYTES = 2 << 20
TITLE = "No Customer.io credential in the working tree"


class Match(Protocol):
    """What a detector reports (never the secret itself)."""

    @property
    def rule(self) -> str:
        """The detector that matched."""

    @property
    def line(self) -> int:
        """1-based line number in the scanned bytes."""

    @property
    def fingerprint(self) -> str:
        """A short digest identifying the secret (never the secret)."""


Scanner = Callable[[bytes], Sequence[Match]]


def load_scanner() -> Scanner | None:
    """``scan_bytes`` of the scan-repo detectors, or None when they are not installed."""
    try:
        module = importlib.import_module(DETECTORS)
    except ImportError:
        return None
    scanner: Scanner = module.scan_bytes
    return scanner


def working_tree_files(root: Path, view: GitView) -> list[Path]:
    """Files under ``root`` that git does not ignore (every file outside a git work tree)."""
    if view.repo is not None:
        listed = view.repo.git.ls_files(
            "--cached", "--others", "--exclude-standard", "-z", "--", str(root.resolve())
        )
        top = Path(str(view.repo.working_tree_dir))
        return sorted({top / name for name in listed.split("\0") if name})
    return sorted(_walk(root))


def _walk(root: Path) -> Iterator[Path]:
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [name for name in subdirs if name not in SKIPPED_DIRS]
        yield from (Path(directory) / name for name in files)


def check_working_tree(root: Path, view: GitView, scanner: Scanner | None) -> CheckResult:
    """FAIL for every detector match in a file git does not ignore."""
    if scanner is None:
        return CheckResult(
            "working-tree-credentials",
            TITLE,
            Status.MANUAL,
            f"the scan-repo detectors ({DETECTORS}) are not installed",
            "install a cio-sec with scan-repo and re-run, or scan PATH with a secret scanner "
            "(gitleaks, trufflehog) by hand",
        )
    files = [path for path in working_tree_files(root, view) if _scannable(path)]
    findings = [
        CheckFinding(
            Status.FAIL,
            f"{match.rule} (fingerprint {match.fingerprint})",
            path.resolve().relative_to(root.resolve()).as_posix(),
            match.line,
        )
        for path in files
        for match in scanner(path.read_bytes())
    ]
    if not findings:
        return passed("working-tree-credentials", TITLE, f"{len(files)} files scanned, no match")
    return from_findings(
        "working-tree-credentials",
        TITLE,
        findings,
        remediation="rotate each credential found, move it to a secret store and delete it "
        "from the file (cio-sec scan-repo also checks the history)",
    )


def _scannable(path: Path) -> bool:
    return path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_FILE_BYTES
