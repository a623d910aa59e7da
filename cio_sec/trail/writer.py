"""Appending to the trail: chained, whole or not at all, and torn tails recovered."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cio_sec.atomicfile import write_all
from cio_sec.errors import ConfigError
from cio_sec.pseudonym import PseudonymKey
from cio_sec.trail.records import GENESIS, format_ts, parse_record, record_hash, utc_now

_TAIL_BYTES = 1 << 16
"""How far back from the end the last intact record is looked for."""


class TrailWriteError(ConfigError):
    """The trail could not be written whole (full disk, file-size limit, I/O error)."""

    @classmethod
    def from_os_error(cls, path: Path, exc: OSError) -> TrailWriteError:
        """Name the trail and the reason; say how the job carries on."""
        return cls(
            f"cannot write the audit trail {path}: {exc.strerror or exc}",
            hint="make room on its filesystem, then run the same command again: records not "
            "written are written then, after a recovery record for the cut-off line",
        )


@dataclass
class TrailWriter:
    """Appends chained records to one trail file; safe to share between processes."""

    path: Path
    key: PseudonymKey = field(repr=False)
    clock: Callable[[], datetime] = utc_now

    def append(self, entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Chain, write and fsync a group of records; returns them as written.

        Each entry needs a ``type``; the chain fields are added here and may not be given.
        A torn tail is first repaired with a ``recovery`` record (not among those returned).
        The records count as written only when this returns.

        Raises:
            ConfigError: the trail cannot be opened or extended, or an entry is malformed.
            TrailWriteError: the write or the fsync failed (the trail may now end in a torn
                line, which the next append recovers).
        """
        for entry in entries:
            _check_entry(entry)
        if not entries:
            return []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise ConfigError(
                f"cannot open the audit trail {self.path}: {exc.strerror}",
                hint="set audit_log in the profile to a writable path",
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            tail = _read_tail(fd)
            if tail.torn is not None:
                entries = [tail.torn.entry(), *entries]
            written = self._chain(entries, tail)
            write_all(fd, tail.separator + b"".join(_line(record) for record in written))
            os.fsync(fd)
        except OSError as exc:
            raise TrailWriteError.from_os_error(self.path, exc) from None
        finally:
            os.close(fd)  # closing releases the lock
        return written[1:] if tail.torn is not None else written

    def _chain(self, entries: Sequence[Mapping[str, Any]], last: _Tail) -> list[dict[str, Any]]:
        seq, prev = last.seq, last.hash
        stamp = format_ts(self.clock())
        stamp = max(stamp, last.ts)  # the clock may step back; the trail never does
        written: list[dict[str, Any]] = []
        for entry in entries:
            seq += 1
            record = {
                **entry,
                "seq": seq,
                "ts": stamp,
                "key_id": self.key.key_id,
                "prev": prev,
            }
            record["hash"] = prev = record_hash(record, self.key)
            written.append(record)
        return written


def _check_entry(entry: Mapping[str, Any]) -> None:
    clash = sorted(set(entry) & {"seq", "ts", "key_id", "prev", "hash"})
    if clash:
        raise ConfigError(f"audit entries may not set chain fields: {', '.join(clash)}")
    if not isinstance(entry.get("type"), str) or not entry["type"]:
        raise ConfigError("every audit entry needs a type")


def _line(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


@dataclass(frozen=True)
class _Torn:
    """The damaged bytes after the last intact record, as the recovery record describes them."""

    sha256: str
    size: int

    def entry(self) -> dict[str, Any]:
        return {"type": "recovery", "torn_sha256": self.sha256, "torn_bytes": self.size}


@dataclass(frozen=True)
class _Tail:
    seq: int = 0
    hash: str = GENESIS
    ts: str = ""
    separator: bytes = b""
    """A newline when the file does not end in one, so the next record starts a line."""
    torn: _Torn | None = None


def _read_tail(fd: int) -> _Tail:
    """Where the chain ends, read from the file's end (the trail can be large).

    Raises:
        ConfigError: no intact record near the end, or lines after it that are not cut-off
            records (cio-sec does not extend a file it does not recognise as its trail).
    """
    size = os.fstat(fd).st_size
    if size == 0:
        return _Tail()
    start = max(0, size - _TAIL_BYTES)
    tail = os.pread(fd, size - start, start)
    lines = tail.splitlines(keepends=True)
    if start > 0:
        lines = lines[1:]  # the window may begin inside a line
    end = len(tail)
    for line in reversed(lines):
        record, _ = parse_record(line.removesuffix(b"\n"))
        if record is not None:
            links = _links(record)
            if links is None:
                break
            return _after(links, tail[end:], complete=line.endswith(b"\n"))
        if line.strip() and not line.startswith(b"{"):
            break  # not a cut-off record: something else was written here
        end -= len(line)
    else:
        if start == 0:  # a trail whose very first write was cut off
            return _after(None, tail, complete=True)
    raise ConfigError(
        "the audit trail ends in lines that are not records; refusing to extend it",
        hint="run `cio-sec audit log verify` to find the damage",
    )


def _links(record: Mapping[str, Any]) -> _Tail | None:
    """The chain fields the next record builds on, if they have their written types."""
    seq, digest, ts = record["seq"], record["hash"], record["ts"]
    if type(seq) is not int or not isinstance(digest, str) or not isinstance(ts, str):
        return None
    return _Tail(seq, digest, ts)


def _after(links: _Tail | None, rest: bytes, *, complete: bool) -> _Tail:
    """The tail after an intact record (None: the start of the file) followed by ``rest``."""
    ends_line = complete and (rest or b"\n").endswith(b"\n")
    separator = b"" if ends_line else b"\n"
    torn = None
    if rest.strip():
        region = rest + separator
        torn = _Torn(hashlib.sha256(region).hexdigest(), len(region))
    base = links or _Tail()
    return _Tail(base.seq, base.hash, base.ts, separator, torn)
