"""The checklist's look at the erasure trail: present, and its chain verifies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cio_sec.audit.report import CheckResult, Status, passed
from cio_sec.errors import ConfigError, InputError
from cio_sec.trail.chain import trail_keys, verify_chain

if TYPE_CHECKING:
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import StoreOpener

TITLE = "Erasure audit trail present and intact"


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
