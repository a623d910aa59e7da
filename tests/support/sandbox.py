"""Start the shipped Customer.io emulator for a test and point cio-sec at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from cio_sec.sandbox import Sandbox


@contextmanager
def running_sandbox(
    monkeypatch: pytest.MonkeyPatch, watched: set[str], **kwargs: object
) -> Iterator[Sandbox]:
    """A started sandbox whose URLs and default credentials are in the environment."""
    with Sandbox(**kwargs) as sandbox:  # type: ignore[arg-type]
        info = sandbox.info
        watched.update({info.track_api_key, info.app_api_key, info.webhook_signing_key})
        monkeypatch.setenv("CIO_SEC_TRACK_URL", info.track_url)
        monkeypatch.setenv("CIO_SEC_APP_URL", info.app_url)
        # Where the other region is, so that wrong-region answers become region hints.
        monkeypatch.setenv("CIO_SEC_TRACK_URL_EU", info.track_url_eu)
        monkeypatch.setenv("CIO_SEC_APP_URL_EU", info.app_url_eu)
        monkeypatch.setenv("CUSTOMERIO_SITE_ID", info.site_id)
        monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", info.track_api_key)
        monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", info.app_api_key)
        yield sandbox
