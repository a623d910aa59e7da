"""Checks on the profile's credentials: where they live, how old they are, whether they work."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from cio_sec.audit.report import CheckFinding, CheckResult, Status, from_findings, passed
from cio_sec.rotate.key_ages import last_rotation

if TYPE_CHECKING:
    from cio_sec.credentials import CredentialCheck
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import ResolvedCredential, StoreOpener

#: Reference kinds that keep a secret in plain text where other programs read it.
PLAIN_SCHEMES = frozenset({"env", "dotenv"})


def check_credential_stores(
    settings: Settings, resolved: Mapping[str, ResolvedCredential]
) -> CheckResult:
    """FAIL when a production profile takes a credential from the environment or a .env file."""
    title = "Credentials come from a secret store"
    found = [credential for credential in resolved.values() if credential.source is not None]
    if not found:
        return CheckResult(
            "credential-stores",
            title,
            Status.WARN,
            f"no credential resolves in profile {settings.profile!r}",
            "store them: cio-sec credentials set NAME",
        )
    plain = [c for c in found if c.source is not None and c.source.scheme in PLAIN_SCHEMES]
    if not plain:
        kinds = sorted({str(c.source.scheme) for c in found if c.source is not None})
        return passed(
            "credential-stores",
            title,
            f"all {len(found)} credentials found come from a secret store ({', '.join(kinds)})",
        )
    where = ", ".join(f"{c.name} from {c.source}" for c in plain)
    if not settings.production:
        return passed(
            "credential-stores",
            title,
            f"profile {settings.profile!r} is not marked production; plain stores used: {where}",
        )
    return CheckResult(
        "credential-stores",
        title,
        Status.FAIL,
        f"production profile {settings.profile!r} reads {where}",
        f"move them to the keyring (cio-sec --profile {settings.profile} credentials set "
        "NAME) and remove the environment variables and .env entries",
    )


def check_key_age(
    settings: Settings,
    resolved: Mapping[str, ResolvedCredential],
    *,
    max_age_days: int,
    now: datetime,
) -> CheckResult:
    """FAIL for credentials rotated longer ago than allowed; WARN when the age is unknown."""
    title = f"Credentials rotated within {max_age_days} days"
    names = [name for name, credential in resolved.items() if credential.found]
    if not names:
        return CheckResult(
            "key-age",
            title,
            Status.MANUAL,
            "no credential resolves, so there is no age to check",
            "store the credentials first: cio-sec credentials set NAME",
        )
    findings: list[CheckFinding] = []
    ages: list[tuple[int, str]] = []
    for name in names:
        record = last_rotation(settings.state_dir, settings.profile, name)
        if record is None:
            findings.append(
                CheckFinding(Status.WARN, f"{name}: age unknown (no rotation recorded)")
            )
            continue
        age = (now - record.rotated_at).days
        ages.append((age, name))
        if age > max_age_days:
            findings.append(CheckFinding(Status.FAIL, f"{name} was last rotated {age} days ago"))
    if not findings:
        oldest, name = max(ages)
        return passed(
            "key-age",
            title,
            f"{len(names)} credentials rotated within {max_age_days} days "
            f"(oldest: {name}, {oldest} days)",
        )
    return from_findings(
        "key-age",
        title,
        findings,
        remediation="rotate them with cio-sec rotate; rotations are recorded in "
        f"{settings.state_dir}/rotations.jsonl",
    )


_ONLINE_STATUS = {"ok": Status.PASS, "skipped": Status.WARN}


def check_online(settings: Settings, opener: StoreOpener) -> list[CheckResult]:
    """Test each configured credential with read-only calls (``--online``)."""
    from cio_sec import credentials

    report = credentials.check(credentials.CheckRequest(), settings, opener)
    return [_online_result(check) for check in report.checks]


def _online_result(check: CredentialCheck) -> CheckResult:
    status = _ONLINE_STATUS.get(check.status, Status.FAIL)
    title = f"{check.name.capitalize()} API credentials work (online)"
    remediation = check.hint or "cio-sec credentials check shows the details"
    if status is Status.PASS:
        return passed(f"online-{check.name}", title, check.detail)
    return CheckResult(f"online-{check.name}", title, status, check.detail, remediation)
