"""The CLI frame: global options, the error boundary and exit codes, help texts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

from cio_sec import __version__, credentials
from cio_sec.errors import EXIT_CODE_TABLE, ExitCode
from cio_sec.render import SCHEMA_VERSION
from cio_sec.sandbox import Faults, Sandbox
from tests.conftest import CANARY
from tests.support.cli import STDOUT_CLOSED, CliHarness, run_with_closed_stdout


def test_version(run_cli: CliHarness) -> None:
    assert run_cli("--version").stdout == f"cio-sec {__version__}\n"


def test_help_shows_the_exit_code_table(run_cli: CliHarness) -> None:
    outcome = run_cli("--help")
    for code, meaning in EXIT_CODE_TABLE:
        assert f"{int(code):>3}  {meaning.split()[0]}" in outcome.stdout


def _config(text: str) -> Path:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "cio-sec" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_config_syntax_error_is_exit_2_with_file_and_line(run_cli: CliHarness) -> None:
    path = _config("[profiles.prod]\nregion = 'eu'\nrate = = 3\n")
    outcome = run_cli("credentials", "show", expect=ExitCode.USAGE)
    assert outcome.stderr.startswith(f"error: {path}:3: invalid TOML")


def test_unknown_config_key_is_exit_2_with_a_hint(run_cli: CliHarness) -> None:
    path = _config("[profiles.default]\nregoin = 'eu'\n")
    outcome = run_cli("credentials", "show", expect=ExitCode.USAGE)
    assert f"{path}:2: unknown key 'regoin'" in outcome.stderr
    assert "hint: known keys:" in outcome.stderr


def test_profile_from_config_is_used(run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    _config("[profiles.prod]\nregion = 'eu'\ntrack_api_key = 'env:PROD_TRACK_KEY'\n")
    monkeypatch.setenv("PROD_TRACK_KEY", CANARY)
    document = run_cli("--profile", "prod", "credentials", "show", "-f", "json").json
    assert document["profile"] == "prod"
    assert document["region"] == "eu"
    rows = {row["name"]: row for row in document["credentials"]}
    assert rows["track_api_key"]["source"] == "env:PROD_TRACK_KEY"
    outcome = run_cli("--profile", "nope", "credentials", "show", expect=ExitCode.CONFIG)
    assert "profile 'nope' is not defined" in outcome.stderr


def test_missing_env_file_is_exit_2(run_cli: CliHarness) -> None:
    outcome = run_cli("--env-file", "nope.env", "credentials", "show", expect=ExitCode.USAGE)
    assert "nope.env" in outcome.stderr


def test_format_defaults_from_the_environment(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIO_SEC_FORMAT", "json")
    assert run_cli("credentials", "show").json["command"] == "credentials show"


def test_unknown_cio_sec_variable_is_warned_about(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIO_SEC_FROMAT", "json")
    outcome = run_cli("credentials", "show")
    assert "unknown environment variable CIO_SEC_FROMAT" in outcome.stderr


@pytest.fixture
def exploding_show(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """Make ``credentials show`` read the canary, then fail with the given exception."""
    to_raise: list[BaseException] = []
    real = credentials.show

    def explode(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise to_raise[0]

    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", CANARY)
    monkeypatch.setattr(credentials, "show", explode)
    return to_raise


def test_a_bug_is_exit_70_with_one_redacted_line(
    run_cli: CliHarness, exploding_show: list[BaseException]
) -> None:
    exploding_show.append(RuntimeError(f"boom {CANARY}"))
    outcome = run_cli("credentials", "show", expect=ExitCode.INTERNAL)
    assert "internal error: RuntimeError: boom ca…57" in outcome.stderr
    assert "--debug" in outcome.stderr


def test_debug_shows_a_redacted_traceback_without_locals(
    run_cli: CliHarness, exploding_show: list[BaseException]
) -> None:
    exploding_show.append(RuntimeError(f"boom {CANARY}"))
    outcome = run_cli("--debug", "credentials", "show", expect=ExitCode.INTERNAL)
    assert "Traceback (most recent call last)" in outcome.stderr
    assert "RuntimeError: boom ca…57" in outcome.stderr
    assert "locals" not in outcome.stderr.lower()


@pytest.mark.parametrize("exception", [KeyboardInterrupt(), typer.Abort()])
def test_interruption_is_exit_130(
    run_cli: CliHarness, exploding_show: list[BaseException], exception: BaseException
) -> None:
    exploding_show.append(exception)
    outcome = run_cli("credentials", "show", expect=ExitCode.INTERRUPTED)
    assert outcome.stderr.startswith("error: ")


def _connection_established_to(port: int) -> bool:
    """True once some process on this machine holds an open TCP connection to the port."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].rsplit(":", 1)[1], 16)
        if remote_port == port and fields[3] == "01":  # 01 = ESTABLISHED
            return True
    return False


@pytest.mark.timeout(60)
def test_ctrl_c_during_a_slow_request_exits_130_without_traceback(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.set_faults(Faults(latency_ms=20_000))
    process = subprocess.Popen(
        [sys.executable, "-m", "cio_sec", "credentials", "check"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    port = int(sandbox.info.track_url.rsplit(":", 1)[1])
    deadline = time.monotonic() + 20
    while not _connection_established_to(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == ExitCode.INTERRUPTED, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    assert sandbox.info.track_api_key not in stdout + stderr


def test_every_command_has_help_with_an_example_and_a_format_option(
    run_cli: CliHarness,
) -> None:
    for command in (
        ["credentials", "show"],
        ["credentials", "set"],
        ["credentials", "check"],
        ["sandbox"],
    ):
        outcome = run_cli(*command, "--help")
        assert "Example" in outcome.stdout, command
        assert "--format" in outcome.stdout, command


def test_failures_under_format_json_are_json_objects_too(run_cli: CliHarness) -> None:
    outcome = run_cli(
        "credentials", "set", "site_id", "--stdin", "-f", "json", input="", expect=ExitCode.USAGE
    )
    assert outcome.json == {
        "schema_version": SCHEMA_VERSION,
        "command": "credentials set",
        "ok": False,
        "error": {
            "exit_code": 2,
            "type": "InputError",
            "message": "refusing to store an empty value for site_id",
            "hint": None,
        },
    }
    assert outcome.stderr.startswith("error: refusing to store an empty value")
    assert run_cli("credentials", "set", "site_id", "--stdin", input="", expect=2).stdout == ""


def test_a_bug_under_format_json_is_a_redacted_json_object(
    run_cli: CliHarness, exploding_show: list[BaseException]
) -> None:
    exploding_show.append(RuntimeError(f"boom {CANARY}"))
    error = run_cli("credentials", "show", "-f", "json", expect=ExitCode.INTERNAL).json["error"]
    assert error["type"] == "InternalError"
    assert error["message"] == "RuntimeError: boom ca…57"


def test_a_closed_stdout_is_exit_141_with_one_line() -> None:
    """``cio-sec ... | head -0``: no traceback, no 'Exception ignored' at exit."""
    result = run_with_closed_stdout("credentials", "show", "-f", "json")
    assert result.returncode == ExitCode.OUTPUT_CLOSED
    assert result.stderr == STDOUT_CLOSED


def test_a_region_mismatch_names_the_profile_it_came_from(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config("[profiles.prod]\nregion = 'eu'\n")
    outcome = run_cli(
        "--profile", "prod", "credentials", "check", "-f", "json", expect=ExitCode.CHECK_FAILED
    )
    track = outcome.json["checks"][0]
    assert "the account is in region 'us', but profile 'prod' in " in track["detail"]
    assert track["detail"].endswith("config.toml says 'eu'")
    assert track["hint"].startswith("set region = \"us\" in profile 'prod' in ")
    monkeypatch.setenv("CUSTOMERIO_REGION", "eu")
    outcome = run_cli("credentials", "check", "-f", "json", expect=ExitCode.CHECK_FAILED)
    assert outcome.json["checks"][0]["detail"].endswith("but CUSTOMERIO_REGION says 'eu'")


def test_an_unparsable_dotenv_line_is_one_warning_with_file_and_line(
    run_cli: CliHarness,
) -> None:
    Path(".env").write_text('CUSTOMERIO_SITE_ID=0123456789abcdef0123\nthis is "broken\n')
    Path(".env").chmod(0o600)
    outcome = run_cli("credentials", "show")
    assert outcome.stderr.count("cannot parse") == 1
    assert f"warning: {Path.cwd() / '.env'}:2: cannot parse this line; ignored" in outcome.stderr
    assert "python-dotenv" not in outcome.stderr


def test_no_arguments_is_a_usage_error_that_shows_help(run_cli: CliHarness) -> None:
    outcome = run_cli(expect=ExitCode.USAGE)
    assert "Usage: cio-sec" in outcome.stdout + outcome.stderr
    assert "credentials" in outcome.stdout + outcome.stderr
