"""Under ``--format json`` every failure is one shape: the envelope with an ``error`` object.

One test per command family, through the real CLI: the partial results stay beside the
error, and the exit code in the document is the one the process ends with.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cio_sec.errors import ExitCode
from cio_sec.pseudonym import PseudonymKey
from cio_sec.render import SCHEMA_VERSION, json_document
from cio_sec.sandbox import Sandbox
from cio_sec.settings import default_state_dir
from cio_sec.trail import TrailWriter
from cio_sec.webhook import sign
from cio_sec.webhook.receiver import DeliveryLine
from tests.conftest import CANARY
from tests.support.cli import CliHarness, run_with_closed_stdout
from tests.support.schemas import check_document, parse_document, parse_lines
from tests.support.servers import free_port

_ERROR_KEYS = {"exit_code", "type", "message", "hint"}


def _error_of(document: dict[str, object], code: int) -> dict[str, object]:
    """The error object, after the checks every failure document must pass."""
    assert document["schema_version"] == SCHEMA_VERSION
    assert document["ok"] is False
    error = document["error"]
    assert isinstance(error, dict)
    assert error.keys() == _ERROR_KEYS
    assert error["exit_code"] == code
    return error


def test_a_stopped_rotation_has_its_steps_and_the_error_with_exit_3(
    run_cli: CliHarness, hermetic_env: Path
) -> None:
    trail = default_state_dir(os.environ) / "audit.jsonl"
    TrailWriter(trail, PseudonymKey.from_text(CANARY)).append([{"type": "action"}])
    run_cli("rotate", "pseudonym", "--yes")  # the canary key becomes the previous one
    document = run_cli("rotate", "pseudonym", "--yes", "-f", "json", expect=ExitCode.CONFIG).json
    error = _error_of(document, ExitCode.CONFIG)
    assert error["type"] == "ConfigError"
    assert "chained with key id" in str(error["message"])
    assert "archive the trail first" in str(error["hint"])
    assert "exit_code" not in document  # one place for it: the error
    assert document["outcome"] == "stopped"
    assert "failed" in [step["status"] for step in document["steps"]]


def test_a_check_against_a_dead_host_says_exit_4_and_which_credential(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for name in ("CIO_SEC_TRACK_URL", "CIO_SEC_APP_URL"):
        monkeypatch.setenv(name, dead)
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", "site-1")
    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", "0123456789abcdef0123")
    monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", "app-key-0123456789abcdef")
    document = run_cli("credentials", "check", "-f", "json", expect=ExitCode.REMOTE).json
    error = _error_of(document, ExitCode.REMOTE)
    assert error["type"] == "RemoteUnavailableError"
    assert str(error["message"]).startswith("track: unavailable: ")
    statuses = {check["name"]: check["status"] for check in document["checks"]}
    assert set(statuses.values()) == {"unavailable"}


def test_a_wrong_key_against_the_sandbox_says_exit_3_and_how_to_fix_it(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", "wrong-app-key-0123456789")
    document = run_cli("credentials", "check", "-f", "json", expect=ExitCode.CONFIG).json
    error = _error_of(document, ExitCode.CONFIG)
    assert error["type"] == "CredentialRejectedError"
    assert str(error["message"]).startswith("app: rejected: ")
    assert error["hint"]
    statuses = {check["name"]: check["status"] for check in document["checks"]}
    assert statuses == {"track": "ok", "app": "rejected"}


def test_a_bad_signature_is_a_failure_with_exit_1_and_the_verdict(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = Path("body.json")
    body.write_bytes(b"{}")
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", CANARY)
    document = run_cli(
        "verify-webhook",
        "--body",
        str(body),
        "--timestamp",
        "1700000000",
        "--signature",
        "00" * 32,
        "--now",
        "1700000000",
        "-f",
        "json",
        expect=ExitCode.CHECK_FAILED,
    ).json
    error = _error_of(document, ExitCode.CHECK_FAILED)
    assert error["type"] == "CheckFailed"
    assert document["reason"] == "mismatch"


@pytest.mark.parametrize(
    ("args", "command", "message"),
    [
        (("credentials", "check", "--bogus"), "credentials check", "No such option: --bogus"),
        (("credentials", "set"), "credentials set", "Missing argument 'name'."),
        (("rotate", "nokind"), "rotate", "'nokind' is not one of 'track', 'app'"),
        (("audit", "--max-key-age", "lots"), "audit", "Invalid value for '--max-key-age'"),
    ],
    ids=["unknown-option", "missing-argument", "bad-choice", "bad-value"],
)
@pytest.mark.parametrize(
    "asked", [("-f", "json"), ("--format", "json"), ("--format=json",), ("-fJSON",)]
)
def test_a_usage_error_under_format_json_is_the_envelope(
    run_cli: CliHarness,
    args: tuple[str, ...],
    command: str,
    message: str,
    asked: tuple[str, ...],
) -> None:
    outcome = run_cli(*args, *asked, expect=ExitCode.USAGE)
    document = parse_document(outcome.stdout)
    error = _error_of(document, ExitCode.USAGE)
    assert document["command"] == command
    assert error["type"] == "UsageError"
    assert message in str(error["message"])
    assert error["hint"] == f"see `cio-sec {command} --help`"
    assert "Usage: cio-sec" in outcome.stderr  # people still get the usage text


def test_a_usage_error_under_cio_sec_format_json_is_the_envelope(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIO_SEC_FORMAT", "JSON")
    document = run_cli("credentials", "check", "--bogus", expect=ExitCode.USAGE).json
    assert _error_of(document, ExitCode.USAGE)["message"] == "No such option: --bogus"
    assert document["command"] == "credentials check"


def test_a_usage_error_before_any_command_has_no_command(run_cli: CliHarness) -> None:
    document = run_cli("--bogus", "-f", "json", "audit", expect=ExitCode.USAGE).json
    assert document["command"] is None
    assert _error_of(document, ExitCode.USAGE)["hint"] == "see `cio-sec --help`"


def test_a_usage_error_without_json_prints_nothing_on_stdout(run_cli: CliHarness) -> None:
    for args in (("credentials", "check", "--bogus"), ("credentials", "check", "--", "-f", "json")):
        assert run_cli(*args, expect=ExitCode.USAGE).stdout == ""


def test_a_typed_key_is_not_echoed_in_the_usage_error_document(run_cli: CliHarness) -> None:
    outcome = run_cli(
        "credentials", "set", "track_api_key", CANARY, "-f", "json", expect=ExitCode.USAGE
    )
    assert "secrets are never accepted as arguments" in outcome.json["error"]["message"]


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cio_sec", "verify-webhook", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def test_serve_says_ok_false_for_a_delivery_it_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", CANARY)
    body = b'{"metric":"sent"}'
    process = _serve("-f", "json")
    try:
        assert process.stdout is not None
        url = parse_document(process.stdout.readline())["url"]
        forged = httpx.post(url, content=body, headers=sign(body, "forged-key"))
        good = httpx.post(url, content=body, headers=sign(body, CANARY))
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert (forged.status_code, good.status_code, process.returncode) == (401, 200, 0), err
    rejected, accepted = parse_lines(out)
    assert (rejected["kind"], rejected["status"], rejected["ok"]) == ("delivery", 401, False)
    error = _error_of(rejected, ExitCode.CHECK_FAILED)
    assert error == {
        "exit_code": 1,
        "type": "InvalidDelivery",
        "message": "rejected with 401: mismatch",
        "hint": None,
    }
    assert (accepted["status"], accepted["ok"]) == (200, True)
    assert "error" not in accepted
    assert CANARY not in out + err


def test_serve_says_ok_false_with_exit_4_for_a_delivery_it_could_not_forward(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", CANARY)
    body = b'{"metric":"sent"}'
    process = _serve("--forward-to", f"http://127.0.0.1:{free_port()}/hooks", "-f", "json")
    try:
        assert process.stdout is not None
        url = parse_document(process.stdout.readline())["url"]
        answer = httpx.post(url, content=body, headers=sign(body, CANARY))
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert (answer.status_code, process.returncode) == (502, 0), err
    (line,) = parse_lines(out)
    assert (line["verdict"], line["ok"]) == ("valid", False)
    error = _error_of(line, ExitCode.REMOTE)
    assert error["type"] == "ForwardError"
    assert str(error["message"]).startswith("verified, but not forwarded (ConnectError)")


def test_a_usage_error_with_stdout_closed_still_explains_itself_on_stderr() -> None:
    result = run_with_closed_stdout("credentials", "check", "--bogus", "-f", "json")
    assert result.returncode == ExitCode.USAGE
    assert "No such option: --bogus" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("verdict", "status", "forwarded", "code"),
    [
        ("valid", 200, None, ExitCode.OK),
        ("valid", 201, "ok", ExitCode.OK),
        ("invalid", 401, None, ExitCode.CHECK_FAILED),
        ("valid", 502, "ConnectError", ExitCode.REMOTE),
    ],
)
def test_a_serve_line_fails_exactly_when_the_delivery_was_not_accepted(
    verdict: str, status: int, forwarded: str | None, code: ExitCode
) -> None:
    line = DeliveryLine("2026-01-01T00:00:00Z", verdict, "r", 2, None, status, None, forwarded)
    document = check_document({**json_document("verify-webhook serve", line), "kind": "delivery"})
    assert (line.exit_code, document["ok"]) == (code, code == ExitCode.OK)
    assert ("error" in document) is (code != ExitCode.OK)
