"""What of a blob is worth scanning: archive members, text, or the ASCII runs of binaries.

Archives are recognised by their magic bytes, not by name: a history scan reads objects
before it knows any path. Decompression is bounded (`MAX_MEMBER_BYTES`, `MAX_BLOB_BYTES`,
`MAX_DEPTH`) and members are read one at a time, so a compression bomb in history cannot
exhaust memory. A member that cannot be read (encrypted, an unsupported compression method,
damaged) is skipped; the other members are still scanned.
"""

from __future__ import annotations

import gzip
import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Final

MAX_MEMBER_BYTES: Final = 64 * 1024 * 1024
"""Members (and gzip streams) larger than this once decompressed are cut at this size."""
MAX_BLOB_BYTES: Final = 256 * 1024 * 1024
"""All that one blob decompresses to, over every member at every depth: what lies beyond is
cut like an oversized member (the member that crosses it is cut, later ones are not read)."""
MAX_DEPTH: Final = 3
"""Archives inside archives are opened this deep, no deeper."""
_UNREADABLE_MEMBER: Final = (
    RuntimeError,  # encrypted (zipfile wants a password)
    NotImplementedError,  # a compression method zipfile does not support
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
)
_BINARY_SNIFF: Final = 8000  # git's own heuristic: a NUL in the first 8000 bytes

# Printable ASCII, tab, CR and LF survive; every other byte becomes NUL, so that a regular
# expression never joins two runs and line numbers still count real newlines.
_KEEP = {9, 10, 13, *range(32, 127)}
_ASCII_RUNS: Final = bytes(b if b in _KEEP else 0 for b in range(256))


def is_binary(data: bytes) -> bool:
    """Whether git would call this content binary (a NUL byte near the start)."""
    return b"\0" in data[:_BINARY_SNIFF]


def ascii_runs(data: bytes) -> bytes:
    """The same bytes with everything but printable ASCII and line breaks set to NUL."""
    return data.translate(_ASCII_RUNS)


def scannable_parts(data: bytes) -> Iterator[tuple[str | None, bytes]]:
    """Yield ``(member, content)`` pairs to give to the detectors, one at a time.

    ``member`` is None for the blob itself (or a gzip file's single stream), else the
    member's name, with ``!`` joining nested names. Binary content comes as ASCII runs.
    """
    return _parts(data, 0, _Budget(MAX_BLOB_BYTES))


def _parts(data: bytes, depth: int, budget: _Budget) -> Iterator[tuple[str | None, bytes]]:
    if depth < MAX_DEPTH:
        members = _members(data, budget)
        if members is not None:
            for name, content in members:
                for inner, part in _parts(content, depth + 1, budget):
                    yield _join(name, inner), part
            return
    yield None, ascii_runs(data) if is_binary(data) else data


@dataclass
class _Budget:
    """Decompressed bytes one blob may still produce."""

    left: int

    def read(self, stream: IO[bytes] | io.BufferedIOBase) -> bytes:
        content = stream.read(min(MAX_MEMBER_BYTES, self.left))
        self.left -= len(content)
        return content


def _join(outer: str | None, inner: str | None) -> str | None:
    if outer is None or inner is None:
        return outer if inner is None else inner
    return f"{outer}!{inner}"


def _members(data: bytes, budget: _Budget) -> Iterator[tuple[str | None, bytes]] | None:
    """The members of a gzip, zip or tar archive; None when ``data`` is none of them.

    The archive's directory is read here (a corrupt one means None); the members are
    decompressed only as the iterator is consumed.
    """
    try:
        if data[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                return iter([(None, budget.read(stream))])
        if data[:4] == b"PK\x03\x04":
            archive = zipfile.ZipFile(io.BytesIO(data))
            return _zip_members(archive, budget)
        if len(data) > 262 and data[257:262] == b"ustar":
            tar = tarfile.TarFile(fileobj=io.BytesIO(data))  # uncompressed, as "r:"
            return _tar_members(tar, tar.getmembers(), budget)
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError):
        return None  # corrupt or truncated: scan the raw bytes instead
    return None


def _zip_members(archive: zipfile.ZipFile, budget: _Budget) -> Iterator[tuple[str | None, bytes]]:
    with archive:
        for info in archive.infolist():
            if budget.left <= 0:
                return
            if info.is_dir():
                continue
            try:
                with archive.open(info) as stream:
                    content = budget.read(stream)
            except _UNREADABLE_MEMBER:
                continue  # encrypted, unsupported or damaged: skip it, scan the others
            yield info.filename, content


def _tar_members(
    archive: tarfile.TarFile, infos: list[tarfile.TarInfo], budget: _Budget
) -> Iterator[tuple[str | None, bytes]]:
    with archive:
        for info in infos:
            if budget.left <= 0:
                return
            try:
                stream = archive.extractfile(info) if info.isfile() else None
                content = None if stream is None else budget.read(stream)
            except (*_UNREADABLE_MEMBER, tarfile.TarError):
                continue
            if content is not None:
                yield info.name, content
