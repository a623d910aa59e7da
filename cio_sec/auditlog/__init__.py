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

from cio_sec.auditlog.records import (
    CHAIN_FIELDS,
    GENESIS,
    LogLine,
    canonical,
    format_ts,
    parse_record,
    read_lines,
    record_hash,
    utc_now,
)
from cio_sec.auditlog.verify import ChainBreak, ChainReport, RecoveredWrite, verify_chain
from cio_sec.auditlog.writer import AuditLog, TrailWriteError

__all__ = [
    "CHAIN_FIELDS",
    "GENESIS",
    "AuditLog",
    "ChainBreak",
    "ChainReport",
    "LogLine",
    "RecoveredWrite",
    "TrailWriteError",
    "canonical",
    "format_ts",
    "parse_record",
    "read_lines",
    "record_hash",
    "utc_now",
    "verify_chain",
]
