"""``scan_repo.run``: the scan a request describes, then the baseline and ``--verify``."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import cio_sec.scan_repo.history as git_history
from cio_sec.scan_repo.baseline import is_accepted, load_baseline, write_baseline
from cio_sec.scan_repo.history_scan import scan_history
from cio_sec.scan_repo.hits import Progress
from cio_sec.scan_repo.report import ScanReport
from cio_sec.scan_repo.request import ScanRequest
from cio_sec.scan_repo.snapshot import scan_files, scan_staged, scan_working_tree
from cio_sec.scan_repo.verify import verify_report


class ScanUi(Protocol):
    """Who watches a scan: told how far it got (the CLI draws a progress bar)."""

    def progress(self, done: int, total: int) -> None:
        """``done`` objects of ``total`` are scanned."""


def run(request: ScanRequest, ui: ScanUi | None = None) -> ScanReport:
    """Run the scan the request describes, apply the baseline, verify when asked.

    Raises:
        InputError: bad options, a path that is not a git repository (except with
            ``--no-history``), an unknown revision, a repository git cannot read, or an
            unreadable or unwritable baseline.
    """
    request.check()
    accepted = (
        load_baseline(request.baseline)
        if request.baseline is not None and not request.write_baseline
        else frozenset()
    )
    with git_history.git_failures(request.path, _git_hint(request)):
        report = _scan(request, None if ui is None else ui.progress)
    leaks = tuple(replace(f, baselined=is_accepted(f, accepted)) for f in report.findings)
    report = replace(
        report,
        findings=leaks,
        baseline=None if request.baseline is None else str(request.baseline),
    )
    if request.write_baseline and request.baseline is not None:
        write_baseline(request.baseline, report.findings)
        report = replace(report, baseline_written=True)
    if request.verify is not None:
        report = verify_report(report, request.verify)
    return report


def _git_hint(request: ScanRequest) -> str:
    if request.since or request.branches:
        return (
            "check the names given to --since and --branch (git rev-parse NAME); if they are "
            "right, `git fsck` says what is damaged"
        )
    return git_history.FSCK_HINT


def _scan(request: ScanRequest, progress: Progress | None) -> ScanReport:
    if request.files:
        return scan_files(request.files, progress=progress)
    if request.no_history:
        return scan_working_tree(request.path, progress=progress)
    repo = git_history.open_repository(request.path)
    with repo:
        if request.staged:
            return scan_staged(repo, progress=progress)
        return scan_history(repo, request, progress)
