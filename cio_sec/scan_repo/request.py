"""What ``cio-sec scan-repo`` is asked to do, and the combinations that mean nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cio_sec.errors import InputError
from cio_sec.scan_repo.baseline import writable_mode
from cio_sec.scan_repo.verify import Endpoints


@dataclass(frozen=True, kw_only=True)
class ScanRequest:
    """The options of one scan (`scan.run` takes it)."""

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
    """Where ``--verify`` asks (from the settings, once confirmed); None without it."""

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
