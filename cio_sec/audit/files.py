"""Checks on files in the audited directory: ``.env*`` files and git, and file permissions."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cio_sec.audit.report import CheckFinding, CheckResult, Status, from_findings, passed

if TYPE_CHECKING:
    import git

    from cio_sec.settings import Settings

SKIPPED_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox"})
#: Suffixes of dotenv templates, which are meant to be committed (and hold no values).
TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults")
ENV_GLOB = ".env*"


def is_dotenv_name(name: str) -> bool:
    """``.env``, ``.env.local``, ``.envrc`` ... (templates included)."""
    return name.startswith(".env")


def is_template(name: str) -> bool:
    """``.env.example`` and friends, committed on purpose."""
    return name.endswith(TEMPLATE_SUFFIXES)


def find_dotenv_files(root: Path) -> list[Path]:
    """Every ``.env*`` file under ``root`` (dependencies and .git skipped), sorted."""
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(name for name in subdirs if name not in SKIPPED_DIRS)
        found += [Path(directory) / name for name in files if is_dotenv_name(name)]
    return sorted(found)


@dataclass(frozen=True)
class GitView:
    """The git repository around the audited directory, or why there is none."""

    repo: git.Repo | None
    problem: str = ""

    @classmethod
    def open(cls, root: Path) -> GitView:
        """Find the work tree containing ``root``."""
        import git

        try:
            return cls(git.Repo(root, search_parent_directories=True))
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return cls(None, f"{root} is not inside a git work tree")
        except git.GitCommandNotFound:  # pragma: no cover - git is installed wherever tests run
            return cls(None, "git is not installed")

    def relative(self, path: Path) -> str:
        """``path`` relative to the work tree root, POSIX style (only with a repository).

        A symlink keeps its own name (git tracks and ignores the link, not its target).
        """
        top = Path(str(getattr(self.repo, "working_tree_dir", ""))).resolve()
        real = _as_found(path) if path.is_symlink() else path.resolve()
        return real.relative_to(top).as_posix()


def _as_found(path: Path) -> Path:
    """``path`` with its directory resolved but not itself: a symlink keeps its own name."""
    return path.parent.resolve() / path.name


def _manual(check_id: str, title: str, problem: str) -> CheckResult:
    return CheckResult(
        check_id,
        title,
        Status.MANUAL,
        problem,
        "run the audit on a clone of the application's repository",
    )


def check_dotenv_ignored(root: Path, files: list[Path], view: GitView) -> CheckResult:
    """FAIL for any non-template ``.env*`` file git does not ignore (tracked ones included)."""
    title = ".env files are git-ignored"
    secrets = [path for path in files if not is_template(path.name)]
    if not secrets:
        return passed("dotenv-ignored", title, "no .env files")
    if view.repo is None:
        return _manual("dotenv-ignored", title, view.problem)
    relative = [view.relative(path) for path in secrets]
    ignored = set(view.repo.ignored(*relative))
    findings = [
        CheckFinding(Status.FAIL, "not ignored by git", path.relative_to(root).as_posix())
        for path, name in zip(secrets, relative, strict=True)
        if name not in ignored
    ]
    if not findings:
        return passed("dotenv-ignored", title, f"{len(secrets)} .env file(s), all ignored by git")
    return from_findings(
        "dotenv-ignored",
        title,
        findings,
        remediation="add .env* (with !.env.example) to .gitignore; git rm --cached any tracked one",
    )


def check_dotenv_history(root: Path, view: GitView) -> CheckResult:
    """FAIL for any non-template ``.env*`` path that any commit on any ref ever contained."""
    title = ".env files were never committed"
    if view.repo is None:
        return _manual("dotenv-history", title, view.problem)
    prefix = view.relative(root)
    spec = f":(glob){'' if prefix == '.' else prefix + '/'}**/{ENV_GLOB}"
    output = view.repo.git.log("--all", "--format=commit %h", "--name-only", "--", spec)
    findings = [
        CheckFinding(Status.FAIL, f"committed in {commit}", path)
        for path, commit in _committed_paths(output, prefix)
        if not is_template(Path(path).name)
    ]
    if not findings:
        return passed("dotenv-history", title, "no .env file in the history of any ref")
    return from_findings(
        "dotenv-history",
        title,
        findings,
        remediation="rotate every credential those files held, then remove them from history "
        "(git filter-repo --invert-paths --path FILE) and force-push",
    )


def _committed_paths(log: str, prefix: str) -> Iterator[tuple[str, str]]:
    """(path relative to the audited directory, oldest commit) from ``git log --name-only``."""
    first_seen: dict[str, str] = {}
    commit = ""
    for line in log.splitlines():
        if line.startswith("commit "):
            commit = line.removeprefix("commit ")
        elif line:
            # git log lists the newest commit first, so the last one seen is the oldest.
            first_seen[line] = commit
    for path, oldest in sorted(first_seen.items()):
        yield (path if prefix == "." else path.removeprefix(prefix + "/")), oldest


def check_permissions(root: Path, files: list[Path], settings: Settings) -> CheckResult:
    """FAIL when a dotenv or config file can be read by group or others."""
    title = "Dotenv and config files are private"
    # Each file once, by where it really is, and named as found (a link by its own name).
    candidates: dict[Path, Path] = {}
    for path in [path for path in files if not is_template(path.name)]:
        candidates.setdefault(path.resolve(), _as_found(path))
    for path in _settings_files(settings):
        if path.is_file():
            candidates.setdefault(path.resolve(), path.resolve())
    findings = []
    for target, path in sorted(candidates.items()):
        inside = _inside(path, root)
        where = "" if inside else f"{path}: "
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except OSError as exc:  # a dangling symlink, or a directory we may not enter
            message = f"{where}cannot read its mode: {exc.strerror}"
            findings.append(CheckFinding(Status.WARN, message, inside))
            continue
        if mode & 0o044:
            message = f"{where}mode {mode:04o}, readable by group or others"
            findings.append(CheckFinding(Status.FAIL, message, inside))
    if not candidates:
        return passed("file-permissions", title, "no dotenv or config files")
    if not findings:
        return passed(
            "file-permissions",
            title,
            f"{len(candidates)} file(s), none readable by group or others",
        )
    return from_findings(
        "file-permissions",
        title,
        findings,
        remediation="chmod 600 each file listed (and check who owns it)",
    )


def _settings_files(settings: Settings) -> Iterator[Path]:
    """The config file and every dotenv file a credential reference names."""
    if settings.config_path is not None:
        yield settings.config_path
    yield settings.env_file
    for refs in settings.credentials.values():
        for ref in refs:
            if ref.scheme == "dotenv":
                path = Path(ref.location.rpartition("#")[0]).expanduser()
                yield path if path.is_absolute() else settings.cwd / path


def _inside(path: Path, root: Path) -> str | None:
    """The path relative to the audited directory, or None when outside it."""
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return None
