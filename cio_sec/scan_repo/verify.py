"""``--verify``: is a found credential still live? Read-only requests, both regions.

Track pairs: ``GET /api/v1/accounts/region``; App keys: ``GET /v1/workspaces``. Nothing
else is ever sent: trufflehog's check posts an event into the victim's workspace, which
this must never do. A key that no read-only call can test is ``unknown``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cio_sec.errors import CredentialRejectedError, RemoteError
from cio_sec.scan_repo.report import Credential, ScanReport
from cio_sec.scan_repo.rules import APP_API_KEY, TRACK_BASIC_AUTH, TRACK_KEY_PAIR

if TYPE_CHECKING:
    from cio_sec.client import RetryPolicy


@dataclass(frozen=True)
class Endpoints:
    """Where to check: the override URLs (sandbox, proxy) or both regions' hosts."""

    track_url: str | None = None
    app_url: str | None = None
    timeout: float = 10.0

    def track_urls(self) -> list[str]:
        """Each distinct Track base URL (one when overridden)."""
        from cio_sec.client import track_base_url

        return list(dict.fromkeys(track_base_url(r, self.track_url) for r in ("us", "eu")))

    def app_urls(self) -> list[str]:
        """Each distinct App base URL (one when overridden)."""
        from cio_sec.client import app_base_url

        return list(dict.fromkeys(app_base_url(r, self.app_url) for r in ("us", "eu")))


@dataclass(frozen=True)
class Liveness:
    """The answer for one credential."""

    status: str
    """``live``, ``revoked`` or ``unknown``."""
    detail: str


def verify_report(report: ScanReport, endpoints: Endpoints) -> ScanReport:
    """Check each distinct credential once and mark every finding with the answer."""
    answers = {fp: check_credential(cred, endpoints) for fp, cred in report.credentials.items()}
    findings = tuple(
        dataclasses.replace(
            finding,
            liveness=answers[finding.identity].status,
            liveness_detail=answers[finding.identity].detail,
        )
        for finding in report.findings
    )
    return dataclasses.replace(report, findings=findings, verified=True)


def check_credential(credential: Credential, endpoints: Endpoints) -> Liveness:
    """Ask Customer.io, read-only, whether one credential still works."""
    from cio_sec import client

    if credential.rule in (TRACK_KEY_PAIR.id, TRACK_BASIC_AUTH.id):
        site_id, key = credential.secret.split(":", 1)

        def track(url: str) -> str:
            with client.build_track_client(url, site_id, key, timeout=endpoints.timeout) as h:
                return f"region {client.TrackApi(h, policy=_policy()).region().region}"

        return _ask(endpoints.track_urls(), track)
    if credential.rule == APP_API_KEY.id:

        def app(url: str) -> str:
            with client.build_app_client(url, credential.secret, timeout=endpoints.timeout) as h:
                return f"{len(client.AppApi(h, policy=_policy()).workspaces())} workspace(s)"

        return _ask(endpoints.app_urls(), app)
    return Liveness("unknown", "no read-only check exists for this kind of credential")


def _policy() -> RetryPolicy:
    """Seconds, not minutes: the on-call engineer is waiting for the answer."""
    from cio_sec.client import RetryPolicy

    return RetryPolicy(max_attempts=2, max_delay=1.0, max_retry_after=2.0)


def _ask(urls: list[str], call: Callable[[str], str]) -> Liveness:
    rejected, failed = [], []
    for url in urls:
        try:
            return Liveness("live", f"accepted by {url}: {call(url)}")
        except CredentialRejectedError:  # noqa: PERF203 - one or two URLs
            rejected.append(url)
        except RemoteError as exc:
            failed.append(f"{url}: {exc.message}")
    if failed:
        return Liveness("unknown", "; ".join(failed))
    return Liveness("revoked", f"rejected by {', '.join(rejected)}")
