"""`cio-sec sandbox` as scripts use it: one JSON line, then serve until interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from cio_sec.errors import ExitCode
from cio_sec.sandbox import Sandbox
from tests.support.cli import STDOUT_CLOSED, CliHarness, run_with_closed_stdout
from tests.support.schemas import SANDBOX, parse_document

pytestmark = pytest.mark.slow


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_sandbox_prints_one_json_line_serves_and_stops_on_ctrl_c(fmt: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "cio_sec", "sandbox", "--port", "0", "--format", fmt],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert process.stdout is not None
        info = parse_document(process.stdout.readline(), schema=SANDBOX)
        assert set(info) == {
            "track_url",
            "app_url",
            "admin_url",
            "site_id",
            "track_api_key",
            "app_api_key",
            "webhook_signing_key",
            "track_url_eu",
            "app_url_eu",
        }
        assert info["track_url"].startswith("http://127.0.0.1:")
        answer = httpx.get(
            f"{info['track_url']}/api/v1/accounts/region",
            auth=(info["site_id"], info["track_api_key"]),
        )
        assert answer.json()["region"] == "us"
        created = httpx.post(f"{info['admin_url']}/track-keys").json()
        assert len(created["track_api_key"]) == 20
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert stdout == ""
    assert ("Ctrl-C stops it" in stderr) is (fmt == "text")
    assert "Traceback" not in stderr


def test_a_port_in_use_is_exit_3_with_a_hint(run_cli: CliHarness, sandbox: Sandbox) -> None:
    outcome = run_cli("sandbox", "--port", str(sandbox.port), expect=ExitCode.CONFIG)
    assert f"cannot listen on 127.0.0.1:{sandbox.port}" in outcome.stderr
    assert "--port 0" in outcome.stderr


@pytest.mark.timeout(60)
def test_a_sandbox_whose_announcement_nobody_reads_stops() -> None:
    """Its JSON line is its whole interface: with stdout closed there is no point serving."""
    result = run_with_closed_stdout("sandbox", "--port", "0", "-f", "json")
    assert result.returncode == ExitCode.OUTPUT_CLOSED
    assert result.stderr == STDOUT_CLOSED
