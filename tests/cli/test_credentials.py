from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from cio_sec.errors import ExitCode
from cio_sec.sandbox import Sandbox
from tests.conftest import CANARY
from tests.support.cli import CliHarness
from tests.support.memory_keyring import MemoryKeyring


def test_check_reports_workspace_and_region(run_cli: CliHarness, sandbox: Sandbox) -> None:
    outcome = run_cli("credentials", "check", "-f", "json")
    document = outcome.json
    assert document["command"] == "credentials check"
    assert document["ok"] is True
    checks = {check["name"]: check for check in document["checks"]}
    assert checks["track"]["status"] == "ok"
    assert checks["track"]["workspace_id"] == 1001
    assert checks["track"]["region"] == "us"
    assert checks["app"]["status"] == "ok"
    # only read-only calls crossed the wire, each with credentials
    requests = sandbox.requests()
    assert [(r.method, r.path) for r in requests] == [
        ("GET", "/api/v1/accounts/region"),
        ("GET", "/v1/workspaces"),
    ]
    assert requests[0].auth == f"basic:{sandbox.info.site_id}"
    assert requests[1].auth.startswith("bearer:")


def test_check_text_output_is_a_table(run_cli: CliHarness, sandbox: Sandbox) -> None:
    outcome = run_cli("credentials", "check")
    assert "Track API key works for workspace 1001" in outcome.stdout
    assert "ok" in outcome.stdout


def test_sending_credentials_anywhere_but_customerio_is_announced(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    host = sandbox.info.track_url.removeprefix("http://")
    outcome = run_cli("credentials", "check")
    assert outcome.stderr.count(f"credentials will be sent to {host}, not to Customer.io") == 1
    assert "not to Customer.io" not in run_cli("credentials", "show").stderr


def test_check_says_when_the_account_is_in_another_region(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = sandbox.add_track_keys(workspace_id=2002, region="eu")
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", keys.site_id)
    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", keys.track_api_key)
    monkeypatch.delenv("CUSTOMERIO_APP_API_KEY")
    outcome = run_cli("credentials", "check", expect=ExitCode.CHECK_FAILED)
    assert "the account is in region 'eu' but the default says 'us'" in outcome.stdout
    assert "hint (track): set CUSTOMERIO_REGION=eu" in outcome.stderr
    run_cli("credentials", "check", "-f", "json", expect=ExitCode.CHECK_FAILED)
    monkeypatch.setenv("CUSTOMERIO_REGION", "eu")
    assert run_cli("credentials", "check", "-f", "json").json["ok"] is True


def test_check_flags_an_app_key_from_another_workspace(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", sandbox.add_app_key(workspace_id=3003))
    outcome = run_cli("credentials", "check", "-f", "json", expect=ExitCode.CHECK_FAILED)
    statuses = {c["name"]: c["status"] for c in outcome.json["checks"]}
    assert statuses == {"track": "ok", "app": "other-workspace"}


def test_rejected_credentials_exit_3_without_showing_them(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    sandbox.revoke_track_keys(sandbox.info.site_id)
    sandbox.revoke_app_key(sandbox.info.app_api_key)
    outcome = run_cli("credentials", "check", expect=ExitCode.CONFIG)
    assert "rejected the Track API key" in outcome.stdout
    assert "rejected the App API key" in outcome.stdout
    assert sandbox.info.site_id not in outcome.stdout + outcome.stderr


def test_missing_credentials_exit_3_naming_what_to_set(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_cli("credentials", "check", expect=ExitCode.CONFIG)
    assert "no Customer.io credentials configured at all" in outcome.stdout
    assert "hint (track): set CUSTOMERIO_TRACK_API_KEY" in outcome.stderr
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", "0123456789abcdef0123")
    outcome = run_cli("credentials", "check", "-f", "json", expect=ExitCode.CONFIG)
    track = outcome.json["checks"][0]
    assert track["status"] == "missing"
    assert "CUSTOMERIO_TRACK_API_KEY" in track["hint"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_customerio_exits_4_naming_the_host(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _closed_port()
    monkeypatch.setenv("CIO_SEC_TRACK_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", "0123456789abcdef0123")
    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", CANARY)
    outcome = run_cli("credentials", "check", expect=ExitCode.REMOTE)
    assert f"127.0.0.1:{port}" in outcome.stdout + outcome.stderr


def test_show_lists_sources_masked_values_and_fingerprints(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", CANARY)
    Path(".env").write_text("CUSTOMERIO_SITE_ID=0123456789abcdef0123\n")
    Path(".env").chmod(0o600)
    memory_keyring.set_password("cio-sec", "default/app_api_key", "a" * 32)
    outcome = run_cli("credentials", "show", "-f", "json")
    rows = {row["name"]: row for row in outcome.json["credentials"]}
    assert rows["track_api_key"]["source"] == "env:CUSTOMERIO_TRACK_API_KEY"
    assert rows["track_api_key"]["masked"] == "ca…57"
    assert rows["site_id"]["source"].startswith("dotenv:")
    assert rows["app_api_key"]["source"] == "keyring:cio-sec/default/app_api_key"
    assert rows["webhook_signing_key"]["found"] is False
    assert len(rows["app_api_key"]["fingerprint"]) == 16
    text = run_cli("credentials", "show").stdout
    assert "env:CUSTOMERIO_TRACK_API_KEY" in text
    assert "ca…57" in text


def test_set_from_stdin_writes_the_keyring_by_default_and_keeps_the_previous(
    run_cli: CliHarness, memory_keyring: MemoryKeyring
) -> None:
    first, second = "0123456789abcdef0123", "fedcba9876543210fedc"
    run_cli("credentials", "set", "track_api_key", "--stdin", input=first + "\n")
    outcome = run_cli("credentials", "set", "track_api_key", "--stdin", "-f", "json", input=second)
    document = outcome.json
    assert document["store"] == "keyring:cio-sec/default/track_api_key"
    assert document["previous_kept"] is True
    assert document["masked"] == "…"
    assert memory_keyring.passwords[("cio-sec", "default/track_api_key")] == second
    assert memory_keyring.passwords[("cio-sec", "default/track_api_key@previous")] == first
    assert first not in outcome.stdout
    assert second not in outcome.stdout


def test_set_into_a_dotenv_store_is_private_and_warns_about_odd_shapes(
    run_cli: CliHarness,
) -> None:
    outcome = run_cli(
        "credentials",
        "set",
        "app_api_key",
        "--stdin",
        "--store",
        "dotenv:secrets.env#CUSTOMERIO_APP_API_KEY",
        input=CANARY,
    )
    assert "32 lowercase hex characters" in outcome.stderr
    assert "stored app_api_key" in outcome.stdout
    path = Path("secrets.env")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == f"CUSTOMERIO_APP_API_KEY={CANARY}\n"


def test_set_refuses_read_only_and_empty_values(run_cli: CliHarness) -> None:
    outcome = run_cli(
        "credentials",
        "set",
        "site_id",
        "--stdin",
        "--store",
        "env:X",
        input="0123456789abcdef0123",
        expect=ExitCode.USAGE,
    )
    assert "read-only" in outcome.stderr
    outcome = run_cli("credentials", "set", "site_id", "--stdin", input="\n", expect=2)
    assert "empty value" in outcome.stderr


def test_set_without_stdin_when_non_interactive_exits_3(run_cli: CliHarness) -> None:
    outcome = run_cli("--non-interactive", "credentials", "set", "site_id", expect=ExitCode.CONFIG)
    assert "non-interactive" in outcome.stderr
    assert "--stdin" in outcome.stderr


def test_unknown_credential_name_is_a_usage_error(run_cli: CliHarness) -> None:
    run_cli("credentials", "set", "password", "--stdin", input="x", expect=ExitCode.USAGE)


def test_bad_store_reference_is_a_usage_error_that_does_not_echo_it(run_cli: CliHarness) -> None:
    for store, message in [
        ("gcp-sm:projects/p/secrets/s", "secret references of kind 'gcp-sm' are not supported"),
        ("memory:prod", "unknown secret store kind 'memory'"),
        (CANARY, "this is not a secret reference"),
    ]:
        outcome = run_cli(
            "credentials",
            "set",
            "site_id",
            "--stdin",
            "--store",
            store,
            input="0123456789abcdef0123",
            expect=ExitCode.USAGE,
        )
        assert f"error: --store: {message}" in outcome.stderr, outcome.stderr


def test_a_key_typed_as_an_argument_is_never_echoed(run_cli: CliHarness) -> None:
    key = "0123456789abcdef0123"
    for args in (
        ["credentials", "set", "track_api_key", key],
        ["credentials", "set", key],
        [key],
    ):
        outcome = run_cli(*args, expect=ExitCode.USAGE)
        assert key not in outcome.stdout + outcome.stderr, args
    outcome = run_cli("credentials", "set", "track_api_key", key, expect=ExitCode.USAGE)
    assert "secrets are never accepted as arguments" in outcome.stderr
    # harmless words are still shown, so typos stay easy to spot
    assert "credentals" in run_cli("credentals", expect=ExitCode.USAGE).stderr


def test_undecodable_input_is_exit_2_naming_the_source(run_cli: CliHarness) -> None:
    outcome = run_cli(
        "credentials", "set", "site_id", "--stdin", input=b"\xff\xfe", expect=ExitCode.USAGE
    )
    assert "<stdin>: the value on stdin is not valid UTF-8" in outcome.stderr
    Path(".env").write_bytes(b"CUSTOMERIO_SITE_ID=abc\xff\n")
    outcome = run_cli("credentials", "show", expect=ExitCode.USAGE)
    assert ".env: cannot read the dotenv file: not valid UTF-8" in outcome.stderr


def _read_until(fd: int, marker: bytes | None, seconds: float = 15) -> bytes:
    """Read a pseudo-terminal until the marker (or EOF when None), failing on a stall."""
    import select
    import time

    seen = b""
    deadline = time.monotonic() + seconds
    while marker is None or marker not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no {marker!r} within {seconds}s; saw {seen!r}"
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            assert marker is None, f"EOF before {marker!r}; saw {seen!r}"
            return seen
        seen += chunk
    return seen


@pytest.mark.timeout(60)
def test_set_prompts_with_hidden_input_on_a_terminal(tmp_path: Path) -> None:
    """A real pseudo-terminal: the prompt appears, and the typed key is not echoed."""
    import pty
    import subprocess
    import sys

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cio_sec",
            "credentials",
            "set",
            "track_api_key",
            "--store",
            "dotenv:typed.env#CUSTOMERIO_TRACK_API_KEY",
        ],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=dict(os.environ),
    )
    os.close(terminal)
    try:
        # The space after the colon is written by getpass once echo is off; typing
        # earlier would race the terminal mode switch.
        seen = _read_until(controller, b"(input hidden): ")
        os.write(controller, b"0123456789abcdef0123\n")
        seen += _read_until(controller, None)
        assert process.wait(timeout=20) == 0, seen
    finally:
        process.kill()
        process.wait()
        os.close(controller)
    assert b"0123456789abcdef0123" not in seen
    assert b"stored track_api_key" in seen
    assert "CUSTOMERIO_TRACK_API_KEY=" in Path("typed.env").read_text()


def test_show_explains_an_unusable_keyring(run_cli: CliHarness) -> None:
    import keyring.backends.fail

    keyring.set_keyring(keyring.backends.fail.Keyring())
    outcome = run_cli("credentials", "show")
    assert "site_id: not found; looked in env:CUSTOMERIO_SITE_ID" in outcome.stderr
    notes = [line for line in outcome.stderr.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: the keyring store could not be read for site_id, track_api_key, app_api_key, "
        "webhook_signing_key, pseudonym_key: no keyring backend is available"
    ]
    assert "hint: " in outcome.stderr


def test_set_warns_when_the_stored_value_will_not_be_the_one_used(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", "0123456789abcdef0123")
    outcome = run_cli("credentials", "set", "site_id", "--stdin", input="fedcba9876543210fedc")
    assert (
        "warning: env:CUSTOMERIO_SITE_ID comes first and still provides site_id" in outcome.stderr
    )
    outcome = run_cli(
        "credentials",
        "set",
        "site_id",
        "--stdin",
        "--store",
        "dotenv:elsewhere.env#SITE",
        input="fedcba9876543210fedc",
    )
    assert "dotenv:elsewhere.env#SITE is not where cio-sec looks for site_id" in outcome.stderr
    monkeypatch.delenv("CUSTOMERIO_SITE_ID")
    outcome = run_cli("credentials", "set", "site_id", "--stdin", input="fedcba9876543210fedc")
    assert "warning" not in outcome.stderr
    outcome = run_cli("credentials", "set", "site_id", "--stdin", input="0123456789\nabcdef0123")
    assert "contains a line break" in outcome.stderr


def test_a_bad_store_is_reported_before_any_secret_is_asked_for(run_cli: CliHarness) -> None:
    # Non-interactive without --stdin would be exit 3; the --store mistake comes first.
    outcome = run_cli(
        "--non-interactive",
        "credentials",
        "set",
        "site_id",
        "--store",
        "bogus",
        expect=ExitCode.USAGE,
    )
    assert "--store: this is not a secret reference" in outcome.stderr
