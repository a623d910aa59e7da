"""The audit trail: an append-only JSONL file of keyed, hash-chained records.

One module per concern: `records` (the format: canonical form, keyed hash, reading back),
`writer` (`TrailWriter`: appending, torn tails recovered), `chain` (verifying the chain;
``audit log verify``), `view` (``audit log show``) and `evidence` (``audit log export``).
Erase, purge and rotation write their own records through `TrailWriter`
(`cio_sec.erase.trail`, `cio_sec.purge.trail`, `cio_sec.rotate.trail`); ``cio-sec audit``
(the checklist) only verifies the trail.

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

from cio_sec.trail.chain import (
    ChainBreak,
    ChainReport,
    RecoveredWrite,
    TrailVerifyRequest,
    verify,
    verify_chain,
)
from cio_sec.trail.evidence import EvidenceReport, EvidenceRequest, export
from cio_sec.trail.records import (
    CHAIN_FIELDS,
    GENESIS,
    LogLine,
    canonical,
    format_ts,
    parse_record,
    read_lines,
    record_hash,
    trail_records,
    utc_now,
)
from cio_sec.trail.view import TrailShowRequest, TrailView, show
from cio_sec.trail.writer import TrailWriteError, TrailWriter

__all__ = [
    "CHAIN_FIELDS",
    "GENESIS",
    "ChainBreak",
    "ChainReport",
    "EvidenceReport",
    "EvidenceRequest",
    "LogLine",
    "RecoveredWrite",
    "TrailShowRequest",
    "TrailVerifyRequest",
    "TrailView",
    "TrailWriteError",
    "TrailWriter",
    "canonical",
    "export",
    "format_ts",
    "parse_record",
    "read_lines",
    "record_hash",
    "show",
    "trail_records",
    "utc_now",
    "verify",
    "verify_chain",
]
