"""The scans: full history, a narrowed history, the index, a working tree."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cio_sec.errors import InputError
from cio_sec.redact import register
from cio_sec.scan_repo import history as git_history
from cio_sec.scan_repo.archives import Skipped, is_archive, scannable_parts
from cio_sec.scan_repo.baseline import (
    is_accepted,
    load_baseline,
    writable_mode,
    write_baseline,
)
from cio_sec.scan_repo.detectors import (
    TRACK_BASIC_AUTH,
    TRACK_KEY_PAIR,
    Match,
    scan_bytes,
    surely_clean,
)
from cio_sec.scan_repo.report import Credential, Finding, ScanReport, SkippedItem

if TYPE_CHECKING:
    import git

    from cio_sec.scan_repo.verify import Endpoints

Progress = Callable[[int, int], None]
"""Called with (objects done, objects in all) as a scan goes."""

_PROGRESS_EVERY = 512
_UNREADABLE = "git cannot read this object: it is missing or corrupt (see `git fsck`)"


@dataclass(frozen=True)
class ScanOptions:
    """What ``cio-sec scan-repo`` was asked to do."""

    path: Path = Path(".")
    include_unreachable: bool = False
    since: str | None = None
    branches: tuple[str, ...] = ()
    staged: bool = False
    no_history: bool = False
    files: tuple[Path, ...] = ()
    """``--files``: scan these files as they are on disk (pre-commit passes them)."""
    baseline: Path | None = None
    write_baseline: bool = False
    verify: Endpoints | None = None
    progress: Progress | None = field(default=None, compare=False)

    def check(self) -> None:
        """Reject combinations that mean nothing.

        Raises:
            InputError: conflicting options, or a symlink as the baseline to write (exit 2).
        """
        narrowing = self.include_unreachable or self.since or self.branches
        modes = [self.staged, self.no_history, bool(self.files)]
        if sum(modes) > 1:
            raise InputError("--staged, --no-history and --files exclude each other")
        if any(modes) and narrowing:
            raise InputError(
                "--include-unreachable, --since and --branch apply to history scans only"
            )
        if self.include_unreachable and (self.since or self.branches):
            raise InputError("--include-unreachable scans every object; drop --since/--branch")
        if self.write_baseline and self.baseline is None:
            raise InputError("--write-baseline needs --baseline FILE")
        if self.write_baseline and self.baseline is not None:
            writable_mode(self.baseline)


def scan_repo(options: ScanOptions) -> ScanReport:
    """Run the scan the options describe, apply the baseline, verify when asked.

    Raises:
        InputError: bad options, a path that is not a git repository (except with
            ``--no-history``), an unknown revision, a repository git cannot read, or an
            unreadable or unwritable baseline.
    """
    options.check()
    accepted = (
        load_baseline(options.baseline)
        if options.baseline is not None and not options.write_baseline
        else frozenset()
    )
    with git_history.git_failures(options.path, _git_hint(options)):
        report = _scan(options)
    findings = tuple(replace(f, baselined=is_accepted(f, accepted)) for f in report.findings)
    report = replace(
        report,
        findings=findings,
        baseline=None if options.baseline is None else str(options.baseline),
    )
    if options.write_baseline and options.baseline is not None:
        write_baseline(options.baseline, report.findings)
        report = replace(report, baseline_written=True)
    if options.verify is not None:
        from cio_sec.scan_repo.verify import verify_report

        report = verify_report(report, options.verify)
    return report


def _git_hint(options: ScanOptions) -> str:
    if options.since or options.branches:
        return (
            "check the names given to --since and --branch (git rev-parse NAME); if they are "
            "right, `git fsck` says what is damaged"
        )
    return git_history.FSCK_HINT


def scan_targets(paths: list[Path], *, files: bool) -> tuple[Path, tuple[Path, ...]]:
    """Split the command's PATH arguments into the repository and the ``--files`` list.

    Raises:
        InputError: several paths without ``--files``, or ``--files`` without a path.
    """
    if files:
        if not paths:
            raise InputError("--files needs at least one PATH")
        return Path("."), tuple(paths)
    if len(paths) > 1:
        raise InputError(
            "scan-repo scans one repository at a time",
            hint="pass --files to scan several files as they are on disk",
        )
    return (paths[0] if paths else Path(".")), ()


def _scan(options: ScanOptions) -> ScanReport:
    if options.files:
        return scan_files(options.files, progress=options.progress)
    if options.no_history:
        return scan_working_tree(options.path, progress=options.progress)
    repo = git_history.open_repository(options.path)
    with repo:
        if options.staged:
            return scan_staged(repo, progress=options.progress)
        return scan_history(repo, options)


@dataclass
class _Hits:
    """Matches per blob, and the secrets behind them."""

    by_blob: dict[str, list[tuple[str | None, Match]]] = field(default_factory=dict)
    credentials: dict[str, Credential] = field(default_factory=dict)
    skipped: dict[str, list[Skipped]] = field(default_factory=dict)
    """What of each blob could not be read in full."""
    blobs: int = 0
    size: int = 0

    def scan(self, oid: str, content: bytes) -> None:
        self.blobs += 1
        self.size += len(content)
        if not is_archive(content) and surely_clean(content):
            return  # nearly every blob: no need to look at its parts
        skipped: list[Skipped] = []
        parts = scannable_parts(content, skipped)
        found = [(member, m) for member, part in parts for m in scan_bytes(part)]
        if skipped:
            self.skipped[oid] = skipped
        if found:
            self.by_blob[oid] = found
            for _, match in found:
                _remember(match, self.credentials)

    def unreadable(self, oids: Iterable[str]) -> None:
        """Git cannot read these objects: they are skipped, not scanned."""
        for oid in oids:
            self.skipped[oid] = [Skipped(None, _UNREADABLE)]

    def located(self, oid: str) -> bool:
        """Whether the history pass must say where ``oid`` came from."""
        return oid in self.by_blob or oid in self.skipped


def _remember(match: Match, credentials: dict[str, Credential]) -> None:
    """Register the secret with the redactor first: nothing may print it from now on."""
    register(match.secret)
    if match.rule in (TRACK_KEY_PAIR.id, TRACK_BASIC_AUTH.id):
        register(match.secret.split(":", 1)[1])
    credentials.setdefault(match.identity, Credential(match.rule, match.secret))


def _with_progress(
    items: Iterable[tuple[str, bytes]], total: int, progress: Progress | None
) -> Iterator[tuple[str, bytes]]:
    for done, item in enumerate(items, 1):
        yield item
        if progress is not None and done % _PROGRESS_EVERY == 0:
            progress(done, total)
    if progress is not None:
        progress(total, total)


def scan_history(repo: git.Repo, options: ScanOptions) -> ScanReport:
    """Scan every blob reachable from the refs (or the narrowed range), each once.

    Raises:
        git.GitCommandError: ``--since`` or ``--branch`` names an unknown revision, or the
            repository is damaged (`scan_repo` turns it into exit 2).
    """
    tips = git_history.ref_tips(repo)
    hits = _Hits()
    narrowed = bool(options.since or options.branches)
    if narrowed:
        starts = list(options.branches) or list(tips.values())
        history = git_history.walk_history(repo, starts, exclude=options.since)
        oids = list(history.introductions)
        unreadable: list[str] = []
        blobs = git_history.read_blobs(repo, oids, unreadable)
        for oid, content in _with_progress(blobs, len(oids), options.progress):
            hits.scan(oid, content)
        hits.unreadable(unreadable)
    else:
        stats = git_history.ObjectStream()
        total = git_history.count_objects(repo)
        for oid, content in _with_progress(
            git_history.stream_all_objects(repo, stats), total, options.progress
        ):
            hits.scan(oid, content)
        hits.unreadable(stats.unreadable)
        history = git_history.History()
        if hits.by_blob or hits.skipped:
            # Only now, and only for what matched or was skipped: where each blob came from.
            starts = list(tips.values()) + (stats.commits if options.include_unreachable else [])
            history = git_history.walk_history(repo, starts, wanted=hits.located)
    history.tips = tips
    head = git_history.head_tree(repo) if hits.by_blob else {}
    findings = _history_findings(hits, history, head, dangling=options.include_unreachable)
    return ScanReport(
        "history",
        str(repo.working_tree_dir or repo.git_dir),
        findings,
        hits.blobs,
        hits.size,
        skipped=_history_skipped(hits, history, dangling=options.include_unreachable),
        credentials=hits.credentials,
    )


def _history_skipped(
    hits: _Hits, history: git_history.History, *, dangling: bool
) -> tuple[SkippedItem, ...]:
    """Each skipped item at each path its blob was introduced at, as of the earliest commit."""
    items: list[SkippedItem] = []
    for oid, skipped in hits.skipped.items():
        first_at: dict[str, int] = {}
        for intro in history.introductions.get(oid, []):
            first_at[intro.path] = min(first_at.get(intro.path, intro.commit), intro.commit)
        places: list[tuple[str | None, str | None]] = [
            (path, history.commits[index].oid) for path, index in first_at.items()
        ]
        if not places and dangling:
            places = [(None, None)]
        items.extend(
            SkippedItem(path, item.member, item.reason, commit=commit, blob=oid)
            for path, commit in places
            for item in skipped
        )
    return _sorted_skipped(items)


def _sorted_skipped(items: Iterable[SkippedItem]) -> tuple[SkippedItem, ...]:
    # By place only: within one blob, the order in which its members were read.
    return tuple(sorted(items, key=lambda i: (i.path or "", i.blob or "")))


def _history_findings(
    hits: _Hits, history: git_history.History, head: dict[str, str], *, dangling: bool
) -> tuple[Finding, ...]:
    grouped: dict[tuple[str, str, str | None], tuple[int, Finding]] = {}
    for oid, found in hits.by_blob.items():
        introductions = history.introductions.get(oid, [])
        if not introductions and not dangling:
            continue  # in the object database, but no ref reaches it
        first_at: dict[str | None, int] = {}
        for intro in introductions:
            first_at[intro.path] = min(first_at.get(intro.path, intro.commit), intro.commit)
        places = first_at.items() if first_at else [(None, len(history.commits))]
        for path, index in places:
            for member, match in found:
                finding = _history_finding(oid, path, index, member, match, history, head)
                key = (match.rule, match.identity, finding.path)
                grouped[key] = _merge(grouped.get(key), (index, finding))
    ordered = sorted(grouped.values(), key=lambda item: (item[0], item[1].path or "", item[1].line))
    return tuple(finding for _, finding in ordered)


def _history_finding(
    oid: str,
    path: str | None,
    index: int,
    member: str | None,
    match: Match,
    history: git_history.History,
    head: dict[str, str],
) -> Finding:
    commit = history.commits[index] if path is not None else None
    return Finding(
        rule=match.rule,
        path=_display_path(path, member),
        line=match.line,
        fingerprint=match.fingerprint,
        preview=match.preview,
        identity=match.identity,
        commit=commit.oid if commit else None,
        author_date=commit.author_date if commit else None,
        refs=history.refs_reaching(commit.oid) if commit else (),
        in_head=path is not None and head.get(path) == oid,
        blob=oid,
    )


def _merge(kept: tuple[int, Finding] | None, new: tuple[int, Finding]) -> tuple[int, Finding]:
    """The same secret at the same path in several blobs: the earliest one, all refs."""
    if kept is None:
        return new
    first, later = sorted((kept, new), key=lambda item: item[0])
    merged = replace(
        first[1],
        refs=tuple(sorted(set(first[1].refs) | set(later[1].refs))),
        in_head=bool(first[1].in_head or later[1].in_head),
    )
    return first[0], merged


def _display_path(path: str | None, member: str | None) -> str | None:
    if path is None or member is None:
        return path
    return f"{path}!{member}"


def scan_staged(repo: git.Repo, progress: Progress | None = None) -> ScanReport:
    """Scan what the next commit would add: the index entries that differ from HEAD."""
    staged = git_history.staged_blobs(repo)
    paths: dict[str, list[str]] = {}
    for path, oid in staged:
        paths.setdefault(oid, []).append(path)
    hits = _Hits()
    unreadable: list[str] = []
    blobs = git_history.read_blobs(repo, paths, unreadable)
    for oid, content in _with_progress(blobs, len(paths), progress):
        hits.scan(oid, content)
    hits.unreadable(unreadable)
    findings = [
        _plain_finding(path, member, match)
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
        _sorted(findings),
        hits.blobs,
        hits.size,
        skipped=_sorted_skipped(skipped),
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
    hits = _Hits()
    for name, content in _with_progress(_read_files(path, files), len(files), progress):
        hits.scan(name, content)
    findings = [
        _plain_finding(name, member, match)
        for name, found in hits.by_blob.items()
        for member, match in found
    ]
    skipped = (
        SkippedItem(name, item.member, item.reason)
        for name, items in hits.skipped.items()
        for item in items
    )
    return ScanReport(
        "working-tree",
        str(path),
        _sorted(findings),
        hits.blobs,
        hits.size,
        skipped=_sorted_skipped(skipped),
        credentials=hits.credentials,
    )


def scan_files(paths: Iterable[Path], progress: Progress | None = None) -> ScanReport:
    """Scan the named files as they are on disk (pre-commit's file list, ``--all-files``).

    During a commit, pre-commit has stashed unstaged changes, so the files hold what is
    staged. Symbolic links are not followed: git stores the link, not what it points at.

    Raises:
        InputError: a path that does not exist, is a directory, or cannot be read.
    """
    names = [str(path) for path in paths]
    hits = _Hits()
    for name, content in _with_progress(_read_named(names), len(names), progress):
        hits.scan(name, content)
    findings = [
        _plain_finding(name, member, match)
        for name, found in hits.by_blob.items()
        for member, match in found
    ]
    skipped = (
        SkippedItem(name, item.member, item.reason)
        for name, items in hits.skipped.items()
        for item in items
    )
    return ScanReport(
        "files",
        str(Path.cwd()),
        _sorted(findings),
        hits.blobs,
        hits.size,
        skipped=_sorted_skipped(skipped),
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
    import git

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


def _plain_finding(path: str, member: str | None, match: Match) -> Finding:
    return Finding(
        rule=match.rule,
        path=_display_path(path, member),
        line=match.line,
        fingerprint=match.fingerprint,
        preview=match.preview,
        identity=match.identity,
    )


def _sorted(findings: list[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: (f.path or "", f.line, f.rule)))
