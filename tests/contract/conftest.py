"""The contract suite's target: the sandbox by default, a real workspace with CIO_SEC_LIVE=1.

The same client-level scenarios run against both. A scenario that passes on the sandbox
and fails on Customer.io is a finding about the real API: it becomes a sandbox behaviour.

Live runs touch only people whose ids start with `PREFIX`, and delete them afterwards.
The credentials are read from the environment when this module is imported, before the
suite's hermetic fixture clears the environment for every test.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
import pytest

from cio_sec.client import AppApi, TrackApi
from cio_sec.client.transport import build_app_client, build_track_client
from cio_sec.client.urls import app_base_url, quote_identifier, track_base_url
from cio_sec.redact import REDACTOR
from cio_sec.sandbox import Sandbox

T = TypeVar("T")

PREFIX = "cio-sec-contract-"
LIVE = os.environ.get("CIO_SEC_LIVE") == "1"
_LIVE_NAMES = (
    "CUSTOMERIO_SITE_ID",
    "CUSTOMERIO_TRACK_API_KEY",
    "CUSTOMERIO_APP_API_KEY",
    "CUSTOMERIO_REGION",
)
_LIVE_ENV = {name: os.environ.get(name, "") for name in _LIVE_NAMES}
#: How long a live read-back or search may take to reflect a change (Customer.io
#: processes Track requests asynchronously); the sandbox reflects them at once.
LIVE_PATIENCE_SECONDS = 180.0


class NotYetError(AssertionError):
    """What `Target.eventually` raises when the condition never held."""


@dataclass
class Target:
    """Where the scenarios run: the API wrappers, and the people they created."""

    track: TrackApi
    app: AppApi
    track_http: httpx.Client
    region: str
    live: bool
    created: list[str] = field(default_factory=list)

    def new_person_id(self) -> str:
        """Return a fresh id under the contract prefix, remembered for clean-up."""
        person_id = PREFIX + secrets.token_hex(8)
        self.created.append(person_id)
        return person_id

    def identify(self, person_id: str, attributes: dict[str, object]) -> None:
        """Create or update a person through the Track API (test set-up, not under test)."""
        _guard(person_id)
        response = self.track_http.put(
            f"/api/v1/customers/{quote_identifier(person_id)}", json=attributes
        )
        assert response.is_success, (response.status_code, response.text[:300])

    def unsuppress(self, person_id: str) -> None:
        """Free a suppressed contract identifier again, so live runs leave nothing behind."""
        _guard(person_id)
        self.track_http.post(f"/api/v1/customers/{quote_identifier(person_id)}/unsuppress")

    def eventually(self, probe: Callable[[], T], done: Callable[[T], bool]) -> T:
        """Return ``probe()`` once ``done`` holds; live, poll with a growing interval."""
        deadline = time.monotonic() + (LIVE_PATIENCE_SECONDS if self.live else 0.0)
        interval = 1.0
        while True:
            value = probe()
            if done(value):
                return value
            if time.monotonic() >= deadline:
                raise NotYetError(f"still {value!r} after waiting")
            time.sleep(interval)
            interval = min(interval * 2, 20.0)


def _guard(person_id: str) -> None:
    # The one rule that keeps a live run from touching a real customer.
    if not person_id.startswith(PREFIX):
        raise AssertionError(f"contract scenarios touch only ids starting with {PREFIX!r}")


@pytest.fixture
def target() -> Iterator[Target]:
    """The sandbox (default), or the live workspace named by the environment."""
    if LIVE:
        yield from _live_target()
    else:
        with Sandbox() as sandbox:
            info = sandbox.info
            yield from _target(
                track_url=info.track_url,
                app_url=info.app_url,
                site_id=info.site_id,
                track_key=info.track_api_key,
                app_key=info.app_api_key,
                region="us",
                live=False,
            )


def _live_target() -> Iterator[Target]:
    missing = [name for name in _LIVE_NAMES[:3] if not _LIVE_ENV[name]]
    if missing:
        pytest.fail(f"CIO_SEC_LIVE=1 needs a test workspace's credentials: set {missing}")
    region = _LIVE_ENV["CUSTOMERIO_REGION"] or "us"
    yield from _target(
        track_url=track_base_url(region),
        app_url=app_base_url(region),
        site_id=_LIVE_ENV["CUSTOMERIO_SITE_ID"],
        track_key=_LIVE_ENV["CUSTOMERIO_TRACK_API_KEY"],
        app_key=_LIVE_ENV["CUSTOMERIO_APP_API_KEY"],
        region=region,
        live=True,
    )


def _target(
    *,
    track_url: str,
    app_url: str,
    site_id: str,
    track_key: str,
    app_key: str,
    region: str,
    live: bool,
) -> Iterator[Target]:
    for secret in (track_key, app_key):
        REDACTOR.register(secret)
    with (
        build_track_client(track_url, site_id, track_key) as track_http,
        build_app_client(app_url, app_key) as app_http,
    ):
        target = Target(TrackApi(track_http), AppApi(app_http), track_http, region, live)
        try:
            yield target
        finally:
            for person_id in target.created:
                target.unsuppress(person_id)
                target.track.delete(person_id)
