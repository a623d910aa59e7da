"""``audit --online``: no never-send attribute is present in the workspace.

Read-only: one App API search per never-send name (every spelling the sanitize policy's
name normalisation folds into it), paced at the App API's rate. The result carries a count
per attribute, never a value or an identifier.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cio_sec.audit.report import CheckFinding, CheckResult, Status, passed
from cio_sec.errors import CioSecError
from cio_sec.purge.names import never_send_globs, never_send_names, spellings
from cio_sec.sanitize.policy import Policy

if TYPE_CHECKING:
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import StoreOpener

CHECK_ID = "online-never-send"
TITLE = "No never-send attribute is present in the workspace (online)"


def check_never_send(settings: Settings, opener: StoreOpener) -> CheckResult:
    """FAIL with a count per attribute found; PASS when nobody holds any of them."""
    try:
        policy = Policy.load(settings.sanitize_policy) if settings.sanitize_policy else None
    except CioSecError as error:
        return _result(
            Status.MANUAL,
            f"the sanitize policy does not load ({error.message}), so the never-send names "
            "are unknown",
            "fix the policy (the sanitize-policy check names the line), then audit again",
        )
    policy = policy or Policy.default()
    names = never_send_names(policy)
    return _verdict(policy, names, _search(settings, opener, names))


def _search(
    settings: Settings, opener: StoreOpener, names: tuple[str, ...]
) -> dict[str, int] | CheckResult:
    """The count per name, or a WARN when the workspace cannot be searched."""
    from cio_sec.purge.find import count_never_send, open_app_api

    async def count() -> dict[str, int]:
        async with open_app_api(settings, opener, settings.verify_rate) as app:
            return await count_never_send(app, names)

    try:
        return asyncio.run(count())
    except CioSecError as error:
        return _result(
            Status.WARN,
            f"the workspace could not be searched: {error.message}",
            error.hint or "check the App API key with `cio-sec credentials check`",
        )


def _verdict(
    policy: Policy, names: tuple[str, ...], counts: dict[str, int] | CheckResult
) -> CheckResult:
    """PASS, FAIL with a count per name found, or the search's own WARN."""
    if isinstance(counts, CheckResult):
        return counts
    found = {name: people for name, people in counts.items() if people}
    globs = never_send_globs(policy)
    unsearched = f"; drop globs cannot be searched: {', '.join(globs)}" if globs else ""
    if not found:
        return passed(
            CHECK_ID,
            TITLE,
            f"nobody holds any of the {len(names)} never-send attribute names of "
            f"{policy.source}{unsearched}",
        )
    findings = tuple(
        CheckFinding(
            Status.FAIL,
            f"{name}: {people} people (searched as {', '.join(spellings(name))})",
        )
        for name, people in found.items()
    )
    summary = ", ".join(f"{name} ({people})" for name, people in found.items())
    return CheckResult(
        CHECK_ID,
        TITLE,
        Status.FAIL,
        f"people hold never-send attributes: {summary}",
        "stop the attribute at the source (sanitize policy), then remove it with "
        "`cio-sec erase --attributes NAME --all-matching --ticket REF` "
        "(docs/runbooks/pii-sent-by-mistake.md)",
        findings,
    )


def _result(status: Status, evidence: str, remediation: str) -> CheckResult:
    return CheckResult(CHECK_ID, TITLE, status, evidence, remediation)
