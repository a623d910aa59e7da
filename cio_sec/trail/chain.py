"""Verifying the trail: every hash, link, sequence number and recovered torn write.

`verify` is the core of ``audit log verify``: the same check with the profile's keys.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cio_sec.errors import ExitCode
from cio_sec.pseudonym import PseudonymKey, load_keys
from cio_sec.trail.records import (
    GENESIS,
    LogLine,
    numbered_lines,
    open_trail,
    record_hash,
)

if TYPE_CHECKING:
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import StoreOpener

_CHUNK = 1 << 16


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

    @property
    def exit_code(self) -> ExitCode:
        """1 when the chain is broken: the trail cannot be trusted."""
        return ExitCode.OK if self.ok else ExitCode.CHECK_FAILED

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
    with open_trail(path) as handle:
        state = _Verifier(path, handle.fileno(), keys)
        for line in numbered_lines(handle):
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


@dataclass(frozen=True, kw_only=True)
class TrailVerifyRequest:
    """What ``audit log verify`` checks."""

    path: Path | None = None
    """The trail file (default: the profile's ``audit_log``)."""
    expect_head: str | None = None
    """A chain head recorded earlier, which the trail must still contain."""


def verify(request: TrailVerifyRequest, settings: Settings, opener: StoreOpener) -> ChainReport:
    """Verify the trail with the profile's pseudonym keys (current and previous).

    Raises:
        SecretMissingError: no pseudonym key is stored.
        ConfigError: the key is unusable.
        InputError: the trail cannot be read.
    """
    return verify_chain(
        request.path or settings.audit_log,
        trail_keys(settings, opener),
        expect_head=request.expect_head,
    )


def trail_keys(settings: Settings, opener: StoreOpener) -> dict[str, PseudonymKey]:
    """The pseudonym keys (current and previous) by key id: the keys that chain the trail.

    Raises:
        SecretMissingError: no pseudonym key is stored.
        ConfigError: the stored key is unusable.
    """
    return load_keys(settings, opener).by_id()


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
    for offset in range(start, end, _CHUNK):
        digest.update(os.pread(fd, min(_CHUNK, end - offset), offset))
    return digest.hexdigest()
