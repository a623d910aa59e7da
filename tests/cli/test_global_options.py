"""The global flags: ``--no-color`` and ``--quiet`` before or after the subcommand."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.cli.global_flags import ANYWHERE, hoist_global_flags
from cio_sec.sandbox import Sandbox
from tests.support.cli import CliHarness
from tests.support.memory_keyring import MemoryKeyring

RED = "\x1b[31m"
#: An SGR sequence that sets a foreground colour (bold or italic alone are not colour).
COLOUR = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-8]|9[0-7])(?:;\d+)*m")


@pytest.mark.parametrize(
    "args",
    [
        ("--no-color", "credentials", "check"),
        ("credentials", "check", "--no-color"),
        ("credentials", "--no-color", "check"),
    ],
)
def test_no_color_works_before_and_after_the_subcommand(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert RED in run_cli("credentials", "check", expect=3).stdout  # "missing", in red
    plain = run_cli(*args, expect=3).stdout
    assert "missing" in plain
    assert not COLOUR.search(plain)


def test_no_color_in_the_environment_still_works(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    assert not COLOUR.search(run_cli("credentials", "check", expect=3).stdout)


def test_a_flag_after_double_dash_is_not_a_global_flag(run_cli: CliHarness) -> None:
    """After ``--`` it is an argument: here a file sanitize cannot find (exit 2)."""
    outcome = run_cli("sanitize", "--", "--quiet", expect=2)
    assert "--quiet" in outcome.stderr


_WORDS = st.lists(
    st.sampled_from(["--no-color", "--quiet", "-q", "--", "credentials", "show", "-f", "json"])
)


@given(_WORDS)
def test_hoisting_moves_only_global_flags_before_double_dash(args: list[str]) -> None:
    hoisted = hoist_global_flags(args)
    assert sorted(hoisted) == sorted(args)
    end = args.index("--") if "--" in args else len(args)
    assert hoisted[end:] == args[end:]
    flags = [arg for arg in args[:end] if arg in ANYWHERE]
    assert hoisted[: len(flags)] == flags
    assert [arg for arg in hoisted[:end] if arg not in ANYWHERE] == [
        arg for arg in args[:end] if arg not in ANYWHERE
    ]


# --------------------------------------------------------------------------- --quiet


@pytest.mark.parametrize(
    ("args", "environ"),
    [(("--quiet",), {}), (("-q",), {}), ((), {"CIO_SEC_QUIET": "1"})],
)
def test_quiet_drops_the_note_about_a_new_key_but_not_the_result(
    run_cli: CliHarness,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    environ: dict[str, str],
) -> None:
    memory_keyring.delete_password("cio-sec", "default/pseudonym_key")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    quiet = run_cli("sanitize", *args, input='{"phone": "+15551234567"}\n')
    assert quiet.stderr == ""
    assert "phone_hash" in quiet.stdout
    assert memory_keyring.get_password("cio-sec", "default/pseudonym_key")


def test_without_quiet_the_note_about_a_new_key_is_printed(
    run_cli: CliHarness, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.delete_password("cio-sec", "default/pseudonym_key")
    loud = run_cli("sanitize", input='{"phone": "+15551234567"}\n')
    assert "note: generated a new pseudonym_key" in loud.stderr


def test_quiet_after_the_subcommand_drops_erase_notes_but_keeps_the_result(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    sandbox.add_person("x1")
    loud = run_cli("erase", "--id", "x1", "--yes", "--restart")
    assert "plan: erase 1 people" in loud.stderr
    quiet = run_cli("erase", "--id", "x1", "--yes", "--restart", "--quiet")
    assert "plan:" not in quiet.stderr
    assert "completed" in quiet.stdout


def test_quiet_keeps_errors(run_cli: CliHarness) -> None:
    outcome = run_cli("erase", "--quiet", expect=2)
    assert outcome.stderr.startswith("error: give either --file PATH")


def _erase_in_a_terminal(*extra: str) -> str:
    """``cio-sec erase`` on a pseudo-terminal (where the progress bar is drawn)."""
    controller, terminal = pty.openpty()
    environ = {**os.environ, "CIO_SEC_PSEUDONYM_KEY": "f" * 64, "TERM": "xterm"}
    process = subprocess.Popen(
        [sys.executable, "-m", "cio_sec", "erase", "--id", "x1", "--yes", "--restart", *extra],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=environ,
    )
    os.close(terminal)
    seen = b""
    try:
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        assert process.wait(timeout=50) == 0, seen
    finally:
        process.kill()
        process.wait()
        os.close(controller)
    return seen.decode("utf-8", "replace")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_quiet_silences_the_progress_bar_on_a_terminal(sandbox: Sandbox) -> None:
    sandbox.add_person("x1")
    loud = _erase_in_a_terminal()
    assert "erasing" in loud
    assert "people/s" in loud
    quiet = _erase_in_a_terminal("--quiet")
    assert "people/s" not in quiet
    assert "plan:" not in quiet
    assert "completed" in quiet
