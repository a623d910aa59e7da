"""Real interactive shells in a private tmux server, for the shell-completion tests.

`interactive_shell(shell, home, path)` starts bash (with bash-completion), zsh (compinit)
or fish in a detached tmux session on its own socket, with HOME and the XDG directories
under ``home``, waits for its prompt and yields a `Terminal`: `type` sends keys,
`wait_for` polls ``capture-pane`` until the screen shows every expected word (or fails
with the screen after a generous deadline: a slow machine is never a failure).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
PROMPT = "READY>"
DEADLINE = 60.0
DEBIAN_PACKAGES = "bash-completion zsh fish tmux"


def require_shells() -> None:
    """Skip the calling test when a shell or tmux is missing, or fail it under CI.

    Raises:
        pytest.skip.Exception: something is missing and ``CI`` is not set.
        pytest.fail.Exception: something is missing and ``CI`` is set: CI must run these.
    """
    missing = [name for name in ("tmux", "bash", "zsh", "fish") if shutil.which(name) is None]
    if not BASH_COMPLETION.is_file():
        missing.append("bash-completion")
    if not missing:
        return
    message = f"missing {', '.join(missing)} (apt-get install {DEBIAN_PACKAGES})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so the real-shell tests must run", pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class Terminal:
    """One tmux pane running an interactive shell."""

    socket: Path

    def tmux(self, *args: str) -> str:
        """Run a tmux command against this terminal's server; return its output."""
        return subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout

    def type(self, *keys: str) -> None:
        """Send keys (literal text, or tmux key names such as ``Tab`` and ``C-u``)."""
        self.tmux("send-keys", "-t", "test", *keys)

    def screen(self) -> str:
        """What the pane shows now."""
        return self.tmux("capture-pane", "-p", "-t", "test")

    def wait_for(self, *words: str) -> str:
        """Poll the screen until it shows every one of ``words``; return it."""
        deadline = time.monotonic() + DEADLINE
        screen = self.screen()
        while not all(word in screen for word in words):
            if time.monotonic() > deadline:
                pytest.fail(f"the screen never showed {words}:\n{screen}")
            time.sleep(0.1)
            screen = self.screen()
        return screen


def _environment(home: Path, path: str) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": path,
        "TERM": "xterm",
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }


def _command(shell: str, home: Path) -> list[str]:
    """The shell, started interactively with a known prompt and its completion system."""
    if shell == "bash":
        rc = home / ".bashrc"
        rc.write_text(f"source {BASH_COMPLETION}\nPS1='{PROMPT} '\n")
        return ["bash", "--noprofile", "--rcfile", str(rc), "-i"]
    if shell == "zsh":
        # The two lines `completion install zsh` asks for, then the prompt.
        (home / ".zshrc").write_text(
            f"fpath=(~/.zfunc $fpath)\nautoload -Uz compinit && compinit\nPROMPT='{PROMPT} '\n"
        )
        return ["zsh", "-i"]
    config = home / ".config" / "fish" / "config.fish"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"set -g fish_greeting\nfunction fish_prompt; echo -n '{PROMPT} '; end\n")
    return ["fish", "-i"]


@contextmanager
def interactive_shell(shell: str, home: Path, path: str) -> Iterator[Terminal]:
    """Start ``shell`` in a private tmux server; stop the server when the block ends."""
    require_shells()
    terminal = Terminal(home.parent / f"tmux-{shell}.sock")
    command = _command(shell, home)
    subprocess.run(
        [
            *("tmux", "-S", str(terminal.socket), "-f", "/dev/null", "new-session", "-d"),
            *("-s", "test", "-x", "200", "-y", "50", *command),
        ],
        env=_environment(home, path),
        check=True,
        timeout=30,
    )
    try:
        terminal.wait_for(PROMPT)
        yield terminal
    finally:
        subprocess.run(
            ["tmux", "-S", str(terminal.socket), "kill-server"],
            capture_output=True,
            check=False,
            timeout=30,
        )
