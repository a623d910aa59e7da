"""Every command, with stdout closed and with a full disk: a documented exit code, never 70.

Commands are enumerated from the Typer app, so a new command fails
`test_every_command_has_a_scenario` until it is given one here. Each scenario makes the
command do its real work against the sandbox; then it runs three ways:

- with stdout a pipe whose reader is gone (``| head -0``),
- with no stdout at all (``>&-``),
- with a real full filesystem (tmpfs) under ``XDG_STATE_HOME``, ``XDG_CONFIG_HOME`` and
  the directory its output files go to.

Each time: an exit code from the README's table other than 70, no traceback, and the
canary (and the sandbox's keys) nowhere: not on stdout or stderr, not in a file written.
"""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from cio_sec.cli import app
from cio_sec.errors import EXIT_CODE_TABLE, ExitCode
from cio_sec.pseudonym import PseudonymKey
from cio_sec.sandbox import Sandbox
from tests.conftest import CANARY
from tests.rotate.helpers import dotenv_credentials
from tests.support.cli import STDOUT_CLOSED, CliHarness, run_with_closed_stdout
from tests.support.git_repos import ENV_PAIR, TRACK_KEY, make_repo
from tests.support.hostile import fill, full_filesystem
from tests.support.trails import Person, erase_trail

pytestmark = pytest.mark.slow

DOCUMENTED = {int(code) for code, _ in EXIT_CODE_TABLE} - {int(ExitCode.INTERNAL)}


def _runnable(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command a user can run: leaves, and groups that do something by themselves."""
    subcommands = getattr(command, "commands", None) or {}
    if not subcommands or getattr(command, "invoke_without_command", False):
        yield prefix
    for name, sub in subcommands.items():
        yield from _runnable(sub, (*prefix, name))


COMMANDS = sorted(p for p in _runnable(typer.main.get_command(app)) if p)


@dataclass(frozen=True)
class Place:
    """Where a scenario reads its inputs and writes its outputs."""

    work: Path
    """Inputs, prepared before the run (never on the full filesystem)."""
    out: Path
    """Where output files go (on the full filesystem in the full-disk runs)."""
    sandbox: Sandbox
    env: pytest.MonkeyPatch
    """For a scenario that needs its credentials somewhere else than the environment."""


@dataclass(frozen=True)
class Scenario:
    """The arguments (and stdin) that make a command do its real work."""

    args: tuple[str, ...]
    input: str | None = None
    server: bool = False
    """Runs until stopped: announces itself on stdout, then serves until SIGTERM."""


def _rotate(place: Place) -> Scenario:
    """A rotation that gets as far as it can: credentials in a .env file it may rewrite."""
    env_file = dotenv_credentials(place.sandbox, place.env, place.work)
    new = place.sandbox.add_track_keys()
    return Scenario(
        ("--env-file", str(env_file), "rotate", "track", "--new-key-stdin", "--yes"),
        input=f"{new.site_id}\n{new.track_api_key}\n",
    )


def _install_completion(place: Place) -> Scenario:
    """The script goes under ``out``: on the full filesystem in the full-disk runs."""
    place.env.setenv("BASH_COMPLETION_USER_DIR", str(place.out / "bash-completion"))
    return Scenario(("completion", "install", "bash"))


SCENARIOS: dict[tuple[str, ...], Callable[[Place], Scenario]] = {
    ("sandbox",): lambda p: Scenario(("sandbox", "--port", "0", "-f", "json"), server=True),
    ("rotate",): _rotate,
    ("scan-repo",): lambda p: Scenario(
        ("scan-repo", str(p.work / "repo"), "--write-baseline", "--baseline", str(p.out / "b"))
    ),
    ("sanitize",): lambda p: Scenario(("sanitize", str(p.work / "people.ndjson"))),
    ("erase",): lambda p: Scenario(("erase", "--id", "person-1", "--ticket", "GDPR-1", "--yes")),
    ("credentials", "show"): lambda p: Scenario(("credentials", "show")),
    ("credentials", "set"): lambda p: Scenario(
        (
            "credentials",
            "set",
            "site_id",
            "--stdin",
            "--store",
            f"dotenv:{p.out / '.env'}#CUSTOMERIO_SITE_ID",
        ),
        input=p.sandbox.info.site_id,
    ),
    ("credentials", "check"): lambda p: Scenario(("credentials", "check")),
    ("verify-webhook", "sign"): lambda p: Scenario(
        ("verify-webhook", "sign", "--body", str(p.work / "body.json"))
    ),
    ("verify-webhook", "serve"): lambda p: Scenario(
        ("verify-webhook", "serve", "--port", "0"), server=True
    ),
    ("verify-webhook", "probe"): lambda p: Scenario(
        ("verify-webhook", "probe", p.sandbox.info.track_url, "--timeout", "5")
    ),
    ("verify-webhook",): lambda p: Scenario(
        (
            "verify-webhook",
            "--body",
            str(p.work / "body.json"),
            "--timestamp",
            "1700000000",
            "--now",
            "1700000000",
            "--signature",
            "0" * 64,
        )
    ),
    ("audit",): lambda p: Scenario(("audit",)),
    ("audit", "check"): lambda p: Scenario(("audit", "check")),
    ("completion", "show"): lambda p: Scenario(("completion", "show", "zsh")),
    ("completion", "install"): _install_completion,
    ("audit", "log", "verify"): lambda p: Scenario(
        ("audit", "log", "verify", str(p.work / "trail.jsonl"))
    ),
    ("audit", "log", "show"): lambda p: Scenario(
        ("audit", "log", "show", "--trail", str(p.work / "trail.jsonl"))
    ),
    ("audit", "log", "export"): lambda p: Scenario(
        ("audit", "log", "export", "--ticket", "GDPR-123", "--trail", str(p.work / "trail.jsonl"))
    ),
}

#: The second form of sanitize, with its records in a file: on a full disk that file
#: cannot be written, and with stdout closed it must still be written in full.
SANITIZE_TO_FILE: Callable[[Place], Scenario] = lambda p: Scenario(  # noqa: E731
    ("sanitize", str(p.work / "people.ndjson"), "-o", str(p.out / "clean.ndjson"))
)
CASES = [*((path, SCENARIOS.get(path)) for path in COMMANDS), (("sanitize", "-o"), None)]


def test_every_command_has_a_scenario() -> None:
    """A new command is covered the moment it exists: give it a scenario above."""
    assert set(COMMANDS) == set(SCENARIOS)


#: What each scenario ends with when nothing is in its way: the work it was written to do.
#: The verify-webhook ones are exit 1 on purpose (a wrong signature; the sandbox is no
#: safe endpoint); the rotation waits for the old key to be deleted in the UI (exit 5).
EXPECTED = {
    ("verify-webhook",): ExitCode.CHECK_FAILED,
    ("verify-webhook", "probe"): ExitCode.CHECK_FAILED,
    ("rotate",): ExitCode.PARTIAL,
}


@pytest.mark.parametrize(("path", "_"), CASES, ids=[" ".join(p) for p, _ in CASES])
def test_every_scenario_does_its_work_when_nothing_is_in_its_way(
    path: tuple[str, ...], _: object, place: Place
) -> None:
    """Else the runs below would pass on an early usage or credential error."""
    scenario = _scenario(path, place)
    code, stdout, stderr = (_serve if scenario.server else _invoke)(scenario)
    assert code == EXPECTED.get(path, ExitCode.OK), stderr
    assert stdout


@pytest.fixture
def place(
    tmp_path: Path,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    watched_secrets: set[str],
) -> Place:
    """Inputs for every scenario, credentials in the environment, the canary as a key."""
    work = tmp_path / "inputs"
    work.mkdir()
    info = sandbox.info
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", info.webhook_signing_key)
    monkeypatch.setenv("CIO_SEC_PSEUDONYM_KEY", CANARY)  # a leak would show it
    record = '{"phone": "+1 555 0100", "email": "a@example.com", "card": "4111111111111111"}\n'
    (work / "people.ndjson").write_text(record * 50)
    (work / "body.json").write_text('{"event": "email_sent"}')
    repo = make_repo(work)
    repo.commit("add", {".env": ENV_PAIR})
    watched_secrets.add(TRACK_KEY)
    erase_trail(work / "trail.jsonl", PseudonymKey.from_text(CANARY), [Person("a@example.com")])
    out = tmp_path / "outputs"
    out.mkdir()
    return Place(work, out, sandbox, monkeypatch)


def _scenario(path: tuple[str, ...], place: Place) -> Scenario:
    return SANITIZE_TO_FILE(place) if path == ("sanitize", "-o") else SCENARIOS[path](place)


def _assert_fine(code: int, stdout: str, stderr: str, watched: set[str], *places: Path) -> None:
    assert code in DOCUMENTED, f"exit {code}\n{stderr}"
    assert "Traceback" not in stderr, stderr
    assert "Exception ignored" not in stderr, stderr
    for secret in watched:
        assert secret not in stdout
        assert secret not in stderr
        for place in places:
            for file in place.rglob("*"):
                if file.is_file() and file.name != ".filler":
                    assert secret.encode() not in file.read_bytes(), file


@pytest.mark.parametrize("fd_closed", [False, True], ids=["reader-gone", "fd-closed"])
@pytest.mark.parametrize(("path", "_"), CASES, ids=[" ".join(p) for p, _ in CASES])
def test_with_stdout_closed(
    path: tuple[str, ...],
    _: object,
    fd_closed: bool,
    place: Place,
    hermetic_env: Path,
    watched_secrets: set[str],
) -> None:
    scenario = _scenario(path, place)
    result = run_with_closed_stdout(*scenario.args, input=scenario.input, fd_closed=fd_closed)
    _assert_fine(result.returncode, "", result.stderr, watched_secrets, place.out, hermetic_env)
    if result.returncode == ExitCode.OUTPUT_CLOSED:
        assert result.stderr.endswith(STDOUT_CLOSED)
    if path == ("sanitize", "-o"):  # the records went to the file: all of them are there
        assert len((place.out / "clean.ndjson").read_text().splitlines()) == 50


@pytest.mark.parametrize(("path", "_"), CASES, ids=[" ".join(p) for p, _ in CASES])
def test_on_a_full_disk(
    path: tuple[str, ...],
    _: object,
    place: Place,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    watched_secrets: set[str],
) -> None:
    with full_filesystem(tmp_path / "full", size_kib=128) as full:
        state, config = full / "state", full / "config"
        for directory in (state, config):
            directory.mkdir()
        monkeypatch.setenv("XDG_STATE_HOME", str(state))
        monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
        scenario = _scenario(path, Place(place.work, full, place.sandbox, place.env))
        fill(full)
        code, stdout, stderr = (_serve if scenario.server else _invoke)(scenario)
        _assert_fine(code, stdout, stderr, watched_secrets, full)
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        if any("No space left on device" in line for line in errors):
            assert code == ExitCode.CONFIG, stderr  # no room is exit 3, whichever file it was
        if code == ExitCode.CONFIG and path == ("sanitize", "-o"):
            assert f"{full / 'clean.ndjson'}: cannot write: No space left on device" in stderr
            assert not [p.name for p in full.iterdir() if "clean" in p.name]  # nor a temporary


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["credentials", "--help"]])
def test_what_is_printed_while_parsing_also_stops_with_exit_141(args: list[str]) -> None:
    result = run_with_closed_stdout(*args)
    assert (result.returncode, result.stderr) == (ExitCode.OUTPUT_CLOSED, STDOUT_CLOSED)


def test_an_error_under_format_json_with_stdout_closed_keeps_its_code(tmp_path: Path) -> None:
    """The error is the answer: its line on stderr and its exit code stand."""
    missing = str(tmp_path / "missing.ndjson")
    result = run_with_closed_stdout("sanitize", missing, "--check", "-f", "json")
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith(f"error: {tmp_path / 'missing.ndjson'}: cannot read")
    assert "Exception ignored" not in result.stderr


def test_no_standard_streams_at_all(tmp_path: Path, place: Place) -> None:
    """``<&- >&- 2>&-``: the files cio-sec opens never take the place of a closed stream."""
    target = place.out / "clean.ndjson"
    args = ["sanitize", str(place.work / "people.ndjson"), "-o", str(target)]
    result = subprocess.run(
        ["sh", "-c", 'exec "$@" <&- >&- 2>&-', "sh", sys.executable, "-m", "cio_sec", *args],
        env=dict(os.environ),
        timeout=50,
        check=False,
    )
    assert result.returncode == ExitCode.OUTPUT_CLOSED
    lines = target.read_text().splitlines()
    assert len(lines) == 50
    assert all(line.startswith('{"email":') for line in lines)  # records, and nothing else


def _invoke(scenario: Scenario) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(scenario.args), input=scenario.input)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


def _serve(scenario: Scenario) -> tuple[int, str, str]:
    """Start a server as a process, wait for its announcement, stop it with SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cio_sec", *scenario.args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    return process.returncode, first + stdout, stderr


# ------------------------------------------------- the boundary: no room is exit 3, once


@pytest.fixture
def failing_show(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """Make ``credentials show`` read the canary, then fail with the given exception."""
    from cio_sec import credentials

    to_raise: list[BaseException] = []
    real = credentials.show

    def fail(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise to_raise[0]

    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", CANARY)
    monkeypatch.setattr(credentials, "show", fail)
    return to_raise


def _caught(action: Callable[[], object]) -> Exception:
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - whatever the full disk raised
        return exc
    pytest.fail("the full disk took the write")


def test_a_write_on_a_full_disk_is_exit_3_whatever_file_it_was(
    run_cli: CliHarness, tmp_path: Path, failing_show: list[BaseException]
) -> None:
    with full_filesystem(tmp_path / "full", size_kib=64) as full:
        fill(full)
        handle = (full / "journal").open("wb", buffering=0)
        failing_show.append(_caught(lambda: handle.write(b"x" * 65_536)))
        handle.close()
    outcome = run_cli("credentials", "show", "-f", "json", expect=ExitCode.CONFIG)
    assert outcome.stderr.startswith("error: cannot write a file: No space left on device\n")
    assert outcome.json["error"]["type"] == "DiskFullError"
    failing_show[0] = OSError(errno.EDQUOT, os.strerror(errno.EDQUOT), "/srv/state/x.sqlite")
    outcome = run_cli("credentials", "show", expect=ExitCode.CONFIG)
    assert outcome.stderr.startswith("error: cannot write /srv/state/x.sqlite: Disk quota")
    assert "hint: free some space" in outcome.stderr


def test_a_full_database_is_exit_3(
    run_cli: CliHarness, tmp_path: Path, failing_show: list[BaseException]
) -> None:
    with full_filesystem(tmp_path / "full", size_kib=64) as full:
        database = sqlite3.connect(full / "journal.sqlite")
        database.execute("CREATE TABLE t (b BLOB)")
        fill(full)
        insert = "INSERT INTO t VALUES (?)"
        failing_show.append(_caught(lambda: database.execute(insert, (b"x" * 262_144,))))
        database.close()
    outcome = run_cli("credentials", "show", expect=ExitCode.CONFIG)
    assert outcome.stderr.startswith("error: cannot write a database: database or disk is full\n")


def test_other_os_errors_are_still_bugs(
    run_cli: CliHarness, failing_show: list[BaseException]
) -> None:
    """Only a lack of room is mapped: a permission error escaping a module is a bug."""
    failing_show.append(PermissionError(errno.EACCES, "Permission denied", "/etc/x"))
    run_cli("credentials", "show", expect=ExitCode.INTERNAL)
