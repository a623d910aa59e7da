"""What every scan shares: the matches per blob or file, progress, and leaks in order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from cio_sec.redact import register
from cio_sec.scan_repo.archives import Skipped, is_archive, scannable_parts
from cio_sec.scan_repo.detectors import Match, scan_bytes, surely_clean
from cio_sec.scan_repo.report import Credential, Leak, SkippedItem
from cio_sec.scan_repo.rules import TRACK_BASIC_AUTH, TRACK_KEY_PAIR

Progress = Callable[[int, int], None]
"""Called with (objects done, objects in all) as a scan goes."""

_PROGRESS_EVERY = 512
_UNREADABLE = "git cannot read this object: it is missing or corrupt (see `git fsck`)"


@dataclass
class Hits:
    """Matches per blob, and the secrets behind them."""

    by_blob: dict[str, list[tuple[str | None, Match]]] = field(default_factory=dict)
    credentials: dict[str, Credential] = field(default_factory=dict)
    skipped: dict[str, list[Skipped]] = field(default_factory=dict)
    """What of each blob could not be read in full."""
    blobs: int = 0
    size: int = 0

    def scan(self, oid: str, content: bytes) -> None:
        """Count ``content`` and keep what the detectors find in it or its members."""
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


def with_progress(
    items: Iterable[tuple[str, bytes]], total: int, progress: Progress | None
) -> Iterator[tuple[str, bytes]]:
    """Yield ``items``, telling ``progress`` every few hundred and once at the end."""
    for done, item in enumerate(items, 1):
        yield item
        if progress is not None and done % _PROGRESS_EVERY == 0:
            progress(done, total)
    if progress is not None:
        progress(total, total)


def display_path(path: str | None, member: str | None) -> str | None:
    """``archive!member`` for a member of an archive, else the path."""
    if path is None or member is None:
        return path
    return f"{path}!{member}"


def plain_leak(path: str, member: str | None, match: Match) -> Leak:
    """A leak outside history: no commit, no refs."""
    return Leak(
        rule=match.rule,
        path=display_path(path, member),
        line=match.line,
        fingerprint=match.fingerprint,
        preview=match.preview,
        identity=match.identity,
    )


def sorted_leaks(leaks: list[Leak]) -> tuple[Leak, ...]:
    """By path, line and rule: the order of a scan outside history."""
    return tuple(sorted(leaks, key=lambda f: (f.path or "", f.line, f.rule)))


def sorted_skipped(items: Iterable[SkippedItem]) -> tuple[SkippedItem, ...]:
    """By place only: within one blob, the order in which its members were read."""
    return tuple(sorted(items, key=lambda i: (i.path or "", i.blob or "")))
