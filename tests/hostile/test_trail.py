"""The audit trail and rotation records on a full disk and under a file-size limit.

Real surroundings only: a small tmpfs that really fills up, and RLIMIT_FSIZE in a child
process, where a write past the limit is cut short and the next one fails (EFBIG).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cio_sec.audit.report import Status
from cio_sec.audit.trail_check import check_trail
from cio_sec.errors import ConfigError, ExitCode
from cio_sec.pseudonym import PseudonymKey
from cio_sec.rotate.key_ages import (
    FILE_NAME,
    RotationRecord,
    read_rotations,
    record_rotation,
)
from cio_sec.sandbox import Sandbox
from cio_sec.trail import TrailWriteError, TrailWriter, read_lines, verify_chain
from tests.conftest import CANARY
from tests.support.apps import load_profile
from tests.support.cli import CliHarness
from tests.support.hostile import fill, full_filesystem, run_with_file_size_limit
from tests.support.trails import Person as TrailPerson
from tests.support.trails import erase_trail

pytestmark = pytest.mark.slow

KEY = PseudonymKey.from_text(CANARY)
KEYS = {KEY.key_id: KEY}
PEOPLE = 400


@pytest.fixture(autouse=True)
def limited_children(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child under a file-size limit writes no .pyc files and no coverage data.

    Both would be cut off by the limit too, leaving damaged files for the next run.
    """
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    for name in ("COVERAGE_RUN", "COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START"):
        monkeypatch.delenv(name, raising=False)


def _profile(**values: object) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "cio-sec"
    config.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{name} = {json.dumps(value)}\n" for name, value in values.items())
    (config / "config.toml").write_text(f"[profiles.default]\n{lines}")


def _ids(count: int) -> Path:
    path = Path("ids.csv")
    path.write_text("id\n" + "".join(f"person-{n:04d}\n" for n in range(count)))
    return path


def _actions(trail: Path) -> list[dict[str, object]]:
    return [
        line.record
        for line in read_lines(trail)
        if line.record is not None and line.record["type"] == "action"
    ]


def test_a_full_disk_under_the_trail_stops_the_job_and_loses_no_record(
    run_cli: CliHarness, sandbox: Sandbox, tmp_path: Path
) -> None:
    with full_filesystem(tmp_path / "disk", size_kib=1024) as disk:
        trail = disk / "audit.jsonl"
        _profile(audit_log=str(trail), rate=1000, verify_rate=1000)
        fill(disk, leave=64 * 1024)
        ids = _ids(PEOPLE)
        first = run_cli("erase", "--file", str(ids), "--yes", expect=ExitCode.CONFIG)
        assert f"error: cannot write the audit trail {trail}: No space left on device" in (
            first.stderr
        )
        assert "run the same command again to resume" in first.stderr
        # It stopped at once: far from everyone was sent, and nothing claims completion.
        sent = [r for r in sandbox.requests() if r.method != "GET"]
        assert 0 < len(sent) < PEOPLE  # of 2 * PEOPLE requests
        torn = not trail.read_bytes().endswith(b"\n")
        types = [line.record["type"] for line in read_lines(trail) if line.record]
        assert "job-end" not in types

        (disk / ".filler").unlink()  # room again
        second = run_cli("erase", "--file", str(ids), "--yes", "-f", "json")
        assert second.json["status"] == "completed"
        assert second.json["counts"]["erased"] == PEOPLE

        actions = _actions(trail)
        assert len(actions) == 2 * PEOPLE  # every outcome recorded, none twice
        assert set(Counter((a["subject"], a["action"]) for a in actions).values()) == {1}
        assert len({a["run"] for a in actions}) == 1
        verified = run_cli("audit", "log", "verify", str(trail), "-f", "json")
        assert verified.json["verified"] is True
        # NOTE: the disk fills at a page boundary; that it ends a line exactly is possible
        # (about one chance in 400, depending on the host name in job-start), and then
        # there is nothing to recover.
        assert len(verified.json["recovered"]) == int(torn)


def _padded_trail(path: Path, kib: int) -> int:
    """A trail of ``kib`` records of about 1 KiB: larger than any other file erase writes."""
    TrailWriter(path, KEY).append([{"type": "note", "padding": "x" * 1000}] * kib)
    return path.stat().st_size


def test_a_file_size_limit_cuts_job_start_and_the_next_run_recovers(
    run_cli: CliHarness, sandbox: Sandbox, tmp_path: Path
) -> None:
    trail = tmp_path / "audit.jsonl"
    _profile(audit_log=str(trail), verify_rate=1000)
    before = _padded_trail(trail, 6 * 1024)  # larger than the journal ever gets
    os.environ["CIO_SEC_PSEUDONYM_KEY"] = CANARY  # a child cannot see the memory keyring
    ids = _ids(3)
    limited = run_with_file_size_limit(
        ["erase", "--file", str(ids), "--yes"], limit_bytes=before + 100
    )
    assert limited.returncode == ExitCode.CONFIG, limited.stderr
    assert f"cannot write the audit trail {trail}: File too large" in limited.stderr
    assert "Traceback" not in limited.stderr
    assert trail.stat().st_size == before + 100  # job-start was cut off after 100 bytes
    erasing = [r for r in sandbox.requests() if r.method != "GET"]
    assert erasing == []  # nothing is sent before job-start is written

    done = run_cli("erase", "--file", str(ids), "--yes", "-f", "json")
    assert done.json["counts"]["erased"] == 3
    verified = run_cli("audit", "log", "verify", str(trail))
    assert "chain verifies" in verified.stdout
    cut = 6 * 1024 + 1  # the line after the padding
    assert f"warning: {trail}: line {cut}: a write cut off by a crash or a full disk (101 " in (
        verified.stderr
    )
    report = verify_chain(trail, KEYS)
    assert [(w.first_line, w.record) for w in report.recovered] == [(cut, cut)]


_APPEND = """
import sys
from pathlib import Path
from cio_sec.audit.report import Status
from cio_sec.audit.trail_check import check_trail
from cio_sec.trail import TrailWriter
from cio_sec.errors import CioSecError
from cio_sec.pseudonym import PseudonymKey
log = TrailWriter(Path(sys.argv[1]), PseudonymKey.from_text(sys.argv[2]))
try:
    log.append([{"type": "action", "n": n} for n in range(int(sys.argv[3]))])
except CioSecError as exc:
    print(type(exc).__name__, exc.message, file=sys.stderr)
    sys.exit(int(exc.exit_code))
"""


def _limited(args: list[str], limit: int) -> subprocess.CompletedProcess[str]:
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-c", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        preexec_fn=preexec,  # the limit is set in the child only
        timeout=60,
        check=False,
    )


def test_a_short_write_is_an_error_and_the_records_after_it_are_never_counted(
    tmp_path: Path,
) -> None:
    trail = tmp_path / "audit.jsonl"
    TrailWriter(trail, KEY).append([{"type": "job-start"}])
    size = trail.stat().st_size
    # 50 records of about 200 bytes: the write stops 1,000 bytes in, mid-record.
    result = _limited([_APPEND, str(trail), CANARY, "50"], size + 1000)
    assert result.returncode == ExitCode.CONFIG
    assert f"TrailWriteError cannot write the audit trail {trail}: File too large" in result.stderr
    assert trail.stat().st_size == size + 1000
    written = [line.record for line in read_lines(trail) if line.record is not None]
    intact = len(written)
    assert 1 < intact < 51

    TrailWriter(trail, KEY).append([{"type": "action", "n": "again"}])
    report = verify_chain(trail, KEYS)
    assert report.ok
    assert report.records == intact + 2  # the recovery record, then the new one
    assert len(report.recovered) == 1


def test_a_full_disk_raises_trail_write_error(tmp_path: Path) -> None:
    with full_filesystem(tmp_path / "disk", size_kib=64) as disk:
        trail = disk / "audit.jsonl"
        log = TrailWriter(trail, KEY)
        log.append([{"type": "job-start"}])
        fill(disk)
        with pytest.raises(TrailWriteError, match="No space left on device") as caught:
            log.append([{"type": "action", "padding": "y" * 8192}])
        assert caught.value.exit_code == ExitCode.CONFIG
        (disk / ".filler").unlink()
        log.append([{"type": "action"}])
        assert verify_chain(trail, KEYS).ok


# --------------------------------------------------------------------------- rotation records


def _rotation(credential: str) -> RotationRecord:
    when = datetime(2026, 11, 1, 9, 30, tzinfo=timezone.utc)
    return RotationRecord("prod", credential, "track", when, "ab" * 8)


def test_rotation_records_on_a_full_disk_fail_clearly_and_the_next_one_is_readable(
    tmp_path: Path,
) -> None:
    with full_filesystem(tmp_path / "state", size_kib=64) as state:
        record_rotation(state, _rotation("site_id"))
        path = state / FILE_NAME
        path.write_bytes(path.read_bytes() + b'{"profile": "prod", "cred')  # a torn write
        fill(state)
        with pytest.raises(ConfigError, match=f"cannot write the rotation record to {path}"):
            record_rotation(state, _rotation("track_api_key" * 400))
        (state / ".filler").unlink()
        record_rotation(state, _rotation("app_api_key"))
        assert [r.credential for r in read_rotations(state)] == ["site_id", "app_api_key"]


_ROTATION = """
import sys
from datetime import datetime, timezone
from pathlib import Path
from cio_sec.errors import CioSecError
from cio_sec.rotate.key_ages import RotationRecord, record_rotation
record = RotationRecord("prod", sys.argv[2], "track", datetime.now(timezone.utc), "cd" * 8)
try:
    record_rotation(Path(sys.argv[1]), record)
except CioSecError as exc:
    print(exc.message, file=sys.stderr)
    sys.exit(int(exc.exit_code))
"""


def test_rotation_records_under_a_file_size_limit(tmp_path: Path) -> None:
    record_rotation(tmp_path, _rotation("site_id"))
    path = tmp_path / FILE_NAME
    size = path.stat().st_size
    result = _limited([_ROTATION, str(tmp_path), "track_api_key"], size + 40)
    assert result.returncode == ExitCode.CONFIG
    assert f"cannot write the rotation record to {path}: File too large" in result.stderr
    assert path.stat().st_size == size + 40  # cut off mid-line
    record_rotation(tmp_path, _rotation("app_api_key"))
    assert [r.credential for r in read_rotations(tmp_path)] == ["site_id", "app_api_key"]
    assert json.loads(path.read_text().splitlines()[-1])["credential"] == "app_api_key"


# --------------------------------------------------------------------------- forged records


def test_a_forged_duplicate_key_fails_audit_log_verify(run_cli: CliHarness) -> None:
    settings, _ = load_profile()
    erase_trail(settings.audit_log, KEY, [TrailPerson("a@example.com"), TrailPerson("b@x.io")])
    rows = settings.audit_log.read_text().splitlines(keepends=True)
    rows[2] = '{"outcome":"failed","subject":"FORGED",' + rows[2][1:]
    settings.audit_log.write_text("".join(rows))
    out = run_cli("audit", "log", "verify", expect=ExitCode.CHECK_FAILED)
    assert f"{settings.audit_log}:3: the key 'subject' appears twice in one object" in out.stdout
    shown = run_cli("audit", "log", "show", "-f", "json", expect=ExitCode.CHECK_FAILED).json
    assert "FORGED" not in json.dumps(shown["records"])  # never shown as a record either


def test_the_audit_check_passes_a_recovered_trail_and_says_so() -> None:
    settings, opener = load_profile()
    erase_trail(settings.audit_log, KEY, [TrailPerson("a@example.com")])
    with settings.audit_log.open("a") as handle:
        handle.write('{"type":"action","jo')
    TrailWriter(settings.audit_log, KEY).append([{"type": "note"}])
    result = check_trail(settings, opener)
    assert result.status is Status.PASS
    assert "6 records, chain verifies, 1 torn write(s) recovered" in result.evidence
