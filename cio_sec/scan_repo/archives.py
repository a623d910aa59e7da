"""What of a blob is worth scanning: archive members, text, or the ASCII runs of binaries.

Archives are recognised by their magic bytes, not by name: a history scan reads objects
before it knows any path. Decompression is bounded (`MAX_MEMBER_BYTES`, `MAX_DEPTH`) so a
compression bomb in history cannot exhaust memory. A member that cannot be read (encrypted,
an unsupported compression method, damaged) is skipped; the other members are still scanned.
"""

from __future__ import annotations

import gzip
import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from typing import Final

MAX_MEMBER_BYTES: Final = 64 * 1024 * 1024
"""Members (and gzip streams) larger than this once decompressed are cut at this size."""
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


def scannable_parts(data: bytes, depth: int = 0) -> Iterator[tuple[str | None, bytes]]:
    """Yield ``(member, content)`` pairs to give to the detectors.

    ``member`` is None for the blob itself (or a gzip file's single stream), else the
    member's name, with ``!`` joining nested names. Binary content comes as ASCII runs.
    """
    if depth < MAX_DEPTH:
        members = _members(data)
        if members is not None:
            for name, content in members:
                for inner, part in scannable_parts(content, depth + 1):
                    yield _join(name, inner), part
            return
    yield None, ascii_runs(data) if is_binary(data) else data


def _join(outer: str | None, inner: str | None) -> str | None:
    if outer is None or inner is None:
        return outer if inner is None else inner
    return f"{outer}!{inner}"


def _members(data: bytes) -> list[tuple[str | None, bytes]] | None:
    """The members of a gzip, zip or tar archive; None when ``data`` is none of them."""
    try:
        if data[:2] == b"\x1f\x8b":
            return [(None, _gunzip(data))]
        if data[:4] == b"PK\x03\x04":
            return _zip_members(data)
        if len(data) > 262 and data[257:262] == b"ustar":
            return _tar_members(data)
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError):
        return None  # corrupt or truncated: scan the raw bytes instead
    return None


def _gunzip(data: bytes) -> bytes:
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        return stream.read(MAX_MEMBER_BYTES)


def _zip_members(data: bytes) -> list[tuple[str | None, bytes]]:
    members: list[tuple[str | None, bytes]] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            try:
                with archive.open(info) as stream:
                    members.append((info.filename, stream.read(MAX_MEMBER_BYTES)))
            except _UNREADABLE_MEMBER:
                continue  # encrypted, unsupported or damaged: skip it, scan the others
    return members


def _tar_members(data: bytes) -> list[tuple[str | None, bytes]]:
    members: list[tuple[str | None, bytes]] = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        for info in archive:
            stream = archive.extractfile(info) if info.isfile() else None
            if stream is not None:
                members.append((info.name, stream.read(MAX_MEMBER_BYTES)))
    return members
