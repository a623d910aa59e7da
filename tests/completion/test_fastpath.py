"""TAB and --version are answered without Typer, Click or Rich; everything else is unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cio_sec import __version__
from cio_sec.errors import ExitCode
from cio_sec.fastpath import main
from tests.support.cli import run_with_closed_stdout

SCRIPTS = Path(sys.executable).parent
HEAVY = ("typer", "click", "rich", "cio_sec.cli", "cio_sec.settings", "httpx", "keyring")
#: Runs the entry point, then reports on stderr which heavy modules it loaded.
PROBE = (
    "import sys\n"
    "from cio_sec.fastpath import main\n"
    "main()\n"
    f"heavy = {HEAVY!r}\n"
    "loaded = sorted(m for m in sys.modules if m.startswith(heavy))\n"
    "sys.stderr.write(repr(loaded))\n"
)


def _probe(*args: str, shell: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if shell is not None:
        env["_CIO_SEC_COMPLETE"] = shell
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_a_tab_loads_neither_typer_click_nor_rich(shell: str, hermetic_env: Path) -> None:
    config = Path.home() / ".config" / "cio-sec" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[profiles.staging]\nregion = "eu"\n')
    for args in (["rotate", ""], ["--profile", ""], ["sanitize", "-o", ""]):
        result = _probe(*args, shell=shell)
        assert result.stderr == "[]", args
        assert result.stdout.split("\n")[0] in ("words", "files")
    assert _probe("--profile", "", shell=shell).stdout.splitlines() == ["words", "staging"]


def test_version_loads_neither_typer_click_nor_rich() -> None:
    result = _probe("--version", shell=None)
    assert (result.stdout, result.stderr) == (f"cio-sec {__version__}\n", "[]")


def test_the_console_script_answers_a_tab() -> None:
    env = {**os.environ, "_CIO_SEC_COMPLETE": "bash"}
    result = subprocess.run(
        [str(SCRIPTS / "cio-sec"), "rotate", "p"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout == "words\npseudonym\n"


def test_a_tab_in_a_directory_that_is_gone_still_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    monkeypatch.setenv("_CIO_SEC_COMPLETE", "bash")
    monkeypatch.setattr(sys, "argv", ["cio-sec", "rotate", "t"])
    main()
    assert capfd.readouterr().out == "words\ntrack\n"


@pytest.mark.parametrize("fd_closed", [False, True], ids=["reader-gone", "fd-closed"])
def test_a_tab_with_stdout_closed_ends_quietly(
    fd_closed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_CIO_SEC_COMPLETE", "zsh")
    result = run_with_closed_stdout("rotate", "", fd_closed=fd_closed)
    assert (result.returncode, result.stderr) == (0, "")


def test_in_process_a_tab_is_answered_and_returns(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("_CIO_SEC_COMPLETE", "fish")
    monkeypatch.setattr(sys, "argv", ["cio-sec", "rotate", "w"])
    main()
    assert capfd.readouterr().out == "words\nwebhook\n"


def test_in_process_version_is_answered_and_returns(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["cio-sec", "--version"])
    main()
    assert capfd.readouterr().out == f"cio-sec {__version__}\n"


@pytest.mark.parametrize("value", [None, "complete_bash"])
def test_everything_else_goes_on_to_the_full_cli(
    value: str | None, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Scripts installed before the fast path (Click's protocol) still reach Typer."""
    if value is None:
        monkeypatch.setattr(sys, "argv", ["cio-sec", "completion", "show", "bash"])
    else:
        monkeypatch.setenv("_CIO_SEC_COMPLETE", value)
        monkeypatch.setenv("COMP_WORDS", "cio-sec credentials ")
        monkeypatch.setenv("COMP_CWORD", "2")
        monkeypatch.setattr(sys, "argv", ["cio-sec"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code in (0, None)
    out = capfd.readouterr().out
    assert ("complete -F _cio_sec cio-sec" if value is None else "check") in out


def test_version_with_stdout_closed_is_reported_by_the_full_cli() -> None:
    result = run_with_closed_stdout("--version")
    assert result.returncode == ExitCode.OUTPUT_CLOSED
