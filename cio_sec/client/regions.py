"""Which region each base URL serves, and the error that says the configured one is wrong.

Customer.io answers a request in the wrong region with a redirect to the other region's
host or with a 401 (§0 of the API notes). cio-sec follows no redirect and cannot tell a
401 for a wrong region from one for a wrong key by itself, so callers ask here: a redirect
to the other region's configured base URL, or credentials that work on that base URL,
mean the region setting is wrong. The other region's base URL is Customer.io's own unless
``CIO_SEC_TRACK_URL_US``/``_EU`` (``CIO_SEC_APP_URL_US``/``_EU``) name another, as tests
and rehearsals against the sandbox's two hosts do.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from cio_sec.client.api import AppApi, TrackApi
from cio_sec.client.results import AccountRegion, Workspace
from cio_sec.client.retry import DEFAULT_RETRY_POLICY, RetryPolicy
from cio_sec.client.transport import DEFAULT_TIMEOUT, build_app_client, build_track_client
from cio_sec.client.urls import APP_URLS, TRACK_URLS, _host
from cio_sec.errors import CioSecError, CredentialRejectedError, RedirectError, RegionMismatchError

if TYPE_CHECKING:
    from cio_sec.settings import Settings


@dataclass(frozen=True)
class RegionSetting:
    """The configured region, where it was set, and every region's base URLs."""

    region: str
    source: str
    """Where the region came from, in the settings' words (``profile 'prod'`` ...)."""
    config_path: Path | None
    track_urls: Mapping[str, str]
    app_urls: Mapping[str, str]
    overridden: frozenset[str] = frozenset()
    """Regions whose Track base URL was configured rather than Customer.io's own."""

    @classmethod
    def of(cls, settings: Settings) -> RegionSetting:
        """The region setting of these settings (the configured region's URLs as used)."""
        track = {**TRACK_URLS, **settings.regional_track_urls}
        app = {**APP_URLS, **settings.regional_app_urls}
        overridden = set(settings.regional_track_urls)
        if settings.track_url:
            track[settings.region] = settings.track_url.rstrip("/")
            overridden.add(settings.region)
        if settings.app_url:
            app[settings.region] = settings.app_url.rstrip("/")
        return cls(
            settings.region,
            settings.region_source,
            settings.config_path,
            track,
            app,
            frozenset(overridden),
        )

    @property
    def others(self) -> tuple[str, ...]:
        """The regions other than the configured one."""
        return tuple(region for region in self.track_urls if region != self.region)

    @property
    def probed(self) -> tuple[str, ...]:
        """The other regions whose Track host may be asked after a 401 here.

        When the configured region's base URL is an override (a proxy, the sandbox) and the
        other region's is not, the credentials are not sent to Customer.io's real host.
        """
        if self.region not in self.overridden:
            return self.others
        return tuple(region for region in self.others if region in self.overridden)

    def region_of(self, host: str | None) -> str | None:
        """The other region whose Track or App base URL is on ``host`` (``host[:port]``)."""
        if host is None:
            return None
        for region in self.others:
            if host in {_url_host(self.track_urls[region]), _url_host(self.app_urls[region])}:
                return region
        return None

    def redirected(self, error: RedirectError) -> RegionMismatchError | None:
        """The region error a redirect to the other region's host means; None otherwise."""
        region = self.region_of(error.target)
        if region is None:
            return None
        return self.mismatch(region, f"Customer.io redirected the request to {error.target}")

    def mismatch(self, actual: str, evidence: str) -> RegionMismatchError:
        """The error for an account in region ``actual``, naming where the region was set."""
        return RegionMismatchError(
            f"{evidence}: the account is in region {actual!r}, but {self.where} says "
            f"{self.region!r}",
            region=actual,
            hint=self.fix(actual),
        )

    @property
    def where(self) -> str:
        """Where the region was set, for messages: the profile and its file, or a variable."""
        if self.source.startswith("profile") and self.config_path is not None:
            return f"{self.source} in {self.config_path}"
        return self.source

    def fix(self, actual: str) -> str:
        """What to change so the region is ``actual``."""
        if self.source.startswith("profile"):
            return f'set region = "{actual}" in {self.where}'
        if self.source.startswith("CUSTOMERIO_REGION in"):
            return f"set CUSTOMERIO_REGION={actual} in the .env file"
        if self.source == "CUSTOMERIO_REGION":
            return f"set CUSTOMERIO_REGION={actual}"
        return (
            f"the region defaults to {self.region!r}: set CUSTOMERIO_REGION={actual}, or "
            f'region = "{actual}" in the profile in config.toml'
        )


def _url_host(url: str) -> str | None:
    """``host[:port]`` of a configured base URL; None for one httpx cannot parse."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None  # the client refuses it with its own message when it is used
    return _host(parsed) if parsed.host else None


def find_account(
    setting: RegionSetting,
    site_id: str,
    api_key: str,
    *,
    needs: Collection[str] = ("region",),
    timeout: float = DEFAULT_TIMEOUT,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> AccountRegion:
    """Ask the configured region's Track host whose account the pair opens, region checked.

    Raises:
        RegionMismatchError: the account is in another region: the lookup says so, was
            redirected to the other region's host, or was rejected here and answered there.
        CredentialRejectedError: the pair is rejected here and (where asked) there too.
        RedirectError: a redirect anywhere else.
        RemoteUnavailableError, ApiError: as `TrackApi.region`.
    """
    url = setting.track_urls[setting.region]
    try:
        account = _lookup(url, site_id, api_key, needs, timeout, policy)
    except RedirectError as exc:
        mismatch = setting.redirected(exc)
        if mismatch is None:
            raise
        raise mismatch from exc
    except CredentialRejectedError as rejected:
        raise _accepted_elsewhere(setting, site_id, api_key, timeout, policy) or rejected from None
    if account.region is not None and account.region != setting.region:
        raise setting.mismatch(account.region, "Customer.io's region lookup")
    return account


def find_workspaces(
    setting: RegionSetting,
    api_key: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> tuple[Workspace, ...]:
    """List the workspaces an App key sees on the configured region's App host.

    A 401 stays a rejection: App keys are regional, and only the Track pair's account can
    say whether the region is wrong (`find_account`); the caller decides.

    Raises:
        RegionMismatchError: the request was redirected to the other region's host.
        CredentialRejectedError: the key is rejected here.
        RedirectError: a redirect anywhere else.
        RemoteUnavailableError, ApiError: as `AppApi.workspaces`.
    """
    try:
        with build_app_client(setting.app_urls[setting.region], api_key, timeout=timeout) as http:
            return AppApi(http, policy=policy).workspaces()
    except RedirectError as exc:
        mismatch = setting.redirected(exc)
        if mismatch is None:
            raise
        raise mismatch from exc


def _lookup(
    url: str,
    site_id: str,
    api_key: str,
    needs: Collection[str],
    timeout: float,
    policy: RetryPolicy,
) -> AccountRegion:
    with build_track_client(url, site_id, api_key, timeout=timeout) as http:
        return TrackApi(http, policy=policy).region(needs)


def _accepted_elsewhere(
    setting: RegionSetting, site_id: str, api_key: str, timeout: float, policy: RetryPolicy
) -> RegionMismatchError | None:
    """The region error when another region's Track host accepts the pair; else None."""
    for region in setting.probed:
        try:
            account = _lookup(setting.track_urls[region], site_id, api_key, (), timeout, policy)
        except CioSecError:
            continue  # rejected or unreachable there too: the 401 here stands
        actual = account.region or region
        return setting.mismatch(
            actual,
            f"Customer.io rejected the Track API credentials in region {setting.region!r} "
            f"and accepted them in {region!r}",
        )
    return None
