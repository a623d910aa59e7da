"""The erasure audit trail: the audit check, ``audit log verify`` and ``audit log show``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cio_sec.audit.report import CheckResult, Status, passed
from cio_sec.auditlog import ChainReport, format_ts, read_lines, verify_chain
from cio_sec.errors import ConfigError, ExitCode, InputError
from cio_sec.pseudonym import PseudonymKey, load_keys

if TYPE_CHECKING:
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import StoreOpener

TITLE = "Erasure audit trail present and intact"


def trail_keys(settings: Settings, opener: StoreOpener) -> dict[str, PseudonymKey]:
    """The pseudonym keys (current and previous) by key id.

    Raises:
        SecretMissingError: no pseudonym key is stored.
        ConfigError: the stored key is unusable.
    """
    return load_keys(settings, opener).by_id()


def check_trail(settings: Settings, opener: StoreOpener) -> CheckResult:
    """PASS when the trail exists and its chain verifies; FAIL on a break or without a key."""
    path = settings.audit_log
    if not path.is_file():
        return CheckResult(
            "audit-trail",
            TITLE,
            Status.WARN,
            f"no audit trail at {path} (no erasure recorded by this profile yet)",
            "erasures write it; if it is kept elsewhere, set audit_log in the profile",
        )
    try:
        report = verify_chain(path, trail_keys(settings, opener))
    except (ConfigError, InputError) as exc:
        return CheckResult(
            "audit-trail",
            TITLE,
            Status.FAIL,
            f"{path} cannot be verified: {exc.message}",
            exc.hint or "restore the pseudonym_key the trail was written with",
        )
    if report.first_break is not None:
        return CheckResult(
            "audit-trail",
            TITLE,
            Status.FAIL,
            f"{path}:{report.first_break.line}: {report.first_break.problem}",
            "keep the damaged file as evidence, restore the trail from a backup and compare "
            "with cio-sec audit log verify",
        )
    recovered = f", {len(report.recovered)} torn write(s) recovered" if report.recovered else ""
    return passed(
        "audit-trail",
        TITLE,
        f"{path}: {report.records} records, chain verifies{recovered}, head {report.head[:16]}…",
    )


def verify_trail(
    settings: Settings,
    opener: StoreOpener,
    path: Path | None = None,
    *,
    expect_head: str | None = None,
) -> ChainReport:
    """Verify the trail at ``path`` (default: the profile's ``audit_log``).

    Raises:
        SecretMissingError: no pseudonym key is stored.
        ConfigError: the key is unusable.
        InputError: the trail cannot be read.
    """
    return verify_chain(
        path or settings.audit_log, trail_keys(settings, opener), expect_head=expect_head
    )


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
    from cio_sec.erase.inputs import IdType

    return frozenset(
        key.pseudonym(id_type.normalise(value), id_type.pseudonym_kind)
        for key in keys.values()
        for id_type in IdType
    )


def trail_records(path: Path) -> Iterator[dict[str, Any]]:
    """The readable records of a trail, in file order (damage is `verify_chain`'s business).

    Raises:
        ConfigError: the trail cannot be read.
    """
    for line in read_lines(path):
        if line.record is not None:
            yield line.record


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
        """0 when the trail verifies, 1 otherwise."""
        return ExitCode.OK if self.ok else ExitCode.CHECK_FAILED

    def to_json(self) -> dict[str, object]:
        """Matching records as written, plus the verification."""
        return {
            "chain": self.chain.to_json(),
            "count": len(self.records),
            "records": list(self.records),
        }


def show_trail(
    settings: Settings,
    opener: StoreOpener,
    *,
    ticket: str | None = None,
    job: str | None = None,
    since: str | None = None,
    subject: str | None = None,
    path: Path | None = None,
) -> TrailView:
    """Records matching every given filter; ``subject`` is pseudonymised on the fly.

    Raises:
        InputError: ``since`` is not a date.
        SecretMissingError: no pseudonym key is stored.
        ConfigError: the trail cannot be read.
    """
    trail = path or settings.audit_log
    keys = trail_keys(settings, opener)
    selected = TrailFilter(
        ticket=ticket,
        job=job,
        since=parse_since(since) if since is not None else None,
        subjects=subject_pseudonyms(subject, keys) if subject is not None else frozenset(),
    )
    chain = verify_chain(trail, keys)
    records = tuple(record for record in trail_records(trail) if selected.matches(record))
    return TrailView(chain, records)
