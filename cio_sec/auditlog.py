"""The audit trail: an append-only JSONL file of keyed, hash-chained records.

Record schema (one JSON object per line; documented in the README):

``seq``      1, 2, 3 ... with no gaps
``ts``       UTC time of writing, ISO 8601 with microseconds and ``Z``; never decreases
``type``     ``job-start``, ``action``, ``job-end``, ``rotation`` ... (the writer's choice)
``key_id``   which pseudonym key chains this record (and made its subject pseudonyms)
``prev``     the previous record's ``hash`` (64 zeros for the first record)
``hash``     hex HMAC-SHA256, keyed with a key derived from the pseudonym key, over the
             canonical JSON of every other field (sorted keys, no spaces, UTF-8)

plus the writer's own fields (``job``, ``ticket``, ``subject``, ``action``, ``outcome`` ...).
Subjects only ever appear as pseudonyms. Because the hash is keyed, nobody without the key can
rewrite a record and recompute the chain after it; because each record names the previous
hash, deleting, reordering or inserting records breaks the chain at that line.

Writers hold an exclusive ``flock`` while they append, so an erase job and a rotation can share
one trail; each group of records is written whole (short writes are continued) and then
``fsync``'d, and a write that fails raises `TrailWriteError` before anyone counts the records.

A write cut off by a crash or a full disk leaves a torn tail: bytes after the last intact
record that are not a record. The next append leaves them in place (the trail is never
rewritten) and first writes a ``recovery`` record that chains from the last intact record
and carries ``torn_sha256`` and ``torn_bytes``: the SHA-256 and length of every byte between
that record and itself (the newline that ends the torn line included). `verify_chain`
reports such a repair as a recovered torn write, not as tampering.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from cio_sec.atomicfile import write_all
from cio_sec.errors import ConfigError, InputError
from cio_sec.pseudonym import PseudonymKey

GENESIS = "0" * 64
CHAIN_FIELDS = ("seq", "ts", "type", "key_id", "prev", "hash")
_TAIL_BYTES = 1 << 16


def canonical(record: Mapping[str, Any]) -> bytes:
    """The bytes a record's hash covers: every field but ``hash``, canonical JSON."""
    body = {name: value for name, value in record.items() if name != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: Mapping[str, Any], key: PseudonymKey) -> str:
    """The keyed hash of a record."""
    return hmac.new(key.chain_key(), canonical(record), hashlib.sha256).hexdigest()


def utc_now() -> datetime:
    """The current time in UTC (the default clock of `AuditLog`)."""
    return datetime.now(timezone.utc)


def format_ts(moment: datetime) -> str:
    """``2026-11-29T15:04:18.123456Z``: fixed width, so text order is time order."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
class AuditLog:
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


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class LogLine:
    """One line of the trail: its number and either the record or why it is not one."""

    number: int
    record: dict[str, Any] | None
    problem: str | None = None
    start: int = 0
    """Byte offset of the line in the file."""
    end: int = 0
    """Byte offset just after the line (its newline included)."""


def read_lines(path: Path) -> Iterator[LogLine]:
    """Every non-empty line of the trail, parsed; unreadable lines carry a problem.

    Raises:
        InputError: the file cannot be opened (missing, a directory, no permission).
    """
    with _open_trail(path) as handle:
        yield from _lines(handle)


def _open_trail(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read the audit trail: {exc.strerror}", path=path) from None


def _lines(handle: BinaryIO) -> Iterator[LogLine]:
    offset = 0
    for number, raw in enumerate(handle, start=1):
        start, offset = offset, offset + len(raw)
        if not raw.strip():
            continue
        yield _parse_line(number, raw, start, offset)


def _parse_line(number: int, raw: bytes, start: int, end: int) -> LogLine:
    if not raw.endswith(b"\n"):
        return LogLine(number, None, "incomplete record (the write was cut off)", start, end)
    record, problem = parse_record(raw)
    return LogLine(number, record, problem, start, end)


def parse_record(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """A line's record, or why it is not one (bytes as read, newline optional).

    Strict where a lax parser would let a line say two things: a key given twice (which
    value counts depends on the reader) and text that is not Unicode are refused.
    """
    try:
        record = json.loads(raw, object_pairs_hook=_unique_keys)
    except _DuplicateKeyError as exc:
        return None, f"the key {exc.args[0]!r} appears twice in one object"
    except (ValueError, RecursionError):  # nested deeper than any record: not one
        return None, "not valid JSON"
    if not isinstance(record, dict):
        return None, "not a JSON object"
    missing = [name for name in CHAIN_FIELDS if name not in record]
    if missing:
        return None, f"missing field(s): {', '.join(missing)}"
    try:
        canonical(record)
    except UnicodeEncodeError:  # a lone surrogate escape: no writer produces one
        return None, "holds text that is not valid Unicode"
    return record, None


class _DuplicateKeyError(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise _DuplicateKeyError(name)
        found[name] = value
    return found


# --------------------------------------------------------------------------- verifying


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the trail is not what its writer wrote."""

    line: int
    problem: str

    def to_json(self) -> dict[str, object]:
        """Line number and what is wrong there."""
        return {"line": self.line, "problem": self.problem}


@dataclass(frozen=True)
class RecoveredWrite:
    """A torn write (crash, full disk) that a later ``recovery`` record accounts for."""

    first_line: int
    last_line: int
    record: int
    """The ``seq`` of the recovery record."""
    size: int
    """Bytes between the last intact record and the recovery record."""

    @property
    def lines(self) -> str:
        """``7`` or ``7-9``."""
        if self.first_line == self.last_line:
            return str(self.first_line)
        return f"{self.first_line}-{self.last_line}"

    def describe(self) -> str:
        """One sentence for people."""
        return (
            f"line {self.lines}: a write cut off by a crash or a full disk ({self.size} bytes, "
            f"kept in place) was recovered by record {self.record}"
        )

    def to_json(self) -> dict[str, object]:
        """Lines, recovery record and size."""
        return {
            "first_line": self.first_line,
            "last_line": self.last_line,
            "record": self.record,
            "bytes": self.size,
        }


@dataclass(frozen=True)
class ChainReport:
    """The result of checking a whole trail."""

    path: Path
    records: int
    head: str
    """The hash of the last good record (record it elsewhere to detect truncation)."""
    first_break: ChainBreak | None = None
    key_ids: tuple[str, ...] = ()
    recovered: tuple[RecoveredWrite, ...] = ()
    """Torn writes that recovery records account for: warnings, not breaks."""

    @property
    def ok(self) -> bool:
        """True when every record and link checked out."""
        return self.first_break is None

    def to_json(self) -> dict[str, object]:
        """Counts, chain head, the first break and the recovered torn writes."""
        return {
            "path": str(self.path),
            "records": self.records,
            "head": self.head,
            "key_ids": list(self.key_ids),
            "verified": self.ok,
            "first_break": self.first_break.to_json() if self.first_break else None,
            "recovered": [write.to_json() for write in self.recovered],
        }


def verify_chain(
    path: Path, keys: Mapping[str, PseudonymKey], *, expect_head: str | None = None
) -> ChainReport:
    """Check every record's hash, the links, sequence numbers and time order.

    ``keys`` maps key ids to keys (current and previous pseudonym keys). With
    ``expect_head`` the trail must still contain that hash (recorded earlier from a
    verification), which detects truncation and wholesale replacement. Damaged lines are
    a break unless the next record is a ``recovery`` record whose ``torn_sha256`` matches
    them; then they are a recovered torn write.

    Raises:
        InputError: the file cannot be read.
    """
    with _open_trail(path) as handle:
        state = _Verifier(path, handle.fileno(), keys)
        for line in _lines(handle):
            found = state.check(line)
            if found is not None:
                return state.report(found)
    if state.damage is not None:
        return state.report(state.damage)
    if expect_head is not None and expect_head not in state.hashes:
        missing = ChainBreak(
            state.last_line + 1,
            f"the trail no longer contains the expected head {expect_head[:16]}…: "
            "records were removed from its end or it was replaced",
        )
        return state.report(missing)
    return state.report(None)


@dataclass
class _Verifier:
    path: Path
    fd: int
    """The open trail, to hash a torn region again."""
    keys: Mapping[str, PseudonymKey]
    records: int = 0
    prev: str = GENESIS
    ts: str = ""
    end: int = 0
    """Byte offset after the last good record."""
    last_line: int = 0
    damage: ChainBreak | None = None
    """The first damaged line since the last good record."""
    key_ids: list[str] = field(default_factory=list)
    hashes: set[str] = field(default_factory=set)
    recovered: list[RecoveredWrite] = field(default_factory=list)

    def check(self, line: LogLine) -> ChainBreak | None:
        self.last_line = line.number
        record = line.record
        if record is None:
            self.damage = self.damage or ChainBreak(line.number, str(line.problem))
            return None
        if self.damage is not None and record.get("type") != "recovery":
            return self.damage
        problem = self._problem(record) or self._recovery_problem(record, line)
        if problem is not None:
            return ChainBreak(line.number, problem)
        self._accept(record, line)
        return None

    def _problem(self, record: Mapping[str, Any]) -> str | None:
        key = self.keys.get(str(record["key_id"]))
        if key is None:
            return f"record {record['seq']} is chained with an unknown key id {record['key_id']}"
        if not hmac.compare_digest(str(record["hash"]).encode(), record_hash(record, key).encode()):
            return f"record {record['seq']} was altered (its hash does not match its content)"
        if record["prev"] != self.prev:
            return f"record {record['seq']} does not follow the record before it (chain broken)"
        if record["seq"] != self.records + 1:
            return f"sequence number {record['seq']} where {self.records + 1} was expected"
        if str(record["ts"]) < self.ts:
            return f"record {record['seq']} is dated before the record before it"
        return None

    def _recovery_problem(self, record: Mapping[str, Any], line: LogLine) -> str | None:
        if record.get("type") != "recovery":
            return None
        digest = _region_sha256(self.fd, self.end, line.start)
        claimed = str(record.get("torn_sha256", ""))
        if hmac.compare_digest(claimed.encode(), digest.encode()) and self.damage is not None:
            self.recovered.append(
                RecoveredWrite(
                    self.damage.line, line.number - 1, record["seq"], line.start - self.end
                )
            )
            return None
        return (
            f"record {record['seq']} recovers a torn write, but the bytes before it are not "
            "the ones it recorded (SHA-256 differs): they were changed or removed"
        )

    def _accept(self, record: Mapping[str, Any], line: LogLine) -> None:
        self.records += 1
        self.prev = str(record["hash"])
        self.ts = str(record["ts"])
        self.end = line.end
        self.damage = None
        self.hashes.add(self.prev)
        if record["key_id"] not in self.key_ids:
            self.key_ids.append(str(record["key_id"]))

    def report(self, first_break: ChainBreak | None) -> ChainReport:
        return ChainReport(
            self.path,
            self.records,
            self.prev,
            first_break,
            tuple(self.key_ids),
            tuple(self.recovered),
        )


def _region_sha256(fd: int, start: int, end: int) -> str:
    """SHA-256 of the file's bytes from ``start`` to ``end``, read in chunks."""
    digest = hashlib.sha256()
    for offset in range(start, end, _TAIL_BYTES):
        digest.update(os.pread(fd, min(_TAIL_BYTES, end - offset), offset))
    return digest.hexdigest()
