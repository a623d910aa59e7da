"""``cio-sec erase`` as a real process: SIGKILL and resume, signals, the job lock, 401."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest

from cio_sec.errors import ExitCode
from cio_sec.pseudonym import PseudonymKey
from cio_sec.sandbox import Faults, Sandbox
from cio_sec.trail import read_lines, verify_chain
from tests.support.cli import CliHarness
from tests.support.hostile import fill, full_filesystem
from tests.support.schemas import parse_document

pytestmark = pytest.mark.slow

PROGRAM = str(Path(sys.executable).parent / "cio-sec")
PSEUDONYM_KEY = "process-test-pseudonym-key-0123456789"
KEY = PseudonymKey.from_text(PSEUDONYM_KEY)


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch: pytest.MonkeyPatch, watched_secrets: set[str]) -> None:
    """Subprocesses cannot see the in-memory keyring: the key comes from the environment."""
    monkeypatch.setenv("CIO_SEC_PSEUDONYM_KEY", PSEUDONYM_KEY)
    watched_secrets.add(PSEUDONYM_KEY)


def _state() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "cio-sec"


def _ids(path: Path, prefix: str, count: int) -> tuple[Path, list[str]]:
    values = [f"{prefix}-{n:05d}" for n in range(count)]
    path.write_text("id\n" + "\n".join(values) + "\n")
    return path, values


@contextmanager
def _erase(*args: str, fmt: str = "json") -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [PROGRAM, "erase", *args, "--yes", "-f", fmt],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def _wait(condition: Callable[[], bool], timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _erasing_requests(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.requests() if r.method != "GET")


def _actions(job: str) -> list[dict[str, Any]]:
    return [
        line.record
        for line in read_lines(_state() / "audit.jsonl")
        if line.record and line.record["type"] == "action" and line.record["job"] == job
    ]


def test_sigkill_at_random_points_then_resume(sandbox: Sandbox) -> None:
    count = 3000
    ids, values = _ids(Path("ids.csv"), "kp", count)
    for value in values:  # suppressing nobody changes nothing
        sandbox.add_person(value)
    rng = random.Random(20261129)
    kills = 0
    for run in range(5):
        api = "v1" if run % 2 == 0 else "batch"
        before = _erasing_requests(sandbox)
        wanted = rng.randint(20, 150) if api == "v1" else rng.randint(1, 6)
        # Slow enough that a batch run (60 requests in all) is still going when killed.
        rate = "2000" if api == "v1" else "20"
        with _erase("--file", str(ids), "--api", api, "--rate", rate) as process:
            target = before + wanted
            _wait(lambda: _erasing_requests(sandbox) >= target or process.poll() is not None)  # noqa: B023 - used at once
            assert process.poll() is None, "the run finished before it could be killed"
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
    assert kills == 5
    # nobody holds the job any more: --status says so, instead of "running" forever
    status = parse_document(
        subprocess.run(
            [PROGRAM, "erase", "--status", "-f", "json"],
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=60,
            check=True,
        ).stdout
    )
    assert [job["status"] for job in status["jobs"]] == ["interrupted"]
    final = subprocess.run(
        [
            *(PROGRAM, "erase", "--file", str(ids), "--api", "batch", "--yes", "-f", "json"),
            *("--verify-rate", "1000"),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )
    assert final.returncode == 0, final.stderr
    doc = parse_document(final.stdout)
    assert "resuming job" in final.stderr
    assert doc["counts"] == {
        "people": count,
        "erased": count,
        "failed": 0,
        "invalid": 0,
        "left": 0,
        "verified": count,
        "still_present": 0,
        "unverified": 0,
        "to_verify": 0,
    }
    people = sandbox.people()
    assert set(values) <= set(cast("list[str]", people["suppressed"]))
    assert set(values) <= set(cast("list[str]", people["deleted"]))
    # The journal is complete and holds no plaintext identifier any more.
    journal = _state() / "jobs" / f"{doc['job']}.sqlite"
    with sqlite3.connect(journal) as db:
        stages = dict(db.execute("SELECT stage, count(*) FROM people GROUP BY stage").fetchall())
        assert stages == {2: count}
        assert db.execute(
            "SELECT count(*) FROM people WHERE identifier IS NOT NULL"
        ).fetchone() == (0,)
    db.close()
    for path in journal.parent.iterdir():
        assert b"kp-" not in path.read_bytes(), path
    # The trail: exactly one final outcome per person and action, a verified chain, no PII.
    actions = _actions(doc["job"])
    per_action = Counter((a["subject"], a["action"]) for a in actions)
    assert set(per_action.values()) == {1}
    assert {subject for subject, _ in per_action} == {KEY.pseudonym(v) for v in values}
    assert len(per_action) == 2 * count
    assert all(a["outcome"] == "done" for a in actions)
    report = verify_chain(_state() / "audit.jsonl", {KEY.key_id: KEY})
    assert report.ok, report.first_break
    assert b"kp-" not in (_state() / "audit.jsonl").read_bytes()


def test_the_next_job_removes_the_copy_of_stdin_a_killed_run_left(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    data = "id\n" + "".join(f"sp-{n:05d}\n" for n in range(200))
    process = subprocess.Popen(
        [PROGRAM, "erase", "--file", "-", "--yes", "--api", "v1", "--rate", "20"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ),
    )
    assert process.stdin is not None
    process.stdin.write(data)
    process.stdin.close()
    try:
        _wait(lambda: _erasing_requests(sandbox) >= 5)
    finally:
        process.kill()
        process.wait()
    jobs = _state() / "jobs"
    assert len(list(jobs.glob("stdin-*"))) == 1  # a killed run cannot clean up after itself
    run_cli("erase", "--id", "other-person", "--yes")
    assert list(jobs.glob("stdin-*")) == []


def test_a_second_run_of_a_job_is_refused_and_signals_stop_it(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    ids, values = _ids(Path("ids.csv"), "lk", 40)
    for value in values:  # suppressing nobody changes nothing
        sandbox.add_person(value)
    lock = _state() / "jobs"
    runs = (
        (signal.SIGINT, ExitCode.INTERRUPTED, "json"),
        (signal.SIGTERM, ExitCode.PARTIAL, "text"),
        (signal.SIGHUP, ExitCode.PARTIAL, "text"),  # the terminal was closed
    )
    for signum, code, fmt in runs:
        before = _erasing_requests(sandbox)
        with _erase("--file", str(ids), "--rate", "10", "--concurrency", "2", fmt=fmt) as process:
            _wait(lambda: _erasing_requests(sandbox) >= before + 4)  # noqa: B023 - used at once
            out = run_cli("erase", "--file", str(ids), "--yes", expect=ExitCode.CONFIG)
            assert f"already running in process {process.pid}" in out.stderr
            assert list(lock.glob("*.lock"))
            running = run_cli("erase", "--status", "-f", "json").json["jobs"]
            assert [job["status"] for job in running] == ["running"]  # its holder is alive
            process.send_signal(signum)
            stdout, stderr = process.communicate(timeout=30)
            assert process.returncode == code, stderr
            if fmt == "text":
                assert "stopped" in stdout
                assert "stopped: run the same command again to resume the job" in stderr
                continue
            doc = parse_document(stdout)
            assert doc["status"] == "stopped"
            assert 0 < doc["counts"]["erased"] < 40
            assert doc["error"] == {
                "exit_code": ExitCode.INTERRUPTED,
                "type": "Interrupted",
                "message": f"job {doc['job']} stopped",
                "hint": "run the same command again to resume",
            }
    done = run_cli("erase", "--file", str(ids), "--yes", "-f", "json")
    assert done.json["counts"]["erased"] == 40
    assert set(values) <= set(cast("list[str]", sandbox.people()["suppressed"]))
    ends = [
        line.record["status"]
        for line in read_lines(_state() / "audit.jsonl")
        if line.record and line.record["type"] == "job-end"
    ]
    assert ends == ["stopped", "stopped", "stopped", "completed"]
    per_action = Counter((a["subject"], a["action"]) for a in _actions(done.json["job"]))
    assert set(per_action.values()) == {1}


def test_401_mid_run_stops_with_exit_3_and_resumes_with_new_keys(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, values = _ids(Path("ids.csv"), "rv", 60)
    for value in values:  # suppressing nobody changes nothing
        sandbox.add_person(value)
    with _erase("--file", str(ids), "--rate", "20", "--concurrency", "2") as process:
        _wait(lambda: _erasing_requests(sandbox) >= 10)
        sandbox.revoke_track_keys(sandbox.info.site_id)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == ExitCode.CONFIG
        assert "rejected the Track API credentials" in stderr
        assert "run the same command again to resume" in stderr
    erased_before = {
        r.identifier for r in sandbox.requests() if r.method == "DELETE" and r.status == 200
    }
    keys = sandbox.add_track_keys(workspace_id=1001)
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", keys.site_id)
    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", keys.track_api_key)
    run_cli.watched.add(keys.track_api_key)
    out = run_cli("erase", "--file", str(ids), "--yes", "-f", "json")
    assert "resuming job" in out.stderr
    assert out.json["counts"]["erased"] == 60
    assert set(values) <= set(cast("list[str]", sandbox.people()["suppressed"]))
    assert erased_before
    per_action = Counter((a["subject"], a["action"]) for a in _actions(out.json["job"]))
    assert set(per_action.values()) == {1}
    assert len(per_action) == 120


def _read_backs(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.requests() if r.path.endswith("/attributes"))


def _trail_verifications() -> int:
    trail = _state() / "audit.jsonl"
    return trail.read_text().count('"type":"verification"') if trail.exists() else 0


def _verifications(job: str) -> list[dict[str, Any]]:
    return [
        line.record
        for line in read_lines(_state() / "audit.jsonl")
        if line.record and line.record["type"] == "verification" and line.record["job"] == job
    ]


def test_sigkill_while_verifying_then_resume_verifies_everyone_once(sandbox: Sandbox) -> None:
    count = 60
    ids, values = _ids(Path("ids.csv"), "kv", count)
    for value in values:
        sandbox.add_person(value)
    # Deletions show late, so the read-backs are still going (and rescheduled) when killed.
    sandbox.set_faults(Faults(delete_lag_ms=2500))
    slow = ("--verify-rate", "15", "--verify-window", "60")
    with _erase("--file", str(ids), *slow) as process:
        _wait(lambda: _trail_verifications() >= 5 or process.poll() is not None)
        assert process.poll() is None, "the run finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert _erasing_requests(sandbox) == 2 * count  # erasing was done; verifying was not
    assert 5 <= _trail_verifications() < count
    final = subprocess.run(
        [PROGRAM, "erase", "--file", str(ids), "--yes", "-f", "json", *slow],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )
    assert final.returncode == 0, final.stderr
    doc = parse_document(final.stdout)
    assert "resuming job" in final.stderr
    assert doc["counts"]["verified"] == count
    assert _erasing_requests(sandbox) == 2 * count  # nobody erased twice
    checks = _verifications(doc["job"])
    assert Counter(c["subject"] for c in checks) == Counter(KEY.pseudonym(v) for v in values)
    assert {c["outcome"] for c in checks} == {"verified"}
    report = verify_chain(_state() / "audit.jsonl", {KEY.key_id: KEY})
    assert report.ok, report.first_break


def test_a_trail_that_fills_up_while_reading_back_stops_the_job_resumably(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    count = 30
    ids, values = _ids(Path("ids.csv"), "tf", count)
    for value in values:
        sandbox.add_person(value)
    sandbox.set_faults(Faults(delete_lag_ms=2000))  # outcomes come after the erasing is done
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "cio-sec"
    config.mkdir(parents=True, exist_ok=True)
    with full_filesystem(tmp_path / "disk", size_kib=512) as disk:
        trail = disk / "audit.jsonl"
        (config / "config.toml").write_text(f'[profiles.default]\naudit_log = "{trail}"\n')
        slow = ("--verify-rate", "50", "--verify-window", "30")
        with _erase("--file", str(ids), *slow) as process:
            _wait(lambda: _erasing_requests(sandbox) >= 2 * count and _read_backs(sandbox) > 0)
            time.sleep(0.5)  # the last action records are flushed; read-backs still lag
            fill(disk)
            _, stderr = process.communicate(timeout=60)
        assert process.returncode == ExitCode.CONFIG, stderr
        assert "run the same command again to resume" in stderr
        (disk / ".filler").unlink()
        final = subprocess.run(
            [PROGRAM, "erase", "--file", str(ids), "--yes", "-f", "json", *slow],
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=60,
            check=False,
        )
        assert final.returncode == 0, final.stderr
        assert parse_document(final.stdout)["counts"]["verified"] == count
        checks = [
            line.record["subject"]
            for line in read_lines(trail)
            if line.record and line.record["type"] == "verification"
        ]
        assert Counter(checks) == Counter(KEY.pseudonym(v) for v in values)
    assert _erasing_requests(sandbox) == 2 * count


def test_the_evidence_lists_every_run_of_a_job_earliest_first(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    ids, values = _ids(Path("ids.csv"), "ev", 60)
    for value in values:
        sandbox.add_person(value)
    args = ("--file", str(ids), "--ticket", "GDPR-77", "--api", "v1")
    with _erase(*args, "--rate", "20") as process:
        _wait(lambda: _erasing_requests(sandbox) >= 6)
        process.send_signal(signal.SIGKILL)
        process.wait()
    with _erase(*args, "--rate", "20", fmt="text") as process:
        _wait(lambda: _erasing_requests(sandbox) >= 30)
        process.send_signal(signal.SIGTERM)
        process.wait()
    run_cli("erase", *args, "--yes", "--verify-rate", "1000")
    evidence = run_cli("audit", "log", "export", "--ticket", "GDPR-77", "-f", "json").json
    (job,) = evidence["jobs"]
    runs = job["runs"]
    assert [run["status"] for run in runs] == ["interrupted", "stopped", "completed"]
    assert [run["resumed"] for run in runs] == [False, True, True]
    assert runs[0]["ended"] is None
    assert runs == sorted(runs, key=lambda run: run["started"])
    assert runs[-1]["counts"]["erased"] == 60
    actions = [a for subject in evidence["subjects"] for a in subject["actions"]]
    assert job["started"] == runs[0]["started"]
    assert all(job["started"] <= action["ts"] for action in actions)  # no action before it
    markdown = run_cli("audit", "log", "export", "--ticket", "GDPR-77").stdout
    assert "## Runs (earliest first)" in markdown
    rows = [line for line in markdown.splitlines() if line.startswith(f"| {job['job']} | ")]
    assert [row.split(" | ")[4] for row in rows[1:]] == ["interrupted", "stopped", "completed"]
