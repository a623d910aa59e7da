"""Hostile input to ``credentials``: redirecting APIs and rejected input that must not echo.

The canary is what gets redirected or rejected, so `run_cli` fails the test if it shows up
in stdout or stderr, in a usage error as much as anywhere else.
"""

from __future__ import annotations

import pytest

from cio_sec.errors import ExitCode
from tests.conftest import CANARY
from tests.support.cli import CliHarness
from tests.support.hostile import redirect_trap

REDIRECTS = (301, 302, 307, 308)


@pytest.mark.parametrize("status", REDIRECTS)
def test_the_customerio_client_never_follows_a_redirect(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    with redirect_trap(status) as trap:
        monkeypatch.setenv("CIO_SEC_TRACK_URL", trap.url)
        monkeypatch.setenv("CIO_SEC_APP_URL", trap.url)
        monkeypatch.setenv("CUSTOMERIO_SITE_ID", "0123456789abcdef0123")
        monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", CANARY)
        monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", CANARY + "0123456789")
        outcome = run_cli("credentials", "check", expect=ExitCode.REMOTE)
        assert trap.received == []
        assert {request.path for request in trap.redirected} == {
            "/api/v1/accounts/region",
            "/v1/workspaces",
        }
    assert "redirected" in outcome.stdout + outcome.stderr
