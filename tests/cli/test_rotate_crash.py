"""A `cio-sec rotate` process killed (SIGKILL) after each step, then resumed.

The sandbox runs in this process; the rotation runs as a real subprocess against a dotenv
store (shared between processes). API calls are slowed by the sandbox so that the kill,
sent as soon as the checklist says a step is done, lands before the next one finishes.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from cio_sec.redact import fingerprint
from cio_sec.sandbox import Faults, Sandbox
from tests.conftest import CANARY
from tests.rotate.helpers import dotenv_credentials, rotation_records, state_file

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

_DONE = re.compile(r"^\[x\] (\d+)/(\d+) ")


def _rotate(*args: str, stdin: str = "") -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "cio_sec", "rotate", "track", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert process.stdin is not None
    process.stdin.write(stdin)
    process.stdin.close()
    return process


def _kill_after_step(process: subprocess.Popen[str], number: int) -> str:
    """Read the checklist until step ``number`` is ticked, then SIGKILL the process."""
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:
        seen.append(line)
        match = _DONE.match(line)
        if match and int(match.group(1)) == number:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.stdout is not None
    process.stdout.close()
    process.stderr.close()
    return "".join(seen)


def _finish(*args: str, stdin: str = "") -> tuple[int, str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "cio_sec", "rotate", "track", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    return result.returncode, result.stdout, result.stderr


# Steps 5 and 6 are both the operator's; a non-interactive run stops before them and the
# resume confirms them together (the interactive pair is covered in tests/rotate).
@pytest.mark.parametrize("killed_after", [1, 2, 3, 4, 6, 7, 8])
def test_a_rotation_killed_after_any_step_resumes_to_the_same_end(
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    hermetic_env: Path,
    killed_after: int,
) -> None:
    old = sandbox.info
    env_path = dotenv_credentials(sandbox, monkeypatch, hermetic_env)
    new = sandbox.add_track_keys()
    pair = f"{new.site_id}\n{new.track_api_key}\n"
    sandbox.set_faults(Faults(latency_ms=150))
    if killed_after < 5:
        seen = _kill_after_step(_rotate("--new-key-stdin", "--yes", stdin=pair), killed_after)
    else:
        # the first run stops at the operator's steps (exit 5); the resume is killed
        code, _, _ = _finish("--new-key-stdin", "--yes", stdin=pair)
        assert code == 5
        sandbox.revoke_track_keys(old.site_id)
        seen = _kill_after_step(_rotate("--resume", "--yes"), killed_after)
    state_text = state_file(hermetic_env, "track").read_text()
    for secret in (new.track_api_key, old.track_api_key, CANARY):
        assert secret not in state_text
        assert secret not in seen
    # resume until done, deleting the old key set when asked to
    for _ in range(3):
        code, out, err = _finish("--resume", "--new-key-stdin", "--yes", stdin=pair)
        assert "Traceback" not in err
        assert new.track_api_key not in out + err
        if code == 0:
            break
        assert code == 5, err
        _revoke_if_live(sandbox, old.site_id)  # the operator deletes it when told
    assert code == 0, err
    assert not state_file(hermetic_env, "track").exists()
    values = dotenv_values(env_path)
    assert values["CUSTOMERIO_SITE_ID"] == new.site_id
    assert values["CUSTOMERIO_TRACK_API_KEY"] == new.track_api_key
    assert values["CUSTOMERIO_TRACK_API_KEY_PREVIOUS"] == old.track_api_key
    assert values["CUSTOMERIO_SITE_ID_PREVIOUS"] == old.site_id
    records = rotation_records(hermetic_env)
    assert sorted((r["credential"], r["fingerprint"]) for r in records) == [
        ("site_id", fingerprint(new.site_id)),
        ("track_api_key", fingerprint(new.track_api_key)),
    ]


def _revoke_if_live(sandbox: Sandbox, site_id: str) -> None:
    with contextlib.suppress(KeyError):
        sandbox.revoke_track_keys(site_id)
