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
one trail; each group of records is one ``write`` followed by ``fsync``.
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
from typing import Any

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


@dataclass
class AuditLog:
    """Appends chained records to one trail file; safe to share between processes."""

    path: Path
    key: PseudonymKey = field(repr=False)
    clock: Callable[[], datetime] = utc_now

    def append(self, entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Chain, write and fsync a group of records; returns them as written.

        Each entry needs a ``type``; the chain fields are added here and may not be given.

        Raises:
            ConfigError: the trail cannot be written (directory, permissions) or an entry
                is malformed.
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
            last = _last_record(fd)
            written = self._chain(entries, last)
            data = b"".join(_line(record) for record in written)
            if last.torn:
                data = b"\n" + data  # a torn tail stays as evidence; start on a fresh line
            os.write(fd, data)
            os.fsync(fd)
            return written
        finally:
            os.close(fd)  # closing releases the lock

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
class _Tail:
    seq: int = 0
    hash: str = GENESIS
    ts: str = ""
    torn: bool = False


def _last_record(fd: int) -> _Tail:
    """The last complete record of the file, read from its end (the trail can be large)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return _Tail()
    start = max(0, size - _TAIL_BYTES)
    tail = os.pread(fd, size - start, start)
    torn = not tail.endswith(b"\n")
    for line in reversed(tail.splitlines()):
        found = _tail_record(line, torn=torn)
        if found is not None:
            return found
    raise ConfigError(
        "the audit trail ends in lines that are not records; refusing to extend it",
        hint="run `cio-sec audit log verify` to find the damage",
    )


def _tail_record(line: bytes, *, torn: bool) -> _Tail | None:
    try:
        record = json.loads(line)
        return _Tail(int(record["seq"]), str(record["hash"]), str(record["ts"]), torn)
    except (ValueError, KeyError, TypeError, RecursionError):
        return None  # a torn or damaged line; `audit log verify` reports it


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class LogLine:
    """One line of the trail: its number and either the record or why it is not one."""

    number: int
    record: dict[str, Any] | None
    problem: str | None = None


def read_lines(path: Path) -> Iterator[LogLine]:
    """Every non-empty line of the trail, parsed; unreadable lines carry a problem.

    Raises:
        InputError: the file cannot be opened (missing, a directory, no permission).
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read the audit trail: {exc.strerror}", path=path) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            yield _parse_line(number, raw)


def _parse_line(number: int, raw: bytes) -> LogLine:
    if not raw.endswith(b"\n"):
        return LogLine(number, None, "incomplete record (the write was cut off)")
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):  # nested deeper than any record: not one
        return LogLine(number, None, "not valid JSON")
    if not isinstance(record, dict):
        return LogLine(number, None, "not a JSON object")
    missing = [name for name in CHAIN_FIELDS if name not in record]
    if missing:
        return LogLine(number, None, f"missing field(s): {', '.join(missing)}")
    return LogLine(number, record)


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
class ChainReport:
    """The result of checking a whole trail."""

    path: Path
    records: int
    head: str
    """The hash of the last good record (record it elsewhere to detect truncation)."""
    first_break: ChainBreak | None = None
    key_ids: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every record and link checked out."""
        return self.first_break is None

    def to_json(self) -> dict[str, object]:
        """Counts, chain head and the first break."""
        return {
            "path": str(self.path),
            "records": self.records,
            "head": self.head,
            "key_ids": list(self.key_ids),
            "verified": self.ok,
            "first_break": self.first_break.to_json() if self.first_break else None,
        }


def verify_chain(
    path: Path, keys: Mapping[str, PseudonymKey], *, expect_head: str | None = None
) -> ChainReport:
    """Check every record's hash, the links, sequence numbers and time order.

    ``keys`` maps key ids to keys (current and previous pseudonym keys). With
    ``expect_head`` the trail must still contain that hash (recorded earlier from a
    verification), which detects truncation and wholesale replacement.

    Raises:
        InputError: the file cannot be read.
    """
    state = _Verifier(keys)
    for line in read_lines(path):
        problem = state.check(line)
        if problem is not None:
            return state.report(path, ChainBreak(line.number, problem))
    if expect_head is not None and expect_head not in state.hashes:
        missing = ChainBreak(
            state.last_line + 1,
            f"the trail no longer contains the expected head {expect_head[:16]}…: "
            "records were removed from its end or it was replaced",
        )
        return state.report(path, missing)
    return state.report(path, None)


@dataclass
class _Verifier:
    keys: Mapping[str, PseudonymKey]
    records: int = 0
    prev: str = GENESIS
    ts: str = ""
    last_line: int = 0
    key_ids: list[str] = field(default_factory=list)
    hashes: set[str] = field(default_factory=set)

    def check(self, line: LogLine) -> str | None:
        self.last_line = line.number
        if line.record is None:
            return line.problem
        record = line.record
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
        self._accept(record)
        return None

    def _accept(self, record: Mapping[str, Any]) -> None:
        self.records += 1
        self.prev = str(record["hash"])
        self.ts = str(record["ts"])
        self.hashes.add(self.prev)
        if record["key_id"] not in self.key_ids:
            self.key_ids.append(str(record["key_id"]))

    def report(self, path: Path, first_break: ChainBreak | None) -> ChainReport:
        return ChainReport(path, self.records, self.prev, first_break, tuple(self.key_ids))
