"""``sanitize`` in hostile surroundings: a full disk, a kill, stale pseudonyms, bad bytes."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.errors import ExitCode, InputError
from cio_sec.pseudonym import IdentifierKind, PseudonymKey
from cio_sec.sanitize.formats import InputFormat, read_document
from tests.conftest import CANARY
from tests.support.cli import CliHarness
from tests.support.hostile import fill, full_filesystem, run_with_file_size_limit

pytestmark = pytest.mark.slow

KEY = PseudonymKey.from_text(CANARY)  # the memory keyring's pseudonym_key
RECORD = '{"phone": "+1 555 0100", "notes": "card 4111111111111111", "plan": "pro"}\n'


def _people(path: Path, count: int) -> Path:
    path.write_text(RECORD * count)
    return path


# --------------------------------------------------------------------------- full disk


def test_a_full_disk_is_exit_3_naming_the_file_and_the_old_file_is_kept(
    run_cli: CliHarness, tmp_path: Path
) -> None:
    people = _people(tmp_path / "people.ndjson", 2_000)  # far more than the disk holds
    with full_filesystem(tmp_path / "disk", size_kib=64) as disk:
        target = disk / "clean.ndjson"
        target.write_text("yesterday's run\n")
        fill(disk, leave=8192)  # room to start writing, not to finish
        outcome = run_cli("sanitize", str(people), "-o", str(target), expect=ExitCode.CONFIG)
        assert outcome.stderr.startswith(
            f"error: {target}: cannot write: No space left on device; the file was left as it was"
        )
        assert "hint: free some space" in outcome.stderr
        assert target.read_text() == "yesterday's run\n"
        assert sorted(p.name for p in disk.iterdir()) == [".filler", "clean.ndjson"]


def test_a_file_size_limit_is_exit_3_and_leaves_no_temporary(tmp_path: Path) -> None:
    """The same without root: RLIMIT_FSIZE makes the write fail with EFBIG."""
    people = _people(tmp_path / "people.ndjson", 2_000)
    target = tmp_path / "out" / "clean.ndjson"
    target.parent.mkdir()
    env = dict(os.environ)
    env["CIO_SEC_PSEUDONYM_KEY"] = CANARY
    result = run_with_file_size_limit(
        ["sanitize", str(people), "-o", str(target)], limit_bytes=16_384, env=env
    )
    assert result.returncode == ExitCode.CONFIG, result.stderr
    assert f"{target}: cannot write: File too large" in result.stderr
    assert "Traceback" not in result.stderr
    assert CANARY not in result.stderr
    assert list(target.parent.iterdir()) == []


def test_stdout_redirected_to_a_full_disk_is_exit_3(run_cli: CliHarness, tmp_path: Path) -> None:
    """``sanitize in > /full/out``: the write error reaches the boundary as ENOSPC."""
    people = _people(tmp_path / "people.ndjson", 2_000)
    with full_filesystem(tmp_path / "disk", size_kib=64) as disk:
        fill(disk, leave=0)
        with (disk / "out.ndjson").open("w") as out:
            env = {**os.environ, "CIO_SEC_PSEUDONYM_KEY": CANARY}
            result = subprocess.run(
                [sys.executable, "-m", "cio_sec", "sanitize", str(people)],
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                timeout=60,
                check=False,
            )
    assert result.returncode == ExitCode.CONFIG, result.stderr
    assert result.stderr.startswith("error: cannot write a file: No space left on device")
    assert "Traceback" not in result.stderr


# ----------------------------------------------------------------------------- SIGTERM


def test_sigterm_mid_run_removes_the_temporary_file(tmp_path: Path) -> None:
    """A real SIGTERM while records are flowing: exit 130, no temporary, old file kept."""
    directory = tmp_path / "out"
    directory.mkdir()
    target = directory / "clean.ndjson"
    target.write_text("yesterday's run\n")
    env = {**os.environ, "CIO_SEC_PSEUDONYM_KEY": CANARY}
    process = subprocess.Popen(
        [sys.executable, "-m", "cio_sec", "sanitize", "-", "--input-format=ndjson", f"-o{target}"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None
    try:
        process.stdin.write(RECORD.encode() * 20_000)  # 1.5 MB, and more could follow
        process.stdin.flush()
        temporary = _wait_for_temporary(directory)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == ExitCode.INTERRUPTED, stderr
    assert b"error: interrupted" in stderr
    assert not temporary.exists()
    assert [p.name for p in directory.iterdir()] == ["clean.ndjson"]
    assert target.read_text() == "yesterday's run\n"


def _wait_for_temporary(directory: Path) -> Path:
    """The temporary output, once it holds sanitised records (bounded: 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for path in directory.glob(".clean.ndjson.*.tmp"):
            if path.stat().st_size > 0:
                return path
        time.sleep(0.05)
    pytest.fail("sanitize never started writing its temporary file")


# ------------------------------------------------------------- stale pseudonym columns


def test_an_existing_hash_attribute_replaced_by_a_pseudonym_is_a_warning(
    run_cli: CliHarness, tmp_path: Path
) -> None:
    people = tmp_path / "people.ndjson"
    people.write_text(
        '{"phone": "+1 555 0100", "phone_hash": "from-another-system"}\n'
        '{"phone": "+1 555 0101"}\n'
        '{"contact": {"phone": "1", "phone_hash": "x"}}\n'
    )
    outcome = run_cli("sanitize", str(people), "-o", str(tmp_path / "clean.ndjson"), "--report")
    assert (
        "warning: phone_hash already existed in 1 record(s): the pseudonym of phone replaced "
        "it, losing its old value" in outcome.stderr
    )
    assert "warning: contact.phone_hash already existed in 1 record(s)" in outcome.stderr
    assert "phone_hash   overwrite" in outcome.stderr
    first = json.loads((tmp_path / "clean.ndjson").read_text().splitlines()[0])
    assert first == {"phone_hash": KEY.pseudonym("+1 555 0100", IdentifierKind.PHONE)}
    document = run_cli("sanitize", str(people), "-o", str(tmp_path / "c2"), "-f", "json").json
    assert {"attribute": "phone_hash", "action": "overwrite", "count": 1} in document["attributes"]
    assert any("phone_hash already existed" in w for w in document["warnings"])


def test_check_refuses_a_stale_hash_attribute_naming_its_path(
    run_cli: CliHarness, tmp_path: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text("phone,phone_hash,plan\n+1 555 0100,old,pro\n")
    outcome = run_cli("sanitize", str(people), "--check", expect=ExitCode.CHECK_FAILED)
    assert "phone_hash   overwrite" in outcome.stdout
    assert "the pseudonym of phone would replace it" in outcome.stderr


def test_a_hash_attribute_that_is_itself_pseudonymised_is_no_overwrite(
    run_cli: CliHarness, tmp_path: Path
) -> None:
    """``phone_hash`` moves to ``phone_hash_hash`` under a rule for it: nothing is lost."""
    policy = tmp_path / "policy.toml"
    policy.write_text('[rules]\nphone_hash = { action = "pseudonymise", normalise = "text" }\n')
    people = tmp_path / "people.ndjson"
    people.write_text('{"phone": "1", "phone_hash": "x"}\n')
    outcome = run_cli("sanitize", str(people), "--policy", str(policy), "--check", expect=1)
    assert "overwrite" not in outcome.stdout
    assert "already existed" not in outcome.stderr


# -------------------------------------------------------------------- bytes not UTF-8


def test_a_csv_byte_that_is_not_utf8_is_reported_at_its_line(
    run_cli: CliHarness, tmp_path: Path
) -> None:
    """Far past the first 8 KiB chunk, and after a quoted field spanning two lines."""
    rows = b"a@example.com,pro\n" * 5_000
    data = b'email,plan\n"multi\nline",x\n' + rows + b"b@example.com,\xff\xfe\n" + rows
    path = tmp_path / "people.csv"
    path.write_bytes(data)
    outcome = run_cli("sanitize", str(path), "-o", str(tmp_path / "o.csv"), expect=2)
    assert outcome.stderr.startswith(f"error: {path}:5004: invalid CSV: not valid UTF-8")
    skipped = run_cli("sanitize", str(path), "-o", str(tmp_path / "o.csv"), "--skip-invalid")
    assert f"skipped 1 invalid record(s): {path}:5004: invalid CSV" in skipped.stderr
    assert len((tmp_path / "o.csv").read_bytes().splitlines()) == 10_003


def test_a_header_that_is_not_utf8_is_line_1(run_cli: CliHarness, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(b"em\xe9il,plan\nx,y\n")
    outcome = run_cli("sanitize", str(path), expect=ExitCode.USAGE)
    assert outcome.stderr.startswith(f"error: {path}:1: invalid CSV: not valid UTF-8")


@given(
    before=st.integers(min_value=0, max_value=2_000),
    width=st.integers(min_value=1, max_value=40),
    bad=st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe2\x82"]),
    newline=st.sampled_from([b"\n", b"\r\n"]),
    multiline=st.booleans(),
)
def test_the_reported_line_is_the_line_of_the_bad_byte(
    before: int, width: int, bad: bytes, newline: bytes, multiline: bool
) -> None:
    good = b"x" * width + b",y" + newline
    quoted = b'"one' + newline + b"two" + bad + b'",z' + newline
    row = quoted if multiline else b"q" + bad + b",z" + newline
    data = b"name,plan" + newline + good * before + row + good
    document = read_document(io.BytesIO(data), InputFormat.CSV, "in.csv", None)
    with pytest.raises(InputError) as caught:
        list(document.records)
    assert caught.value.line == 2 + before + (1 if multiline else 0)


def test_a_policy_with_a_number_of_more_digits_than_python_reads_is_exit_2(
    run_cli: CliHarness, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(f"[rules]\nx = {'9' * 5000}\n")
    people = tmp_path / "people.jsonl"
    people.write_text('{"email": "a@example.com"}\n')
    outcome = run_cli("sanitize", str(people), "--policy", str(policy), expect=ExitCode.USAGE)
    assert outcome.stderr.startswith(f"error: {policy}: invalid TOML: a number has more digits")
