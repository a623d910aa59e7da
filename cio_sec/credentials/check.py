"""``credentials check``: test the credentials against Customer.io with read-only calls.

The client (and so httpx) is imported only when a check runs: start-up stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cio_sec.errors import CredentialRejectedError, ExitCode, RegionMismatchError, RemoteError
from cio_sec.redact import mask
from cio_sec.settings import Settings
from cio_sec.stores.chain import (
    ResolvedCredential,
    StoreOpener,
    StoreProblem,
    missing_hint,
    resolve,
)

if TYPE_CHECKING:
    from cio_sec.client import RetryPolicy, Workspace


@dataclass(frozen=True, kw_only=True)
class CheckRequest:
    """``credentials check`` has no options of its own (the profile is in the settings)."""


@dataclass(frozen=True)
class CredentialCheck:
    """The outcome of testing one credential (or the Track pair) against Customer.io."""

    name: str
    status: str
    """``ok``, ``region-mismatch``, ``other-workspace``, ``rejected``, ``missing``,
    ``unavailable`` (unreachable, or 429/5xx after retries) or ``skipped``."""
    detail: str
    region: str | None = None
    workspace_id: str | None = None
    hint: str | None = None

    def to_json(self) -> dict[str, object]:
        """The JSON form of this check."""
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "region": self.region,
            "workspace_id": self.workspace_id,
            "hint": self.hint,
        }


#: Which check statuses lead to each failing exit code, and the error type they stand for.
_STATUSES_BY_CODE: dict[ExitCode, frozenset[str]] = {
    ExitCode.CONFIG: frozenset({"rejected", "missing", "skipped"}),
    ExitCode.REMOTE: frozenset({"unavailable"}),
    ExitCode.CHECK_FAILED: frozenset({"region-mismatch", "other-workspace"}),
}
_ERROR_TYPES = {
    "rejected": "CredentialRejectedError",
    "unavailable": "RemoteUnavailableError",
    "region-mismatch": "RegionMismatchError",
    "other-workspace": "RegionMismatchError",
}


@dataclass(frozen=True)
class CheckReport:
    """The result of ``credentials check``."""

    configured_region: str
    checks: tuple[CredentialCheck, ...]

    @property
    def ok(self) -> bool:
        """True when every credential that was tested works as configured."""
        return self.exit_code == 0

    @property
    def exit_code(self) -> ExitCode:
        """3 for missing/rejected credentials, 4 when unavailable, 1 for a wrong region."""
        statuses = {check.status for check in self.checks}
        if statuses & {"rejected", "missing"} or statuses <= {"skipped"}:
            return ExitCode.CONFIG
        if "unavailable" in statuses:
            return ExitCode.REMOTE
        if statuses & {"region-mismatch", "other-workspace"}:
            return ExitCode.CHECK_FAILED
        return ExitCode.OK

    def failure(self) -> tuple[str, str, str | None]:
        """The error of a failed check: the first check behind the exit code, and its fix."""
        statuses = _STATUSES_BY_CODE[self.exit_code]
        check = next((c for c in self.checks if c.status in statuses), self.checks[0])
        kind = _ERROR_TYPES.get(check.status, "SecretMissingError")
        return kind, f"{check.name}: {check.status}: {check.detail}", check.hint

    def to_json(self) -> dict[str, object]:
        """The JSON payload."""
        return {
            "configured_region": self.configured_region,
            "checks": [check.to_json() for check in self.checks],
        }


def check(request: CheckRequest, settings: Settings, opener: StoreOpener) -> CheckReport:
    """Test the Track pair and the App key with read-only calls.

    Track: ``GET /api/v1/accounts/region``, which answers on either regional host with
    the account's real region and workspace. App: ``GET /v1/workspaces``.
    """
    site, track_key, app_key = (
        resolve(settings, name, opener) for name in ("site_id", "track_api_key", "app_api_key")
    )
    track = _check_track(settings, site, track_key)
    app = _check_app(settings, app_key, track)
    if track.status == app.status == "skipped":
        track = _nothing_found(settings, _unread(site, track_key, app_key))
    return CheckReport(settings.region, (track, app))


def _unread(*credentials: ResolvedCredential) -> StoreProblem | None:
    """The first store that could not be read while looking for what was not found."""
    for credential in credentials:
        if not credential.found and credential.problems:
            return credential.problems[0]
    return None


def _unread_text(problem: StoreProblem) -> str:
    return f"the {problem.store} store could not be read: {problem.reason}"


def _skipped(check: str, detail: str, unread: StoreProblem | None) -> CredentialCheck:
    """Nothing to test; when a store could not be read, it may hold the keys: say which."""
    if unread is None:
        return CredentialCheck(check, "skipped", detail)
    return CredentialCheck(check, "skipped", f"{detail} ({_unread_text(unread)})", hint=unread.hint)


def _nothing_found(settings: Settings, unread: StoreProblem | None) -> CredentialCheck:
    """No credential at all (exit 3); a store that could not be read is named.

    Without its name a locked keyring reads as "nothing configured", and the advice to
    store the keys again is wrong: they are there, behind the lock.
    """
    if unread is None:
        return CredentialCheck(
            "track",
            "missing",
            "no Customer.io credentials configured at all",
            hint=missing_hint(settings, "track_api_key"),
        )
    return CredentialCheck(
        "track",
        "missing",
        f"no Customer.io credentials found: {_unread_text(unread)}",
        hint=unread.hint,
    )


def _check_policy() -> RetryPolicy:
    """An operator waiting on ``credentials check`` wants an answer in seconds.

    Bulk jobs get the long default patience; this is at most three attempts and about
    ten seconds of waiting in all, however long a Retry-After the server asks for.
    """
    from cio_sec.client import RetryPolicy

    return RetryPolicy(max_attempts=3, max_delay=2.0, max_retry_after=4.0)


def _check_track(
    settings: Settings, site: ResolvedCredential, key: ResolvedCredential
) -> CredentialCheck:
    from cio_sec import client

    unread = _unread(site, key)
    if not site.found and not key.found:
        return _skipped("track", "no Track API credentials configured", unread)
    missing = [c.name for c in (site, key) if not c.found]
    if missing or site.value is None or key.value is None:
        return CredentialCheck(
            "track",
            "missing",
            f"{' and '.join(missing)} not found" + (f": {_unread_text(unread)}" if unread else ""),
            hint=unread.hint if unread else missing_hint(settings, missing[0]),
        )
    try:
        account = client.find_account(
            client.RegionSetting.of(settings),
            site.value,
            key.value,
            timeout=settings.timeout,
            policy=_check_policy(),
        )
    except RegionMismatchError as exc:
        return CredentialCheck(
            "track", "region-mismatch", exc.message, region=exc.region, hint=exc.hint
        )
    except CredentialRejectedError:
        return CredentialCheck(
            "track",
            "rejected",
            f"Customer.io rejected the Track API key {mask(key.value)} for site ID "
            f"{mask(site.value)}",
            hint="the key set was deleted or mistyped; run `cio-sec credentials set track_api_key`",
        )
    except RemoteError as exc:
        return CredentialCheck("track", "unavailable", exc.message, hint=exc.hint)
    workspace = (
        "an unreported workspace"
        if account.environment_id is None
        else f"workspace {account.environment_id}"
    )
    return CredentialCheck(
        "track",
        "ok",
        f"Track API key works for {workspace} in region {settings.region!r}",
        region=settings.region,
        workspace_id=account.environment_id,
    )


def _check_app(
    settings: Settings, key: ResolvedCredential, track: CredentialCheck
) -> CredentialCheck:
    """Test the App key; a wrong region is told apart from a wrong key.

    A 401 while the Track pair's account is in the other region, or a redirect to the
    other region's App host, is that region mismatch.
    """
    from cio_sec import client

    if key.value is None:
        return _skipped("app", "no App API key configured", _unread(key))
    try:
        workspaces = client.find_workspaces(
            client.RegionSetting.of(settings),
            key.value,
            timeout=settings.timeout,
            policy=_check_policy(),
        )
    except CredentialRejectedError:
        if track.status == "region-mismatch":
            return _app_region_mismatch(settings, track)
        return CredentialCheck(
            "app",
            "rejected",
            f"Customer.io rejected the App API key {mask(key.value)} in region {settings.region!r}",
            hint="App API keys are regional: check the region, or run `cio-sec "
            "credentials set app_api_key`",
        )
    except RegionMismatchError as exc:
        return CredentialCheck(
            "app", "region-mismatch", exc.message, region=exc.region, hint=exc.hint
        )
    except RemoteError as exc:
        return CredentialCheck("app", "unavailable", exc.message, hint=exc.hint)
    return _app_result(settings, workspaces, track.workspace_id)


def _app_region_mismatch(settings: Settings, track: CredentialCheck) -> CredentialCheck:
    return CredentialCheck(
        "app",
        "region-mismatch",
        f"Customer.io rejected the App API key in region {settings.region!r}, where the "
        f"Track API key's account is not (it is in region {track.region!r})",
        region=track.region,
        hint=track.hint,
    )


def _app_result(
    settings: Settings, workspaces: tuple[Workspace, ...], workspace_id: str | None
) -> CredentialCheck:
    """The App key is fine when it lists the Track key's workspace, whatever else it lists.

    One App key sees every workspace of its account, so only a listing without the Track
    key's workspace means the two keys belong to different accounts.
    """
    ids = sorted({workspace.id for workspace in workspaces})
    listed = ", ".join(ids) or "none"
    if workspace_id is not None and workspace_id not in ids:
        return CredentialCheck(
            "app",
            "other-workspace",
            f"the App API key sees workspaces {listed}, not the Track key's workspace "
            f"{workspace_id}",
            region=settings.region,
            hint="the two keys come from different accounts: create the App API key in the "
            "account of the Track key's workspace",
        )
    return CredentialCheck(
        "app",
        "ok",
        f"App API key works in region {settings.region!r} (workspaces {listed})",
        region=settings.region,
        workspace_id=workspace_id if workspace_id is not None else (ids[0] if ids else None),
    )
