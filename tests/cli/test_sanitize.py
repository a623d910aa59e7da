from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cio_sec.errors import ExitCode
from cio_sec.pseudonym import IdentifierKind, PseudonymKey
from tests.conftest import CANARY
from tests.support.cli import CliHarness
from tests.support.memory_keyring import MemoryKeyring
from tests.support.schemas import parse_document

#: The memory keyring holds the canary as the default pseudonym_key.
KEY = PseudonymKey.from_text(CANARY)
PEOPLE = [
    {"id": "1", "email": "ana@example.com", "phone": "+1 555 0100", "ssn": "078-05-1120",
     "profile": {"cardNumber": "4111111111111111", "notes": "iban DE89370400440532013000"}},
    {"id": "2", "email": "bo@example.com", "plan": "free"},
]  # fmt: skip


def write_ndjson(path: Path) -> Path:
    path.write_text("".join(json.dumps(person) + "\n" for person in PEOPLE))
    return path


def test_sanitizes_an_ndjson_file_to_stdout(run_cli: CliHarness) -> None:
    outcome = run_cli("sanitize", str(write_ndjson(Path("people.ndjson"))))
    lines = [json.loads(line) for line in outcome.stdout.splitlines()]
    assert lines == [
        {"id": "1", "email": "ana@example.com",
         "phone_hash": KEY.pseudonym("+1 555 0100", IdentifierKind.PHONE),
         "profile": {"notes": "iban [REDACTED:iban]"}},
        PEOPLE[1],
    ]  # fmt: skip
    assert outcome.stderr == ""


def test_report_goes_to_stderr_with_counts_never_values(run_cli: CliHarness) -> None:
    outcome = run_cli("sanitize", str(write_ndjson(Path("people.ndjson"))), "--report")
    assert "profile.cardNumber" in outcome.stderr
    assert "pseudonymise" in outcome.stderr
    assert "sanitised 2 record(s), 1 changed" in outcome.stderr
    assert "078-05-1120" not in outcome.stderr
    assert "4111" not in outcome.stderr


def test_json_report_on_stderr_when_data_is_on_stdout() -> None:
    # A real process: the in-process harness expects `-f json` to put the report on stdout.
    env = {**os.environ, "CIO_SEC_PSEUDONYM_KEY": CANARY}
    result = subprocess.run(
        [sys.executable, "-m", "cio_sec", "sanitize", "-", "-f", "json"],
        input="".join(json.dumps(person) + "\n" for person in PEOPLE),
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    assert len(result.stdout.splitlines()) == 2
    report = parse_document(result.stderr)
    assert report["command"] == "sanitize"
    assert report["key_id"] == KEY.key_id
    assert {"attribute": "ssn", "action": "drop", "count": 1} in report["attributes"]
    assert report["detections"] == {"iban": 1}
    assert CANARY not in result.stdout + result.stderr


def test_output_file_is_written_and_the_summary_goes_to_stdout(run_cli: CliHarness) -> None:
    source = Path("people.json")
    source.write_text(json.dumps(PEOPLE, indent=2))
    outcome = run_cli("sanitize", str(source), "-o", "clean.json")
    assert outcome.stdout == "sanitised 2 record(s), 1 changed -> clean.json\n"
    clean = json.loads(Path("clean.json").read_text())
    assert [sorted(person) for person in clean] == [
        ["email", "id", "phone_hash", "profile"],
        ["email", "id", "plan"],
    ]
    assert oct(Path("clean.json").stat().st_mode & 0o777) == "0o600"
    document = run_cli("sanitize", str(source), "-o", "clean.json", "-f", "json").json
    assert document["output"] == "clean.json"
    assert document["input_format"] == "json"


def test_csv_columns_are_renamed_and_dropped(run_cli: CliHarness) -> None:
    Path("people.csv").write_text("id,Phone,SSN,notes\n1,+1 555 0100,078-05-1120,hi\n2,,,x\n")
    outcome = run_cli("sanitize", "people.csv")
    phone = KEY.pseudonym("+1 555 0100", IdentifierKind.PHONE)
    # (the test runner turns CSV's \r\n into \n)
    assert outcome.stdout == f"id,Phone_hash,notes\n1,{phone},hi\n2,,x\n"


def test_stdin_format_is_detected_or_given(run_cli: CliHarness) -> None:
    assert run_cli("sanitize", input='[{"ssn": 1}]').stdout == "[\n{}\n]\n"
    assert run_cli("sanitize", "-", input='{"ssn": 1}\n{"a": 2}\n').stdout == '{}\n{"a":2}\n'
    assert run_cli("sanitize", input="ssn,a\n1,2\n").stdout == "a\n2\n"
    given = run_cli("sanitize", "--input-format", "ndjson", input='{"ssn": 1}\n')
    assert given.stdout == "{}\n"


def test_check_exits_1_listing_what_would_change(run_cli: CliHarness) -> None:
    path = write_ndjson(Path("fixture.ndjson"))
    outcome = run_cli("sanitize", str(path), "--check", expect=ExitCode.CHECK_FAILED)
    assert outcome.stdout.startswith("would change 1 of 2 record(s):")
    assert "ssn" in outcome.stdout
    document = run_cli(
        "sanitize", str(path), "--check", "-f", "json", expect=ExitCode.CHECK_FAILED
    ).json
    assert document["ok"] is False
    assert document["output"] is None
    clean = Path("clean.ndjson")
    clean.write_text('{"id": "2", "plan": "free"}\n')
    assert run_cli("sanitize", str(clean), "--check").stdout == "nothing to change in 1 record(s)\n"


def test_check_needs_no_key(run_cli: CliHarness, memory_keyring: MemoryKeyring) -> None:
    memory_keyring.delete_password("cio-sec", "default/pseudonym_key")
    run_cli("sanitize", "--check", input='{"phone": "1"}\n', expect=ExitCode.CHECK_FAILED)
    assert memory_keyring.get_password("cio-sec", "default/pseudonym_key") is None


def test_a_missing_key_is_generated_in_the_keyring(
    run_cli: CliHarness, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.delete_password("cio-sec", "default/pseudonym_key")
    outcome = run_cli("sanitize", input='{"phone": "1"}\n')
    stored = memory_keyring.get_password("cio-sec", "default/pseudonym_key")
    assert stored is not None
    new = PseudonymKey.from_text(stored)
    assert json.loads(outcome.stdout) == {"phone_hash": new.pseudonym("1", IdentifierKind.PHONE)}
    assert f"generated a new pseudonym_key (key id {new.key_id})" in outcome.stderr
    assert stored not in outcome.stdout + outcome.stderr
    again = run_cli("sanitize", input='{"phone": "1"}\n')
    assert again.stdout == outcome.stdout
    assert "generated" not in again.stderr


def test_no_writable_store_for_the_key_exits_3(
    run_cli: CliHarness, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring
    import keyring.backends.fail

    keyring.set_keyring(keyring.backends.fail.Keyring())
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "cio-sec" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        '[profiles.default]\npseudonym_key = ["env:MY_KEY", "keyring:cio-sec/default/pk"]\n'
    )
    outcome = run_cli("sanitize", input='{"phone": "1"}\n', expect=ExitCode.CONFIG)
    assert "pseudonym_key not found and no writable store to create it in: " in outcome.stderr
    assert outcome.stdout == ""


def test_a_drop_only_policy_needs_no_key(
    run_cli: CliHarness, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.delete_password("cio-sec", "default/pseudonym_key")
    Path("policy.toml").write_text('extends = "none"\n[rules]\nssn = "drop"\n')
    outcome = run_cli("sanitize", "--policy", "policy.toml", input='{"ssn": 1, "phone": "2"}\n')
    assert outcome.stdout == '{"phone":"2"}\n'


def test_legacy_sha256_warns_and_uses_the_unkeyed_formula(run_cli: CliHarness) -> None:
    outcome = run_cli("sanitize", "--legacy-sha256", input='{"phone": "+1 555"}\n')
    expected = hashlib.sha256(b"+1 555").hexdigest()[:16]
    assert json.loads(outcome.stdout) == {"phone_hash": expected}
    assert "warning: --legacy-sha256 writes unkeyed" in outcome.stderr


def test_invalid_policy_exits_2_naming_file_and_line(run_cli: CliHarness) -> None:
    Path("policy.toml").write_text('[rules]\nssn = "drop"\ncvv = "shred"\n')
    outcome = run_cli("sanitize", "--policy", "policy.toml", input="{}", expect=ExitCode.USAGE)
    assert "policy.toml:3: unknown action 'shred'" in outcome.stderr


def test_malformed_input_exits_2_naming_the_line(run_cli: CliHarness) -> None:
    Path("bad.ndjson").write_text('{"a": 1}\n{"a": \n')
    outcome = run_cli("sanitize", "bad.ndjson", "-o", "out.ndjson", expect=ExitCode.USAGE)
    assert "bad.ndjson:2: invalid JSON" in outcome.stderr
    assert not Path("out.ndjson").exists()
    assert list(Path().glob(".out.ndjson.*")) == []


@pytest.mark.parametrize(
    ("name", "text", "line", "reason"),
    [
        ("nan.ndjson", '{"a": 1}\n{"a": NaN}\n', 2, "NaN is not a JSON value"),
        ("inf.ndjson", '{"a": -Infinity}\n', 1, "-Infinity is not a JSON value"),
        ("big.ndjson", '{"a": 1e999}\n', 1, "the number 1e999 is too large for JSON"),
        ("nan.json", '[{"a": 1},\n {"a": NaN}]\n', 2, "NaN is not a JSON value"),
        ("deep.ndjson", "[" * 100_000 + "]" * 100_000 + "\n", 1, "nested too deeply"),
        ("deep.json", "[" * 100_000 + "]" * 100_000 + "\n", 1, "nested too deeply"),
        ("lone.ndjson", '{"a": 1}\n{"a": "\\uD800"}\n', 2, "a lone UTF-16 surrogate"),
        ("lone.json", '[{"a": 1},\n {"a": "x\\udfff"}]\n', 2, "a lone UTF-16 surrogate"),
        ("lone-object.json", '{"a": "\\ud800"}', 1, "a lone UTF-16 surrogate"),
    ],
)
def test_input_that_is_not_strict_json_exits_2(
    run_cli: CliHarness, name: str, text: str, line: int, reason: str
) -> None:
    Path(name).write_text(text)
    outcome = run_cli("sanitize", name, expect=ExitCode.USAGE)
    assert f"{name}:{line}: invalid JSON: {reason}" in outcome.stderr


def test_a_repeated_csv_column_is_refused_not_merged(run_cli: CliHarness) -> None:
    Path("dup.csv").write_text("id,id,phone\n1,2,3\n")
    outcome = run_cli("sanitize", "dup.csv", expect=ExitCode.USAGE)
    assert "dup.csv:1: the CSV header repeats column(s) 'id'" in outcome.stderr


def test_an_output_path_that_is_a_directory_is_a_usage_error(run_cli: CliHarness) -> None:
    write_ndjson(Path("people.ndjson"))
    Path("out").mkdir()
    outcome = run_cli("sanitize", "people.ndjson", "-o", "out", expect=ExitCode.USAGE)
    assert "out: cannot write" in outcome.stderr
    assert list(Path().glob(".out.*")) == []


def test_json_errors_never_mix_into_records_on_stdout() -> None:
    env = {**os.environ, "CIO_SEC_PSEUDONYM_KEY": CANARY}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cio_sec",
            "sanitize",
            "-",
            "-f",
            "json",
            "--input-format",
            "ndjson",
        ],
        input='{"a": 1}\n{bad\n',
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == ExitCode.USAGE
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"a": 1}]
    error = parse_document(result.stderr[result.stderr.index("{") :])
    assert error["ok"] is False
    assert error["error"]["exit_code"] == 2


def test_skip_invalid_continues_and_counts(run_cli: CliHarness) -> None:
    Path("bad.csv").write_text("id,ssn\n1,2\n3\n4,5\n")
    outcome = run_cli("sanitize", "bad.csv", "--skip-invalid", "-o", "out.csv")
    assert Path("out.csv").read_bytes() == b"id\r\n1\r\n4\r\n"
    assert "warning: skipped 1 invalid record(s): bad.csv:3: ragged CSV row" in outcome.stderr
    assert "1 skipped" in outcome.stdout
    document = run_cli("sanitize", "bad.csv", "--skip-invalid", "--check", "-f", "json",
                       expect=ExitCode.CHECK_FAILED).json  # fmt: skip
    assert document["invalid"] == 1
    many = "".join("{bad\n" for _ in range(7)) + '{"ssn": 1}\n'
    document = run_cli("sanitize", "--skip-invalid", "--check", "-f", "json",
                       "--input-format", "ndjson", input=many,
                       expect=ExitCode.CHECK_FAILED).json  # fmt: skip
    assert document["invalid"] == 7
    assert len(document["invalid_examples"]) == 5


def test_unreadable_input_and_output(run_cli: CliHarness) -> None:
    outcome = run_cli("sanitize", "missing.json", expect=ExitCode.USAGE)
    assert "missing.json: cannot read" in outcome.stderr
    Path("in.ndjson").write_text("{}\n")
    outcome = run_cli("sanitize", "in.ndjson", "-o", "no/such/dir/out", expect=ExitCode.USAGE)
    assert "cannot write" in outcome.stderr


def test_the_command_streams_as_a_real_process(tmp_path: Path) -> None:
    env = {**os.environ, "CIO_SEC_PSEUDONYM_KEY": "0123456789abcdef0123"}
    people = "".join(json.dumps({"id": n, "ssn": "1", "phone": str(n)}) + "\n" for n in range(500))
    result = subprocess.run(
        [sys.executable, "-m", "cio_sec", "sanitize", "-", "--report"],
        input=people,
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 500
    assert all("ssn" not in line and '"phone_hash"' in line for line in lines)
    assert "sanitised 500 record(s), 500 changed" in result.stderr
