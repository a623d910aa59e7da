"""Records of the trail: their canonical form and keyed hash, and reading them back."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from cio_sec.errors import InputError
from cio_sec.pseudonym import PseudonymKey

GENESIS = "0" * 64
CHAIN_FIELDS = ("seq", "ts", "type", "key_id", "prev", "hash")


def canonical(record: Mapping[str, Any]) -> bytes:
    """The bytes a record's hash covers: every field but ``hash``, canonical JSON."""
    body = {name: value for name, value in record.items() if name != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: Mapping[str, Any], key: PseudonymKey) -> str:
    """The keyed hash of a record."""
    return hmac.new(key.chain_key(), canonical(record), hashlib.sha256).hexdigest()


def utc_now() -> datetime:
    """The current time in UTC (the default clock of `TrailWriter`)."""
    return datetime.now(timezone.utc)


def format_ts(moment: datetime) -> str:
    """``2026-11-29T15:04:18.123456Z``: fixed width, so text order is time order."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
    with open_trail(path) as handle:
        yield from numbered_lines(handle)


def trail_records(path: Path) -> Iterator[dict[str, Any]]:
    """The readable records of a trail, in file order (damage is `verify_chain`'s business).

    Raises:
        InputError: the trail cannot be read.
    """
    for line in read_lines(path):
        if line.record is not None:
            yield line.record


def open_trail(path: Path) -> BinaryIO:
    """The trail opened for reading.

    Raises:
        InputError: the file cannot be opened.
    """
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read the audit trail: {exc.strerror}", path=path) from None


def numbered_lines(handle: BinaryIO) -> Iterator[LogLine]:
    """The non-empty lines of an open trail, parsed, with their byte offsets."""
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
