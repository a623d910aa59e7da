"""The history scan: every blob reachable from the refs (or a narrowed range), each once."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import cio_sec.scan_repo.history as git_history
from cio_sec.scan_repo.detectors import Match
from cio_sec.scan_repo.hits import Hits, Progress, display_path, sorted_skipped, with_progress
from cio_sec.scan_repo.report import Leak, ScanReport, SkippedItem
from cio_sec.scan_repo.request import ScanRequest

if TYPE_CHECKING:
    import git


def scan_history(
    repo: git.Repo, request: ScanRequest, progress: Progress | None = None
) -> ScanReport:
    """Scan every blob reachable from the refs (or the narrowed range), each once.

    Raises:
        git.GitCommandError: ``--since`` or ``--branch`` names an unknown revision, or the
            repository is damaged (`scan.run` turns it into exit 2).
    """
    tips = git_history.ref_tips(repo)
    hits = Hits()
    narrowed = bool(request.since or request.branches)
    if narrowed:
        starts = list(request.branches) or list(tips.values())
        history = git_history.walk_history(repo, starts, exclude=request.since)
        oids = list(history.introductions)
        unreadable: list[str] = []
        blobs = git_history.read_blobs(repo, oids, unreadable)
        for oid, content in with_progress(blobs, len(oids), progress):
            hits.scan(oid, content)
        hits.unreadable(unreadable)
    else:
        stats = git_history.ObjectStream()
        total = git_history.count_objects(repo)
        for oid, content in with_progress(
            git_history.stream_all_objects(repo, stats), total, progress
        ):
            hits.scan(oid, content)
        hits.unreadable(stats.unreadable)
        history = git_history.History()
        if hits.by_blob or hits.skipped:
            # Only now, and only for what matched or was skipped: where each blob came from.
            starts = list(tips.values()) + (stats.commits if request.include_unreachable else [])
            history = git_history.walk_history(repo, starts, wanted=hits.located)
    history.tips = tips
    head = git_history.head_tree(repo) if hits.by_blob else {}
    leaks = _history_leaks(hits, history, head, dangling=request.include_unreachable)
    return ScanReport(
        "history",
        str(repo.working_tree_dir or repo.git_dir),
        leaks,
        hits.blobs,
        hits.size,
        skipped=_history_skipped(hits, history, dangling=request.include_unreachable),
        credentials=hits.credentials,
    )


def _history_skipped(
    hits: Hits, history: git_history.History, *, dangling: bool
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
    return sorted_skipped(items)


def _history_leaks(
    hits: Hits, history: git_history.History, head: dict[str, str], *, dangling: bool
) -> tuple[Leak, ...]:
    grouped: dict[tuple[str, str, str | None], tuple[int, Leak]] = {}
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
                leak = _history_leak(oid, path, index, member, match, history, head)
                key = (match.rule, match.identity, leak.path)
                grouped[key] = _merge(grouped.get(key), (index, leak))
    ordered = sorted(grouped.values(), key=lambda item: (item[0], item[1].path or "", item[1].line))
    return tuple(leak for _, leak in ordered)


def _history_leak(
    oid: str,
    path: str | None,
    index: int,
    member: str | None,
    match: Match,
    history: git_history.History,
    head: dict[str, str],
) -> Leak:
    commit = history.commits[index] if path is not None else None
    return Leak(
        rule=match.rule,
        path=display_path(path, member),
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


def _merge(kept: tuple[int, Leak] | None, new: tuple[int, Leak]) -> tuple[int, Leak]:
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
