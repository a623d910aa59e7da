"""What of a blob is worth scanning: archive members, text, or the ASCII runs of binaries.

Archives are recognised by their magic bytes, not by name: a history scan reads objects
before it knows any path. Decompression is bounded (`MAX_MEMBER_BYTES`, `MAX_BLOB_BYTES`,
`MAX_DEPTH`) and members are read one at a time, so a compression bomb in history cannot
exhaust memory.

Archives are hostile input: the standard library's readers raise almost any exception on
damaged bytes (``ValueError``, ``NotImplementedError``, ``UnicodeDecodeError``,
``IndexError`` …). So every failure is confined to the item it happened in. A member that
cannot be read (encrypted, an unsupported method, damaged) is skipped and the others are
still scanned; what was decompressed before the damage is scanned too. An archive whose
listing cannot be read is scanned as plain bytes. Each such item, and each member cut at a
bound, is reported as a `Skipped` item, so that nothing goes unscanned in silence.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final, Protocol, cast

MAX_MEMBER_BYTES: Final = 64 * 1024 * 1024
"""Members (and gzip streams) larger than this once decompressed are cut at this size."""
MAX_BLOB_BYTES: Final = 256 * 1024 * 1024
"""All that one blob decompresses to, over every member at every depth: what lies beyond is
cut like an oversized member (the member that crosses it is cut, later ones are not read)."""
MAX_DEPTH: Final = 3
"""Archives inside archives are opened this deep, no deeper."""
_BINARY_SNIFF: Final = 8000  # git's own heuristic: a NUL in the first 8000 bytes
_CHUNK: Final = 1024 * 1024
_MAX_REASON: Final = 200  # an exception's text can quote a long, attacker-chosen name
MAX_SKIPPED: Final = 100
"""Skipped items listed per blob; beyond it, one more item says how many went unlisted."""

# Printable ASCII, tab, CR and LF survive; every other byte becomes NUL, so that a regular
# expression never joins two runs and line numbers still count real newlines.
_KEEP = {9, 10, 13, *range(32, 127)}
_ASCII_RUNS: Final = bytes(b if b in _KEEP else 0 for b in range(256))

Part = tuple[str | None, bytes]
"""``(member, content)``: what the detectors get."""


class Stream(Protocol):
    """A decompressing reader: gzip's, zipfile's and tarfile's all have ``read1``."""

    def read1(self, size: int = -1, /) -> bytes:
        """At most ``size`` bytes from one step of decompression."""


@dataclass(frozen=True)
class Skipped:
    """Something of a blob that was not scanned in full, and why."""

    member: str | None
    """The member (``!`` joins nested names); None for the blob itself."""
    reason: str


def is_binary(data: bytes) -> bool:
    """Whether git would call this content binary (a NUL byte near the start)."""
    return b"\0" in data[:_BINARY_SNIFF]


def ascii_runs(data: bytes) -> bytes:
    """The same bytes with everything but printable ASCII and line breaks set to NUL."""
    return data.translate(_ASCII_RUNS)


def scannable_parts(data: bytes, skipped: list[Skipped] | None = None) -> Iterator[Part]:
    """Yield ``(member, content)`` pairs to give to the detectors, one at a time.

    ``member`` is None for the blob itself (or a gzip file's single stream), else the
    member's name, with ``!`` joining nested names. Binary content comes as ASCII runs.
    What could not be read in full is appended to ``skipped``; damaged or hostile bytes
    never make this raise.
    """
    reader = _Reader(left=MAX_BLOB_BYTES, skipped=[] if skipped is None else skipped)
    yield from reader.parts(data, None, 0)
    if reader.unlisted:
        reader.skipped.append(Skipped(None, f"{reader.unlisted} more skipped items not listed"))


def describe(exc: BaseException) -> str:
    """An exception as a short reason: its type, and its text cut to a bounded length."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _as_text(data: bytes) -> bytes:
    return ascii_runs(data) if is_binary(data) else data


def _join(outer: str | None, inner: str | None) -> str | None:
    if outer is None or inner is None:
        return outer if inner is None else inner
    return f"{outer}!{inner}"


def is_archive(data: bytes) -> bool:
    """Whether ``data`` starts like a gzip, zip or tar archive (its members get read)."""
    return _kind(data) is not None


def _kind(data: bytes) -> str | None:
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:4] == b"PK\x03\x04":
        return "zip"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    return None


@dataclass
class _Reader:
    """One blob's reading: the decompression budget left, and what was skipped."""

    left: int
    skipped: list[Skipped] = field(default_factory=list)
    listed: int = 0
    unlisted: int = 0

    def skip(self, member: str | None, reason: str) -> None:
        if self.listed < MAX_SKIPPED:
            self.listed += 1
            self.skipped.append(Skipped(member, reason))
        else:
            self.unlisted += 1

    def parts(self, data: bytes, name: str | None, depth: int) -> Iterator[Part]:
        kind = _kind(data)
        if kind is None:
            yield name, _as_text(data)
            return
        if depth >= MAX_DEPTH:
            self.skip(name, f"{kind} archive nested more than {MAX_DEPTH} deep: scanned as bytes")
            yield name, _as_text(data)
            return
        try:
            members = _OPENERS[kind](self, data, name)
        except Exception as exc:  # noqa: BLE001 - damaged bytes make readers raise anything
            self.skip(name, f"damaged {kind} archive ({describe(exc)}): scanned as bytes")
            yield name, _as_text(data)
            return
        for member, content in members:
            yield from self.parts(content, _join(name, member), depth + 1)

    def read(self, stream: Stream, name: str | None) -> bytes:
        """Read a member within the bounds; report a cut or the damage that ended it.

        What was decompressed before a failure is returned: it is worth scanning.
        """
        content, problem = self.read_until_damaged(stream)
        if problem is not None:
            self.skip(name, f"damaged after {len(content)} bytes ({describe(problem)})")
        return self.spend(content, name)

    def read_until_damaged(self, stream: Stream) -> tuple[bytearray, Exception | None]:
        """Up to one byte more than the bounds allow (to tell a cut), and what stopped it."""
        limit = min(MAX_MEMBER_BYTES, self.left)
        content = bytearray()
        try:
            while len(content) <= limit:
                # read1: one decompression step a call, so the bytes before damage are kept.
                chunk = stream.read1(min(_CHUNK, limit + 1 - len(content)))
                if not chunk:
                    break
                content += chunk
        except Exception as exc:  # noqa: BLE001 - see `parts`
            return content, exc
        return content, None

    def spend(self, content: bytearray, name: str | None) -> bytes:
        """Cut ``content`` to the bounds (saying so) and charge it to the budget."""
        limit = min(MAX_MEMBER_BYTES, self.left)
        if len(content) > limit:
            del content[limit:]
            self.skip(name, f"cut after {limit} bytes: larger than cio-sec decompresses")
        self.left -= len(content)
        return bytes(content)

    def out_of_budget(self, name: str | None) -> bool:
        """Whether the blob's budget is spent; says so once, for the first member not read."""
        if self.left > 0:
            return False
        self.skip(name, f"not read, nor any later member: over {MAX_BLOB_BYTES} bytes in all")
        return True


def _gzip_stream(reader: _Reader, data: bytes, name: str | None) -> Iterator[Part]:
    content, problem = reader.read_until_damaged(gzip.GzipFile(fileobj=io.BytesIO(data)))
    if problem is not None:
        if not content:
            raise problem  # not even a header: `parts` scans the raw bytes instead
        reader.skip(name, f"damaged after {len(content)} bytes ({describe(problem)})")
    return iter([(None, reader.spend(content, name))])


def _zip_members(reader: _Reader, data: bytes, name: str | None) -> Iterator[Part]:
    archive = zipfile.ZipFile(io.BytesIO(data))  # reads the listing: may raise anything
    return _each_zip_member(reader, archive, name)


def _each_zip_member(reader: _Reader, archive: zipfile.ZipFile, name: str | None) -> Iterator[Part]:
    with archive:
        for info in archive.infolist():
            if info.filename.endswith("/"):  # not is_dir(): an empty name makes it raise
                continue
            where = _join(name, info.filename)
            if reader.out_of_budget(where):
                return
            try:
                stream = archive.open(info)
            except Exception as exc:  # noqa: BLE001 - encrypted, unsupported or damaged
                reader.skip(where, f"not readable ({describe(exc)})")
                continue
            with stream:  # a ZipExtFile, which typeshed calls IO[bytes]
                content = reader.read(cast(Stream, stream), where)
            yield info.filename, content


def _tar_members(reader: _Reader, data: bytes, name: str | None) -> Iterator[Part]:
    archive = tarfile.TarFile(fileobj=io.BytesIO(data))  # uncompressed, as "r:"
    return _each_tar_member(reader, archive, name, data)


def _each_tar_member(
    reader: _Reader, archive: tarfile.TarFile, name: str | None, data: bytes
) -> Iterator[Part]:
    with archive:
        while True:
            try:
                info = archive.next()
            except Exception as exc:  # noqa: BLE001 - see `_Reader.parts`
                reader.skip(name, f"damaged tar archive, later members not read ({describe(exc)})")
                return
            if info is None:
                break
            if not info.isfile():
                continue
            where = _join(name, info.name)
            if reader.out_of_budget(where):
                return
            # Uncompressed: a member is a slice, and a truncated one keeps its start.
            stored = _stored_size(info)
            content = data[info.offset_data : info.offset_data + stored]
            if len(content) < stored:
                reader.skip(where, f"truncated: {len(content)} of {stored} bytes")
            yield info.name, reader.spend(bytearray(content), where)
    # NOTE: tarfile ends its listing quietly at a bad header after the first member.
    if data.count(0, archive.offset) < len(data) - archive.offset:  # not all NUL padding
        reader.skip(name, f"damaged tar archive: nothing after byte {archive.offset} read")


def _stored_size(info: tarfile.TarInfo) -> int:
    """A sparse member stores only its data chunks, one after another."""
    chunks = cast("list[tuple[int, int]] | None", info.sparse)  # typeshed says bytes
    return sum(size for _, size in chunks) if chunks else info.size


_OPENERS: Final[dict[str, Callable[[_Reader, bytes, str | None], Iterator[Part]]]] = {
    "gzip": _gzip_stream,
    "zip": _zip_members,
    "tar": _tar_members,
}
