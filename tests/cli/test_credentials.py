from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cio_sec.errors import ExitCode
from cio_sec.sandbox import Faults, Sandbox
from tests.conftest import CANARY
from tests.support.app_api import workspaces_server
from tests.support.cli import CliHarness
from tests.support.hostile import redirect_trap
from tests.support.memory_keyring import MemoryKeyring

pytestmark = pytest.mark.slow


def test_check_reports_workspace_and_region(run_cli: CliHarness, sandbox: Sandbox) -> None:
    outcome = run_cli("credentials", "check", "-f", "json")
    document = outcome.json
    assert document["command"] == "credentials check"
    assert document["ok"] is True
    checks = {check["name"]: check for check in document["checks"]}
    assert checks["track"]["status"] == "ok"
    assert checks["track"]["workspace_id"] == "1001"
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
    assert "the account is in region 'eu', but the default says 'us'" in outcome.stdout
    assert (
        "hint (track): the region defaults to 'us': set CUSTOMERIO_REGION=eu, or "
        'region = "eu" in the profile in config.toml'
    ) in outcome.stderr
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


@pytest.mark.parametrize(
    ("bus", "reason"),
    [
        ("unix:path=/run/user/0/bus", "no keyring backend is available"),
        (
            None,
            "no keyring backend is available: no D-Bus session (DBUS_SESSION_BUS_ADDRESS is unset)",
        ),
    ],
)
def test_show_explains_an_unusable_keyring_once(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch, bus: str | None, reason: str
) -> None:
    import keyring.backends.fail

    if bus is None:
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus)
    keyring.set_keyring(keyring.backends.fail.Keyring())
    outcome = run_cli("credentials", "show")
    assert "site_id: not found; looked in env:CUSTOMERIO_SITE_ID" in outcome.stderr
    notes = [line for line in outcome.stderr.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: the keyring store could not be read for site_id, track_api_key, app_api_key, "
        f"webhook_signing_key, pseudonym_key: {reason}"
    ]
    assert len([line for line in outcome.stderr.splitlines() if line.startswith("hint")]) == 1


def test_check_names_an_unusable_keyring_instead_of_nothing_configured(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring.backends.fail

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/0/bus")
    keyring.set_keyring(keyring.backends.fail.Keyring())
    document = run_cli("credentials", "check", "-f", "json", expect=3).json
    track, app = document["checks"]
    assert track["status"] == "missing"
    assert track["detail"] == (
        "no Customer.io credentials found: the keyring store could not be read: "
        "no keyring backend is available"
    )
    assert "dbus-run-session" in track["hint"]
    assert app["status"] == "skipped"
    assert "the keyring store could not be read" in app["detail"]


def test_a_half_found_track_pair_names_the_unreadable_store(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring.backends.fail

    monkeypatch.setenv("CUSTOMERIO_SITE_ID", "abcdef0123456789abcd")
    keyring.set_keyring(keyring.backends.fail.Keyring())
    document = run_cli("credentials", "check", "-f", "json", expect=3).json
    track = document["checks"][0]
    assert track["detail"].startswith(
        "track_api_key not found: the keyring store could not be read: no keyring backend"
    )
    assert "credentials set" not in track["hint"]


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


@pytest.fixture
def eu_host(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, run_cli: CliHarness
) -> Iterator[Sandbox]:
    """A second sandbox's EU host as the EU host, the first one as the US host; keys of an
    EU account of the second, which the first does not know (so it answers 401).
    """
    with Sandbox(region="eu", workspace_id=2002) as eu:
        info = eu.info
        run_cli.watched.update({info.track_api_key, info.app_api_key})
        for name in ("CIO_SEC_TRACK_URL", "CIO_SEC_APP_URL"):
            monkeypatch.delenv(name)
        monkeypatch.setenv("CIO_SEC_TRACK_URL_US", sandbox.info.track_url)
        monkeypatch.setenv("CIO_SEC_APP_URL_US", sandbox.info.app_url)
        monkeypatch.setenv("CIO_SEC_TRACK_URL_EU", info.track_url_eu)
        monkeypatch.setenv("CIO_SEC_APP_URL_EU", info.app_url_eu)
        monkeypatch.setenv("CUSTOMERIO_SITE_ID", info.site_id)
        monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", info.track_api_key)
        monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", info.app_api_key)
        yield eu


def test_keys_rejected_in_the_configured_region_but_fine_in_the_other_are_a_region_hint(
    run_cli: CliHarness, sandbox: Sandbox, eu_host: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = run_cli("credentials", "check", "-f", "json", expect=ExitCode.CHECK_FAILED)
    checks = {check["name"]: check for check in outcome.json["checks"]}
    assert {name: check["status"] for name, check in checks.items()} == {
        "track": "region-mismatch",
        "app": "region-mismatch",
    }
    assert checks["track"]["detail"] == (
        "Customer.io rejected the Track API credentials in region 'us' and accepted them in "
        "'eu': the account is in region 'eu', but the default says 'us'"
    )
    assert "Customer.io rejected the App API key in region 'us'" in checks["app"]["detail"]
    assert checks["app"]["hint"] == checks["track"]["hint"]
    assert "set CUSTOMERIO_REGION=eu" in checks["track"]["hint"]
    assert [(r.path, r.status) for r in sandbox.requests()] == [
        ("/api/v1/accounts/region", 401),
        ("/v1/workspaces", 401),
    ]
    monkeypatch.setenv("CUSTOMERIO_REGION", "eu")
    assert run_cli("credentials", "check", "-f", "json").json["ok"] is True


def test_the_region_hint_names_the_profile_and_its_file(
    run_cli: CliHarness, eu_host: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.default]\nregion = "us"\n')
    monkeypatch.setenv("CIO_SEC_CONFIG", str(config))
    outcome = run_cli("credentials", "check", "-f", "json", expect=ExitCode.CHECK_FAILED)
    track = outcome.json["checks"][0]
    assert track["detail"].endswith(f"but profile 'default' in {config} says 'us'")
    assert track["hint"] == f"set region = \"eu\" in profile 'default' in {config}"


def test_an_app_key_rejected_while_the_track_key_is_fine_stays_rejected(
    run_cli: CliHarness, sandbox: Sandbox, eu_host: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", sandbox.info.site_id)
    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", sandbox.info.track_api_key)
    outcome = run_cli("credentials", "check", "-f", "json", expect=ExitCode.CONFIG)
    statuses = {c["name"]: c["status"] for c in outcome.json["checks"]}
    assert statuses == {"track": "ok", "app": "rejected"}


@pytest.mark.parametrize("status", [301, 302])
def test_a_redirect_to_the_other_regions_host_is_a_region_hint_never_followed(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", "0123456789abcdef0123")
    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", CANARY)
    monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", "0123456789abcdef0123456789abcdef")
    with redirect_trap(status) as trap:
        monkeypatch.setenv("CIO_SEC_TRACK_URL_US", trap.url)
        monkeypatch.setenv("CIO_SEC_APP_URL_US", trap.url)
        monkeypatch.setenv("CIO_SEC_TRACK_URL_EU", trap.trap_url)
        monkeypatch.setenv("CIO_SEC_APP_URL_EU", trap.trap_url)
        outcome = run_cli("credentials", "check", "-f", "json", expect=ExitCode.CHECK_FAILED)
    assert trap.received == []
    checks = {check["name"]: check for check in outcome.json["checks"]}
    host = trap.trap_url.removeprefix("http://")
    for name in ("track", "app"):
        assert checks[name]["status"] == "region-mismatch"
        assert checks[name]["detail"].startswith(f"Customer.io redirected the request to {host}")
        assert checks[name]["region"] == "eu"


def test_an_app_key_that_lists_the_track_keys_workspace_among_others_is_fine(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = b'{"workspaces": [{"id": "7", "name": "a"}, {"id": 1001, "name": "b"}, {"id": 9}]}'
    with workspaces_server(body) as url:
        monkeypatch.setenv("CIO_SEC_APP_URL", url)
        outcome = run_cli("credentials", "check", "-f", "json")
        checks = {check["name"]: check for check in outcome.json["checks"]}
        assert checks["app"]["status"] == "ok"
        assert checks["app"]["workspace_id"] == "1001"
        assert "workspaces 1001, 7, 9" in checks["app"]["detail"]
    body = b'{"workspaces": [{"id": "7", "name": "a"}, {"id": 9, "name": "c"}]}'
    with workspaces_server(body) as url:
        monkeypatch.setenv("CIO_SEC_APP_URL", url)
        outcome = run_cli("credentials", "check", "-f", "json", expect=ExitCode.CHECK_FAILED)
    app = outcome.json["checks"][1]
    assert app["status"] == "other-workspace"
    assert app["detail"] == (
        "the App API key sees workspaces 7, 9, not the Track key's workspace 1001"
    )


def test_an_app_redirect_anywhere_else_is_unavailable_and_never_followed(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with redirect_trap(302) as trap:
        monkeypatch.setenv("CIO_SEC_APP_URL", trap.url)
        outcome = run_cli("credentials", "check", "-f", "json", expect=ExitCode.REMOTE)
    assert trap.received == []
    statuses = {c["name"]: c["status"] for c in outcome.json["checks"]}
    assert statuses == {"track": "ok", "app": "unavailable"}


def test_an_app_key_of_a_multi_workspace_account_is_fine_for_the_track_keys_workspace(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.add_workspace("second")
    sandbox.add_workspace("third")
    outcome = run_cli("credentials", "check", "-f", "json")
    app = outcome.json["checks"][1]
    assert (app["status"], app["workspace_id"]) == ("ok", "1001")
    other_account = sandbox.add_app_key(workspace_id=3003)
    monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", other_account)
    run_cli.watched.add(other_account)
    outcome = run_cli("credentials", "check", "-f", "json", expect=ExitCode.CHECK_FAILED)
    assert outcome.json["checks"][1]["status"] == "other-workspace"


def test_the_sandboxs_wrong_datacenter_redirect_is_a_region_hint(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    eu = sandbox.add_workspace("eu", region="eu")
    eu_key = sandbox.add_app_key(workspace_id=eu.workspace_id)
    run_cli.watched.update({eu.track_api_key, eu_key})
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", eu.site_id)
    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", eu.track_api_key)
    monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", eu_key)
    sandbox.set_faults(Faults(app_wrong_region="redirect"))
    outcome = run_cli("credentials", "check", "-f", "json", expect=ExitCode.CHECK_FAILED)
    track, app = outcome.json["checks"]
    assert track["status"] == app["status"] == "region-mismatch"
    eu_host = sandbox.info.app_url_eu.removeprefix("http://")
    assert app["detail"].startswith(f"Customer.io redirected the request to {eu_host}: ")
    assert app["hint"] == track["hint"]
    workspaces = [r for r in sandbox.requests() if r.path == "/v1/workspaces"]
    assert [r.status for r in workspaces] == [301]  # and not followed to the EU host


# ------------------------------------------------------------------ pseudonym key, headless


@pytest.fixture
def headless(monkeypatch: pytest.MonkeyPatch) -> None:
    """No keyring backend and no D-Bus session, as on a server or in a container."""
    import keyring.backends.fail

    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    keyring.set_keyring(keyring.backends.fail.Keyring())


def _dotenv_key(path: str = ".env", variable: str = "CIO_SEC_PSEUDONYM_KEY") -> str:
    from dotenv import dotenv_values

    value = dotenv_values(path)[variable]
    assert value is not None
    return value


@pytest.mark.usefixtures("headless")
def test_sanitize_creates_the_first_key_in_the_writable_dotenv_file(run_cli: CliHarness) -> None:
    outcome = run_cli("sanitize", input='{"phone": "+15551234567"}\n')
    assert "phone_hash" in outcome.stdout
    assert "note: generated a new pseudonym_key" in outcome.stderr
    assert "in dotenv:.env#CIO_SEC_PSEUDONYM_KEY" in outcome.stderr
    key = _dotenv_key()
    assert key not in outcome.stdout + outcome.stderr
    again = run_cli("sanitize", input='{"phone": "+15551234567"}\n')
    assert again.stdout == outcome.stdout  # the same key, read back
    assert "generated" not in again.stderr


@pytest.mark.usefixtures("headless")
def test_generate_stores_a_strong_key_without_printing_it(run_cli: CliHarness) -> None:
    outcome = run_cli("credentials", "set", "pseudonym_key", "--generate", "-f", "json")
    key = _dotenv_key()
    assert len(key) == 64
    assert key[:4] not in outcome.stdout + outcome.stderr
    assert outcome.json["store"] == "dotenv:.env#CIO_SEC_PSEUDONYM_KEY"
    assert outcome.json["masked"] == "…"
    rotated = run_cli("rotate", "pseudonym", "--yes")  # works headless once the key exists
    assert "completed" in rotated.stdout
    assert _dotenv_key(variable="CIO_SEC_PSEUDONYM_KEY_PREVIOUS") == key


def test_generate_into_a_named_store(run_cli: CliHarness, memory_keyring: MemoryKeyring) -> None:
    refused = run_cli("credentials", "set", "pseudonym_key", "--generate", expect=3)
    assert "pseudonym_key already exists in keyring:cio-sec/default/pseudonym_key" in (
        refused.stderr
    )
    memory_keyring.delete_password("cio-sec", "default/pseudonym_key")
    outcome = run_cli(
        "credentials", "set", "pseudonym_key", "--generate", "--store", "dotenv:keys.env#PK"
    )
    assert "stored pseudonym_key in dotenv file" in outcome.stdout
    assert len(_dotenv_key("keys.env", "PK")) == 64


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("track_api_key", "--generate"), "--generate makes only pseudonym_key"),
        (("pseudonym_key", "--generate", "--stdin"), "do not pass --stdin too"),
    ],
)
def test_generate_usage_errors(run_cli: CliHarness, args: tuple[str, ...], message: str) -> None:
    outcome = run_cli("credentials", "set", *args, expect=2)
    assert message in outcome.stderr


@pytest.mark.usefixtures("headless")
@pytest.mark.parametrize("weak", ["hello", "short-key-15chr"])
def test_set_refuses_a_weak_pseudonym_key_with_the_rule_sanitize_applies(
    run_cli: CliHarness, weak: str
) -> None:
    outcome = run_cli(
        "credentials",
        "set",
        "pseudonym_key",
        "--stdin",
        "--store",
        "dotenv:.env#CIO_SEC_PSEUDONYM_KEY",
        input=weak,
        expect=2,
    )
    assert "refusing to store a weak pseudonym_key: it is shorter than 16 characters" in (
        outcome.stderr
    )
    assert "--generate" in outcome.stderr
    assert not Path(".env").exists()
    # ... which is exactly what sanitize refuses when such a key is already stored:
    Path(".env").write_text(f"CIO_SEC_PSEUDONYM_KEY={weak}\n")
    Path(".env").chmod(0o600)
    refused = run_cli("sanitize", input='{"phone": "+15551234567"}\n', expect=3)
    assert "shorter than 16 characters" in refused.stderr


@pytest.mark.timeout(60)
def test_a_real_process_outside_any_dbus_session_gets_its_key_in_dotenv(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {name: value for name, value in os.environ.items() if name != "DBUS_SESSION_BUS_ADDRESS"}
    result = subprocess.run(
        [sys.executable, "-m", "cio_sec", "sanitize"],
        input='{"phone": "+15551234567"}\n',
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=50,
    )
    assert result.returncode == 0, result.stderr
    assert "in dotenv:.env#CIO_SEC_PSEUDONYM_KEY" in result.stderr
    assert _dotenv_key() not in result.stdout + result.stderr
