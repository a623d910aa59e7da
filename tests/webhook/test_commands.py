"""The command cores called with a request: ``commands.sign`` then ``commands.verify``."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from cio_sec.errors import ExitCode
from cio_sec.settings import CliFlags, Settings, read_settings
from cio_sec.stores.chain import store_opener
from cio_sec.webhook import Reason, commands
from cio_sec.webhook.delivery import VerifyOptions

BODY = b'{"event_id":"01H","metric":"opened"}'


def _settings() -> Settings:
    flags = CliFlags(profile=None, env_file=None, non_interactive=True, stdin_is_tty=False)
    return read_settings(flags, os.environ, cwd=Path.cwd())


def test_a_body_signed_from_the_request_stdin_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", "commands-signing-key-0001")
    settings = _settings()
    opener = store_opener(settings, os.environ)
    sign = commands.SignRequest(body="-", timestamp=1_700_000_000, stdin=io.BytesIO(BODY))
    signed = commands.sign(sign, settings, opener)
    assert signed.exit_code == ExitCode.OK
    verify = commands.VerifyRequest(
        body="-",
        timestamp=signed.headers["X-CIO-Timestamp"],
        signature=signed.headers["X-CIO-Signature"],
        options=VerifyOptions(now=1_700_000_000),
        stdin=io.BytesIO(BODY),
    )
    report = commands.verify(verify, settings, opener)
    assert report.verification.reason is Reason.VALID
    assert report.exit_code == ExitCode.OK
