"""``audit log show``: the trail's records that match a filter, and the chain's state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cio_sec.erase.inputs import IdType
from cio_sec.errors import ExitCode, InputError
from cio_sec.pseudonym import PseudonymKey
from cio_sec.trail.chain import ChainReport, trail_keys, verify_chain
from cio_sec.trail.records import format_ts, trail_records

if TYPE_CHECKING:
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import StoreOpener


@dataclass(frozen=True, kw_only=True)
class TrailShowRequest:
    """What ``audit log show`` selects; every criterion given must match."""

    ticket: str | None = None
    job: str | None = None
    since: str | None = None
    """ISO 8601 date or time, as typed (see `parse_since`)."""
    subject: str | None = None
    """An identifier (id, email or cio_id), pseudonymised on the fly; never written."""
    path: Path | None = None
    """The trail file (default: the profile's ``audit_log``)."""


@dataclass(frozen=True)
class TrailFilter:
    """What ``audit log show`` selects; every given criterion must match."""

    ticket: str | None = None
    job: str | None = None
    since: str | None = None
    """``ts`` lower bound in the trail's own format (see `parse_since`)."""
    subjects: frozenset[str] = frozenset()
    """Pseudonyms of the identifier asked for, under every known key."""

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether a record passes every criterion."""
        return (
            (self.ticket is None or record.get("ticket") == self.ticket)
            and (self.job is None or record.get("job") == self.job)
            and (self.since is None or str(record.get("ts", "")) >= self.since)
            and (not self.subjects or record.get("subject") in self.subjects)
        )


def parse_since(text: str) -> str:
    """``2026-11-29`` or ``2026-11-29T15:04`` (UTC unless an offset is given) → a ``ts`` bound.

    Raises:
        InputError: not an ISO 8601 date or time (exit 2).
    """
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--since: {text!r} is not an ISO 8601 date or time", hint="e.g. 2026-11-29"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return format_ts(moment)


def subject_pseudonyms(value: str, keys: Mapping[str, PseudonymKey]) -> frozenset[str]:
    """Every pseudonym erase may have recorded an identifier under: per id type, per key."""
    return frozenset(
        key.pseudonym(id_type.normalise(value), id_type.pseudonym_kind)
        for key in keys.values()
        for id_type in IdType
    )


@dataclass(frozen=True)
class TrailView:
    """The result of ``audit log show``: matching records and the chain's state."""

    chain: ChainReport
    records: tuple[dict[str, Any], ...]

    @property
    def ok(self) -> bool:
        """The records shown can be trusted only when the chain verifies."""
        return self.chain.ok

    @property
    def exit_code(self) -> ExitCode:
        """1 when the chain is broken, whatever matched."""
        return self.chain.exit_code

    def to_json(self) -> dict[str, object]:
        """Matching records as written, plus the verification."""
        return {
            "chain": self.chain.to_json(),
            "count": len(self.records),
            "records": list(self.records),
        }


def show(request: TrailShowRequest, settings: Settings, opener: StoreOpener) -> TrailView:
    """Records matching every given filter; the subject is pseudonymised on the fly.

    Raises:
        InputError: ``since`` is not a date, or the trail cannot be read.
        SecretMissingError: no pseudonym key is stored.
        ConfigError: the key is unusable.
    """
    trail = request.path or settings.audit_log
    keys = trail_keys(settings, opener)
    selected = TrailFilter(
        ticket=request.ticket,
        job=request.job,
        since=parse_since(request.since) if request.since is not None else None,
        subjects=(
            subject_pseudonyms(request.subject, keys)
            if request.subject is not None
            else frozenset()
        ),
    )
    chain = verify_chain(trail, keys)
    records = tuple(record for record in trail_records(trail) if selected.matches(record))
    return TrailView(chain, records)
