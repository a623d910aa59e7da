"""TAB in real bash, zsh and fish, with the scripts `completion install` puts in place."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.shells import interactive_shell

pytestmark = pytest.mark.slow

SCRIPTS = Path(sys.executable).parent
SHELLS = ["bash", "zsh", "fish"]
KINDS = ("track", "app", "webhook", "pseudonym")
PROFILES = ("staging", "prod-main")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh HOME with two profiles in config.toml."""
    home = tmp_path / "shell-home"
    config = home / ".config" / "cio-sec" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[profiles.staging]\nregion = "eu"\n\n[profiles.prod-main]\nregion = "us"\n')
    return home


def _install(shell: str, home: Path) -> str:
    """Install the script as a user would; return a PATH whose cio-sec counts its runs."""
    env = {
        "HOME": str(home),
        "PATH": os.environ["PATH"],
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
    }
    subprocess.run(
        [str(SCRIPTS / "cio-sec"), "completion", "install", shell],
        env={**os.environ, **env},
        capture_output=True,
        check=True,
        timeout=60,
    )
    shim = home / "bin" / "cio-sec"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\necho "$*" >> "$HOME/runs"\nexec {SCRIPTS / "cio-sec"} "$@"\n')
    shim.chmod(0o755)
    return f"{shim.parent}:/usr/local/bin:/usr/bin:/bin"


def _tab(shell: str) -> tuple[str, ...]:
    # bash lists the candidates on a second TAB; zsh and fish on the first.
    return ("Tab", "Tab") if shell == "bash" else ("Tab",)


@pytest.mark.parametrize("shell", SHELLS)
def test_rotate_tab_offers_the_kinds(shell: str, home: Path) -> None:
    path = _install(shell, home)
    with interactive_shell(shell, home, path) as terminal:
        terminal.type("cio-sec rotate ", *_tab(shell))
        terminal.wait_for(*KINDS)


@pytest.mark.parametrize("shell", SHELLS)
def test_profile_tab_offers_the_profiles_of_config_toml(shell: str, home: Path) -> None:
    path = _install(shell, home)
    with interactive_shell(shell, home, path) as terminal:
        terminal.type("cio-sec --profile ", *_tab(shell))
        terminal.wait_for(*PROFILES)


@pytest.mark.parametrize("shell", SHELLS)
def test_a_unique_answer_is_completed_in_the_line(shell: str, home: Path) -> None:
    path = _install(shell, home)
    with interactive_shell(shell, home, path) as terminal:
        terminal.type("cio-sec rotate pse", "Tab")
        terminal.wait_for("cio-sec rotate pseudonym")


@pytest.mark.parametrize("shell", SHELLS)
def test_an_output_file_completes_to_a_file_name(shell: str, home: Path) -> None:
    path = _install(shell, home)
    (home / "clean-records.ndjson").write_text("")
    with interactive_shell(shell, home, path) as terminal:
        terminal.type("cd ~", "Enter", "cio-sec sanitize in.ndjson -o clean-re", "Tab")
        terminal.wait_for("-o clean-records.ndjson")


def test_fish_runs_cio_sec_once_per_tab(home: Path) -> None:
    path = _install("fish", home)
    with interactive_shell("fish", home, path) as terminal:
        terminal.type("cio-sec rotate ", "Tab")
        terminal.wait_for(*KINDS)
        assert (home / "runs").read_text() == "rotate \n"


def test_zsh_answers_the_first_tab_of_a_new_shell(home: Path) -> None:
    """The script is autoloaded by that first TAB, and must answer it too."""
    path = _install("zsh", home)
    with interactive_shell("zsh", home, path) as terminal:
        terminal.type("cio-sec cred", "Tab")
        terminal.wait_for("cio-sec credentials")
        assert (home / "runs").read_text() == "cred\n"
