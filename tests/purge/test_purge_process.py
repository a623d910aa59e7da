"""``cio-sec erase --attributes`` as a real process: SIGKILL in the middle, then resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import pytest

from cio_sec.sandbox import Sandbox
from cio_sec.trail import read_lines
from tests.purge.test_purge_cli import HOLDERS, _by_id, _populate
from tests.support.schemas import parse_document

pytestmark = pytest.mark.slow

PROGRAM = str(Path(sys.executable).parent / "cio-sec")
PSEUDONYM_KEY = "purge-process-test-pseudonym-key-0123456789"


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch: pytest.MonkeyPatch, watched_secrets: set[str]) -> None:
    """Subprocesses cannot see the in-memory keyring: the key comes from the environment."""
    monkeypatch.setenv("CIO_SEC_PSEUDONYM_KEY", PSEUDONYM_KEY)
    watched_secrets.add(PSEUDONYM_KEY)


def _purge_args(rate: str) -> list[str]:
    return [
        *(PROGRAM, "erase", "--attributes", "ssn", "--all-matching", "--ticket", "INC-9"),
        *("--yes", "-f", "json", "--rate", rate, "--verify-rate", "1000"),
    ]


def _puts(sandbox: Sandbox) -> int:
    return sum(1 for request in sandbox.requests() if request.method == "PUT")


def test_a_sigkill_in_the_middle_resumes_to_the_same_end_state(sandbox: Sandbox) -> None:
    holders = _populate(sandbox)
    before = _by_id(sandbox)
    process = subprocess.Popen(
        _purge_args("40"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 60
        while _puts(sandbox) < 30 and process.poll() is None:
            assert time.monotonic() < deadline, "timed out waiting for the purge to start"
            time.sleep(0.01)
        assert process.poll() is None, "the purge finished before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.communicate()
    assert 30 <= _puts(sandbox) < HOLDERS
    listed = subprocess.run(
        [PROGRAM, "erase", "--status", "--attributes", "ssn", "-f", "json"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=True,
    )
    # the killed process holds no lock any more: not "running" forever
    assert [job["status"] for job in parse_document(listed.stdout)["jobs"]] == ["interrupted"]
    final = subprocess.run(
        _purge_args("2000"),
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert final.returncode == 0, final.stderr
    doc = parse_document(final.stdout)
    assert "resuming purge" in final.stderr
    assert doc["counts"]["purged"] == HOLDERS
    assert doc["counts"]["verified"] == HOLDERS
    after = _by_id(sandbox)
    assert set(after) == set(before)
    for person_id, person in after.items():
        expected = dict(before[person_id]["attributes"])
        if person_id in holders:
            del expected["ssn"]
        assert person["attributes"] == expected
    records = [
        line.record
        for line in read_lines(Path(os.environ["XDG_STATE_HOME"]) / "cio-sec" / "audit.jsonl")
        if line.record and line.record.get("job") == doc["job"]
    ]
    actions = Counter(
        cast("str", r["subject"]) for r in records if r["type"] == "action"
    )  # one record per person, however the run was cut
    assert len(actions) == HOLDERS
    assert set(actions.values()) == {1}
    verified = subprocess.run(
        [PROGRAM, "audit", "log", "verify", "-f", "json"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    document: dict[str, Any] = parse_document(verified.stdout)
    assert document["ok"] is True


@pytest.mark.parametrize(
    ("signum", "fmt"), [(signal.SIGTERM, "text"), (signal.SIGHUP, "json")], ids=["term", "hup"]
)
def test_sigterm_stops_the_purge_resumably(
    sandbox: Sandbox, signum: signal.Signals, fmt: str
) -> None:
    """SIGTERM, or SIGHUP when the terminal closes: stopped, resumable, exit 5."""
    _populate(sandbox)
    args = [arg for arg in _purge_args("40") if arg not in ("-f", "json")]
    args += ["-f", fmt]
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        deadline = time.monotonic() + 60
        while _puts(sandbox) < 10 and process.poll() is None:
            assert time.monotonic() < deadline, "timed out waiting for the purge to start"
            time.sleep(0.01)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 5, stderr
    if fmt == "text":
        assert ": stopped" in stdout
        assert "stopped: run the same command again to resume the purge" in stderr
        return
    document: dict[str, Any] = parse_document(stdout)
    assert (document["ok"], document["status"]) == (False, "stopped")
    assert document["error"]["exit_code"] == 5
    assert document["error"]["message"].endswith(" stopped")
    assert document["error"]["hint"] == "run the same command again to resume"
