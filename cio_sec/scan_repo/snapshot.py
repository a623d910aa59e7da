"""The scans of one snapshot, without history: the index, a directory, named files."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import cio_sec.scan_repo.history as git_history
from cio_sec.errors import InputError
from cio_sec.scan_repo.hits import (
    Hits,
    Progress,
    plain_leak,
    sorted_leaks,
    sorted_skipped,
    with_progress,
)
from cio_sec.scan_repo.report import ScanReport, SkippedItem

if TYPE_CHECKING:
    import git


def scan_staged(repo: git.Repo, progress: Progress | None = None) -> ScanReport:
    """Scan what the next commit would add: the index entries that differ from HEAD."""
    staged = git_history.staged_blobs(repo)
    paths: dict[str, list[str]] = {}
    for path, oid in staged:
        paths.setdefault(oid, []).append(path)
    hits = Hits()
    unreadable: list[str] = []
    blobs = git_history.read_blobs(repo, paths, unreadable)
    for oid, content in with_progress(blobs, len(paths), progress):
        hits.scan(oid, content)
    hits.unreadable(unreadable)
    leaks = [
        plain_leak(path, member, match)
        for oid, found in hits.by_blob.items()
        for path in paths[oid]
        for member, match in found
    ]
    skipped = (
        SkippedItem(path, item.member, item.reason, blob=oid)
        for oid, items in hits.skipped.items()
        for path in paths[oid]
        for item in items
    )
    return ScanReport(
        "staged",
        str(repo.working_tree_dir),
        sorted_leaks(leaks),
        hits.blobs,
        hits.size,
        skipped=sorted_skipped(skipped),
        credentials=hits.credentials,
    )


def scan_working_tree(path: Path, progress: Progress | None = None) -> ScanReport:
    """Scan the files of a directory as they are on disk, without history.

    In a git work tree: tracked files and untracked ones that are not ignored (what could
    be committed). Elsewhere: every file, except inside ``.git`` directories.

    Raises:
        InputError: ``path`` is not a directory.
    """
    if not path.is_dir():
        raise InputError("not a directory", path=path)
    files = _tree_files(path)
    hits = Hits()
    for name, content in with_progress(_read_files(path, files), len(files), progress):
        hits.scan(name, content)
    return _files_report(hits, "working-tree", str(path))


def scan_files(paths: Iterable[Path], progress: Progress | None = None) -> ScanReport:
    """Scan the named files as they are on disk (pre-commit's file list, ``--all-files``).

    During a commit, pre-commit has stashed unstaged changes, so the files hold what is
    staged. Symbolic links are not followed: git stores the link, not what it points at.

    Raises:
        InputError: a path that does not exist, is a directory, or cannot be read.
    """
    names = [str(path) for path in paths]
    hits = Hits()
    for name, content in with_progress(_read_named(names), len(names), progress):
        hits.scan(name, content)
    return _files_report(hits, "files", str(Path.cwd()))


def _files_report(hits: Hits, source: str, root: str) -> ScanReport:
    leaks = [
        plain_leak(name, member, match)
        for name, found in hits.by_blob.items()
        for member, match in found
    ]
    skipped = (
        SkippedItem(name, item.member, item.reason)
        for name, items in hits.skipped.items()
        for item in items
    )
    return ScanReport(
        source,
        root,
        sorted_leaks(leaks),
        hits.blobs,
        hits.size,
        skipped=sorted_skipped(skipped),
        credentials=hits.credentials,
    )


def _read_named(names: list[str]) -> Iterator[tuple[str, bytes]]:
    for name in names:
        file = Path(name)
        if file.is_symlink():
            continue
        if file.is_dir():
            raise InputError("a directory, not a file", path=file, hint="--files takes files")
        try:
            yield name, file.read_bytes()
        except FileNotFoundError:
            raise InputError("file not found", path=file) from None
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
            raise InputError(f"cannot read the file: {reason}", path=file) from exc


def _tree_files(root: Path) -> list[str]:
    import git  # GitPython takes a while to import: only the scans that need it load it

    try:
        repo = git.Repo(root, search_parent_directories=True)
    except git.InvalidGitRepositoryError:
        return _walk_files(root)
    with repo:
        listing = repo.git.ls_files(
            "--cached", "--others", "--exclude-standard", "-z", "--", str(root.resolve())
        )
        top = Path(str(repo.working_tree_dir))
    return sorted(
        os.path.relpath(top / name, root.resolve()) for name in listing.split("\0") if name
    )


def _walk_files(root: Path) -> list[str]:
    files: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        files.extend(os.path.relpath(os.path.join(folder, name), root) for name in names)
    return sorted(files)


def _read_files(root: Path, names: list[str]) -> Iterator[tuple[str, bytes]]:
    for name in names:
        file = root / name
        if file.is_file() and not file.is_symlink():
            yield name, file.read_bytes()
