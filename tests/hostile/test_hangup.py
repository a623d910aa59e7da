"""A closed terminal (SIGHUP) stops scan-repo, serve and rotate as SIGTERM does: cleanly.

Python's default for SIGHUP ends the process at once, running no ``finally`` block: a
rotation would stop mid-step with no checklist line, a receiver without its summary. Each
command here runs as a real process and gets a real SIGHUP while it works. Erase's own
SIGHUP case is in tests/cli/test_erase_process.py (stopped, resumable, exit 5).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from cio_sec.errors import ExitCode
from cio_sec.sandbox import Faults, Sandbox
from cio_sec.webhook import sign
from tests.conftest import CANARY
from tests.rotate.helpers import dotenv_credentials, state_file
from tests.support.git_repos import ENV_PAIR, TRACK_KEY, make_repo
from tests.support.loopback import serve
from tests.support.schemas import parse_document

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

KEY = "hangup-webhook-signing-key-0001"
BODY = b'{"object_type":"email","metric":"sent","data":{}}'
_DONE = re.compile(r"^\[x\] (\d+)/(\d+) ")


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cio_sec", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or dict(os.environ),
    )


def test_scan_repo_hung_up_while_verifying_stops_with_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, watched_secrets: set[str]
) -> None:
    watched_secrets.add(TRACK_KEY)
    asked = threading.Event()
    release = threading.Event()

    class Hanging(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.set()
            release.wait(30)  # answers only once the test is done with the process
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    repo = make_repo(tmp_path)
    repo.commit("keys", {".env": ENV_PAIR})
    with serve(Hanging) as url:
        monkeypatch.setenv("CIO_SEC_TRACK_URL", url)
        monkeypatch.setenv("CIO_SEC_APP_URL", url)
        process = _start("scan-repo", str(repo.path), "--verify", "--yes", "-f", "json")
        try:
            assert asked.wait(60), "scan-repo never reached its --verify requests"
            process.send_signal(signal.SIGHUP)
            stdout, stderr = process.communicate(timeout=30)
        finally:
            release.set()
            process.kill()
    assert process.returncode == ExitCode.INTERRUPTED, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    assert TRACK_KEY not in stdout + stderr


def test_serve_hung_up_reports_what_it_saw_and_exits_0(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", KEY)
    process = _start("verify-webhook", "serve", "--port", "0", "-f", "json")
    try:
        assert process.stdout is not None
        url = parse_document(process.stdout.readline())["url"]
        ready = httpx.post(url, content=BODY, headers=sign(BODY, KEY))
        process.send_signal(signal.SIGHUP)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert ready.status_code == 200
    assert process.returncode == 0, stderr
    assert '"kind": "delivery"' in stdout
    assert KEY not in stdout + stderr


def test_rotate_hung_up_after_a_step_keeps_its_state_and_resumes(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, hermetic_env: Path
) -> None:
    dotenv_credentials(sandbox, monkeypatch, hermetic_env)
    new = sandbox.add_track_keys()
    pair = f"{new.site_id}\n{new.track_api_key}\n"
    sandbox.set_faults(Faults(latency_ms=150))  # the signal lands before the next step ends
    process = _start("rotate", "track", "--new-key-stdin", "--yes")
    assert process.stdin is not None
    assert process.stderr is not None
    process.stdin.write(pair)
    process.stdin.close()
    seen: list[str] = []
    for line in process.stderr:
        seen.append(line)
        match = _DONE.match(line)
        if match and int(match.group(1)) == 2:
            process.send_signal(signal.SIGHUP)
            break
    process.wait(timeout=60)
    checklist = "".join(seen) + process.stderr.read()
    assert process.stdout is not None
    process.stdout.close()
    process.stderr.close()
    assert process.returncode == ExitCode.INTERRUPTED, checklist
    assert "interrupted" in checklist
    assert "Traceback" not in checklist
    state = state_file(hermetic_env, "track")
    assert state.exists()
    for secret in (new.track_api_key, CANARY):
        assert secret not in state.read_text()
        assert secret not in checklist
    sandbox.set_faults(Faults())
    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "cio_sec",
            "rotate",
            "track",
            "--resume",
            "--new-key-stdin",
            "--yes",
        ],
        input=pair,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert resumed.returncode in (ExitCode.OK, ExitCode.PARTIAL), resumed.stderr
    assert "[x] 1/" in resumed.stderr  # the steps done before the hang-up stay done
    assert "earlier" in resumed.stderr
