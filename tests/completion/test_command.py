"""``cio-sec completion show|install SHELL``."""

from __future__ import annotations

from pathlib import Path

import pytest

from cio_sec.completion.install import SCRIPTS
from cio_sec.errors import ExitCode
from tests.support.cli import CliHarness
from tests.support.hostile import fill, full_filesystem

HOME_PATHS = {
    "bash": ".local/share/bash-completion/completions/cio-sec",
    "zsh": ".zfunc/_cio-sec",
    "fish": ".config/fish/completions/cio-sec.fish",
}
SHIPPED = {"bash": "cio-sec.bash", "zsh": "_cio-sec", "fish": "cio-sec.fish"}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_prints_the_shipped_script(shell: str, run_cli: CliHarness) -> None:
    outcome = run_cli("completion", "show", shell)
    assert outcome.stdout == (SCRIPTS / SHIPPED[shell]).read_text()
    document = run_cli("completion", "show", shell, "-f", "json").json
    assert (document["shell"], document["script"]) == (shell, outcome.stdout)


def test_the_zsh_script_starts_with_compdef_on_its_first_line() -> None:
    assert (SCRIPTS / "_cio-sec").read_text().startswith("#compdef cio-sec\n")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_install_writes_the_script_where_the_shell_looks(
    shell: str, run_cli: CliHarness, hermetic_env: Path
) -> None:
    outcome = run_cli("completion", "install", shell)
    target = Path.home() / HOME_PATHS[shell]
    assert target.read_text() == (SCRIPTS / SHIPPED[shell]).read_text()
    assert outcome.stdout.startswith(f"wrote {target}\n")
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left


def test_install_zsh_says_what_to_add_to_zshrc_until_it_is_there(
    run_cli: CliHarness, hermetic_env: Path
) -> None:
    zshrc = Path.home() / ".zshrc"
    outcome = run_cli("completion", "install", "zsh")
    assert f"add to {zshrc}" in outcome.stdout
    assert "  fpath=(~/.zfunc $fpath)\n  autoload -Uz compinit && compinit\n" in outcome.stdout
    zshrc.write_text("fpath=(~/.zfunc $fpath)\nautoload -Uz compinit && compinit\n")
    document = run_cli("completion", "install", "zsh", "-f", "json").json
    assert (document["rc_file"], document["rc_lines"]) == (str(zshrc), [])
    assert "open a new zsh shell" in run_cli("completion", "install", "zsh").stdout


def test_install_zsh_reads_zshrc_from_zdotdir(
    run_cli: CliHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZDOTDIR", str(tmp_path))
    document = run_cli("completion", "install", "zsh", "-f", "json").json
    assert document["rc_file"] == str(tmp_path / ".zshrc")
    assert document["rc_lines"] == ["fpath=(~/.zfunc $fpath)", "autoload -Uz compinit && compinit"]


def test_install_bash_follows_bash_completion_user_dir_and_xdg(
    run_cli: CliHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    document = run_cli("completion", "install", "bash", "-f", "json").json
    assert document == {
        **document,
        "path": str(tmp_path / "data/bash-completion/completions/cio-sec"),
        "rc_file": None,
        "rc_lines": [],
    }
    monkeypatch.setenv("BASH_COMPLETION_USER_DIR", str(tmp_path / "mine"))
    document = run_cli("completion", "install", "bash", "-f", "json").json
    assert document["path"] == str(tmp_path / "mine/completions/cio-sec")


def test_install_fish_follows_xdg_config_home(
    run_cli: CliHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    run_cli("completion", "install", "fish")
    assert (tmp_path / "config/fish/completions/cio-sec.fish").is_file()


def test_install_replaces_an_older_script(run_cli: CliHarness, hermetic_env: Path) -> None:
    target = Path.home() / HOME_PATHS["fish"]
    target.parent.mkdir(parents=True)
    target.write_text("# an older script\n")
    run_cli("completion", "install", "fish")
    assert target.read_text() == (SCRIPTS / "cio-sec.fish").read_text()


@pytest.mark.parametrize("args", [["show", "tcsh"], ["install", "powershell"], ["install"]])
def test_an_unknown_or_missing_shell_is_a_usage_error_listing_the_shells(
    args: list[str], run_cli: CliHarness
) -> None:
    outcome = run_cli("completion", *args, expect=ExitCode.USAGE)
    assert "bash" in outcome.stderr
    assert "zsh" in outcome.stderr
    assert "fish" in outcome.stderr


def test_a_directory_that_cannot_be_created_is_exit_3_naming_it(
    run_cli: CliHarness, hermetic_env: Path
) -> None:
    blocker = Path.home() / ".zfunc"
    blocker.write_text("a file where the directory should be\n")
    outcome = run_cli("completion", "install", "zsh", expect=ExitCode.CONFIG)
    assert f"error: cannot write {blocker / '_cio-sec'}" in outcome.stderr
    assert "cio-sec completion show zsh" in outcome.stderr
    assert blocker.read_text() == "a file where the directory should be\n"


def test_a_full_disk_is_exit_3_and_keeps_the_old_script(
    run_cli: CliHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with full_filesystem(tmp_path / "full") as full:
        target = full / "completions" / "cio-sec"
        target.parent.mkdir()
        target.write_text("# the script installed before\n")
        monkeypatch.setenv("BASH_COMPLETION_USER_DIR", str(full))
        fill(full)
        outcome = run_cli("completion", "install", "bash", expect=ExitCode.CONFIG)
        assert f"error: {target}: No space left on device" in outcome.stderr
        assert target.read_text() == "# the script installed before\n"
        assert [p.name for p in target.parent.iterdir()] == ["cio-sec"]
