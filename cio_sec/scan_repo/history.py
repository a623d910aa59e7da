"""Reading a repository through GitPython: object streams, one history pass, HEAD's tree.

Two processes do all the work of a full scan: one ``git cat-file --batch-all-objects
--batch`` stream (each object once, in pack order), and, only when something matched, one
``git log --raw`` pass over all refs that says where each matching blob was introduced.
Narrowed scans (``--since``, ``--branch``, ``--staged``) read just the blobs they need
through GitPython's persistent ``cat-file --batch`` reader.
"""

from __future__ import annotations

import contextlib
import re
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from cio_sec.errors import InputError
from cio_sec.scan_repo.readahead import ReadAhead
from cio_sec.scan_repo.report import printable

if TYPE_CHECKING:
    import git

NULL_OID: Final = "0" * 40
EMPTY_TREE: Final = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
FSCK_HINT: Final = "the repository is damaged: `git fsck` says what is wrong"
_MAX_GIT_MESSAGE: Final = 500
_PIPE_BYTES: Final = 1024 * 1024  # Linux's default /proc/sys/fs/pipe-max-size


def open_repository(path: Path) -> git.Repo:
    """Open the git repository at or above ``path``.

    Raises:
        InputError: ``path`` does not exist or is not inside a git repository (exit 2).
    """
    import git

    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise InputError(
            "not a git repository",
            path=path,
            hint="pass the path of a clone, or use --no-history to scan a plain directory",
        ) from None


@contextmanager
def git_failures(path: Path, hint: str = FSCK_HINT) -> Iterator[None]:
    """Turn git failing on a damaged repository into an `InputError` with git's own words.

    A missing or corrupt object, or a ``.git/config`` git cannot parse, makes git exit
    non-zero; that is bad input (exit 2), not a bug in cio-sec.

    Raises:
        InputError: a git command failed inside the block.
    """
    import git

    try:
        yield
    except git.GitCommandError as exc:
        raise InputError(f"git failed: {git_said(exc)}", path=path, hint=hint) from None


def git_said(exc: git.GitCommandError) -> str:
    """What git wrote on stderr, on one line, without control characters, bounded."""
    text = exc.stderr if isinstance(exc.stderr, str) else ""
    # GitPython wraps it as "\n  stderr: '...'".
    wrapped = re.fullmatch(r"\s*stderr: '(.*)'\s*", text, re.DOTALL)
    lines = [line.strip() for line in (wrapped[1] if wrapped else text).splitlines()]
    said = "; ".join(line for line in lines if line) or f"git exited with status {exc.status}"
    said = printable(said)
    return said if len(said) <= _MAX_GIT_MESSAGE else said[: _MAX_GIT_MESSAGE - 1] + "…"


@dataclass
class ObjectStream:
    """Counters of one `stream_all_objects` pass, filled in as it goes."""

    commits: list[str] = field(default_factory=list)
    objects: int = 0
    unreadable: list[str] = field(default_factory=list)
    """Objects git listed but could not read (a corrupt loose object)."""


def count_objects(repo: git.Repo) -> int:
    """Loose plus packed objects: the length of the all-objects stream (for progress)."""
    counts = dict(
        line.split(": ", 1) for line in repo.git.count_objects("-v").splitlines() if ": " in line
    )
    return int(counts.get("count", 0)) + int(counts.get("in-pack", 0))


def stream_all_objects(repo: git.Repo, stats: ObjectStream) -> Generator[tuple[str, bytes]]:
    """Yield ``(oid, content)`` of every blob in the object database, each once.

    Commit ids are collected in ``stats.commits`` (``--include-unreachable`` walks them);
    trees and tags are read past, and objects git cannot read go to ``stats.unreadable``.
    """
    import git

    process = repo.git.cat_file(
        "--batch-all-objects", "--batch", "--unordered", "--buffer", as_process=True
    )
    stdout = process.proc.stdout
    _widen_pipe(stdout.fileno())
    reader = ReadAhead(stdout.fileno())
    try:
        while header := reader.readline():
            fields = header.split()
            if len(fields) == 2 and fields[1] == b"missing":  # listed, but corrupt: no body
                stats.unreadable.append(fields[0].decode("ascii"))
                continue
            oid, kind, size = fields
            stats.objects += 1
            if kind == b"blob":
                content = reader.read(int(size))
                reader.discard(1)  # the newline after each object
                yield oid.decode("ascii"), content
                continue
            reader.discard(int(size) + 1)  # trees, commits and tags: only ids are kept
            if kind == b"commit":
                stats.commits.append(oid.decode("ascii"))
    except BaseException:
        # Stopped early (Ctrl-C, an error, the consumer gone): once the thread stops
        # reading, git dies of SIGPIPE, and its exit status must not hide why we stopped.
        reader.stop()
        reader.join()
        stdout.close()
        with contextlib.suppress(git.GitCommandError):
            _wait(process)
        raise
    reader.join()
    stdout.close()
    _wait(process)  # a failure of git itself: `git_failures` makes it exit 2


def _widen_pipe(fd: int) -> None:
    """Let git stream ahead while Python scans: a 64 KiB pipe would stop it at every blob.

    Linux only (``F_SETPIPE_SZ``); elsewhere, or past the system's limit, the pipe stays.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows has no fcntl, nor pipes to widen
        return
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: not Linux
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def _wait(process: Any) -> None:
    """Wait for git; close its stderr even when its failure raises (GitPython leaves it)."""
    stderr = process.proc.stderr
    try:
        process.wait()
    finally:
        stderr.close()


def read_blobs(
    repo: git.Repo, oids: Iterable[str], unreadable: list[str]
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(oid, content)`` for the given blobs through the persistent batch reader.

    A blob git cannot read (missing or corrupt) is appended to ``unreadable`` instead.
    """
    for oid in oids:
        try:
            _, _, _, content = repo.git.get_object_data(oid)
        except ValueError:  # GitPython's word for cat-file answering "missing"
            unreadable.append(oid)
            continue
        yield oid, content


@dataclass(frozen=True)
class Introduction:
    """A commit in which a blob appeared at a path (added, changed to it, or merged in)."""

    path: str
    commit: int
    """Index into `History.commits` (reverse topological order: ancestors first)."""


@dataclass(frozen=True)
class Commit:
    """What the history pass keeps of a commit."""

    oid: str
    parents: tuple[str, ...]
    author_date: str


@dataclass
class History:
    """The result of one ``git log --raw`` pass: commits and where blobs were introduced."""

    commits: list[Commit] = field(default_factory=list)
    introductions: dict[str, list[Introduction]] = field(default_factory=dict)
    tips: dict[str, str] = field(default_factory=dict)
    """Ref name (``refs/heads/main``, ``refs/stash@{1}``) → the commit it points at."""
    _children: dict[str, list[str]] | None = None

    def refs_reaching(self, commit: str) -> tuple[str, ...]:
        """The refs from which ``commit`` is reachable (a descendant walk, on demand)."""
        if self._children is None:
            children: dict[str, list[str]] = {}
            for entry in self.commits:
                for parent in entry.parents:
                    children.setdefault(parent, []).append(entry.oid)
            self._children = children
        seen = {commit}
        queue = deque([commit])
        while queue:
            for child in self._children.get(queue.popleft(), ()):
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
        return tuple(sorted(ref for ref, tip in self.tips.items() if tip in seen))


def ref_tips(repo: git.Repo) -> dict[str, str]:
    """Every ref that points (perhaps through a tag) at a commit, and older stash entries."""
    tips: dict[str, str] = {}
    listing = repo.git.for_each_ref(
        "--format=%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)"
    )
    for line in listing.splitlines():
        name, kind, oid, peeled_kind, peeled = line.split("\0")
        if kind == "commit":
            tips[name] = oid
        elif peeled_kind == "commit":
            tips[name] = peeled
    if "refs/stash" in tips:
        # NOTE: `--all` sees only the newest stash; the others live in its reflog.
        entries = repo.git.reflog("show", "--format=%H", "refs/stash", "--").split()
        tips.update({f"refs/stash@{{{n}}}": oid for n, oid in enumerate(entries) if n})
    if repo.head.is_detached:
        # rev-parse, not GitPython's object lookup: a damaged HEAD is then a git failure.
        tips["HEAD"] = repo.git.rev_parse("--verify", "HEAD^{commit}")
    return tips


def walk_history(
    repo: git.Repo,
    starts: Iterable[str],
    *,
    exclude: str | None = None,
    wanted: Callable[[str], bool] = lambda oid: True,
) -> History:
    """One ``git log --raw`` pass from ``starts`` (minus what ``exclude`` reaches).

    Records, for each blob ``wanted`` accepts, every (path, commit) that introduced it;
    merges count only for what differs from every parent (an "evil merge").

    Raises:
        git.GitCommandError: a start or ``exclude`` is not a known revision, or an object
            the walk needs is missing or corrupt (`git_failures` turns it into exit 2).
    """
    starts = list(starts)
    if not starts:
        return History()
    revisions = "\n".join([*starts, *([f"^{exclude}"] if exclude else [])]) + "\n"
    with _stdin(revisions) as stdin:
        output = _log(repo, stdin)
    history = History()
    for chunk in output.split(b"\x01")[1:]:
        _parse_commit(chunk, history, wanted)
    return history


def _log(repo: git.Repo, stdin: IO[bytes]) -> bytes:
    output: bytes = repo.git.log(
        "--stdin",
        "--reverse",
        "--topo-order",
        "-z",
        "--raw",
        "-c",
        "--root",
        "--no-renames",
        "--no-abbrev",
        "--format=%x01%H %P%x00%aI",
        istream=stdin,
        stdout_as_string=False,
    )
    return output


def _stdin(text: str) -> IO[bytes]:
    import tempfile

    # GitPython hands `istream` to Popen as stdin: a file avoids a writer thread.
    stream = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it (`with`)
    stream.write(text.encode("utf-8"))
    stream.seek(0)
    return stream


def _parse_commit(chunk: bytes, history: History, wanted: Callable[[str], bool]) -> None:
    header, date, *rest = chunk.split(b"\0")
    oid, *parents = header.decode("ascii").split()
    index = len(history.commits)
    history.commits.append(Commit(oid, tuple(parents), date.strip().decode("ascii")))
    tokens = iter(rest)
    for token in tokens:
        meta = token.strip(b"\n")
        if not meta.startswith(b":"):
            continue
        path = next(tokens, b"").decode("utf-8", "surrogateescape")
        # ":m m old new A" and, for a merge, "::m m m old old new AA": the new id is last.
        blob = meta.split()[-2].decode("ascii")
        if blob != NULL_OID and wanted(blob):
            history.introductions.setdefault(blob, []).append(Introduction(path, index))


def head_tree(repo: git.Repo) -> dict[str, str]:
    """Path → blob id of every file in HEAD (empty when HEAD has no commit yet)."""
    if not repo.head.is_valid():
        return {}
    listing = repo.git.ls_tree("-r", "-z", "--full-tree", "HEAD", stdout_as_string=False)
    tree: dict[str, str] = {}
    for entry in listing.split(b"\0"):
        if entry:
            meta, path = entry.split(b"\t", 1)
            _, kind, oid = meta.split()
            if kind == b"blob":
                tree[path.decode("utf-8", "surrogateescape")] = oid.decode("ascii")
    return tree


def staged_blobs(repo: git.Repo) -> list[tuple[str, str]]:
    """``(path, oid)`` of every blob the next commit would add or change."""
    base = "HEAD" if repo.head.is_valid() else EMPTY_TREE
    listing = repo.git.diff_index(
        "--cached", "--raw", "-z", "--no-renames", "--no-abbrev", base, stdout_as_string=False
    )
    tokens = iter(listing.split(b"\0"))
    staged = []
    for token in tokens:
        if token.startswith(b":"):
            path = next(tokens).decode("utf-8", "surrogateescape")
            oid = token.split()[-2].decode("ascii")
            if oid != NULL_OID:
                staged.append((path, oid))
    return staged
