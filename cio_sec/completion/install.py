"""``completion show`` and ``completion install``: the shipped scripts and where they go.

The scripts are package data (``cio_sec/completion/scripts/``), so a wheel installed by
pipx carries them. Each shell has a per-user directory it loads completions from; only
zsh needs a line in its rc file, to put that directory on ``fpath``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cio_sec.atomicfile import atomic_write
from cio_sec.errors import (
    NO_ROOM_ERRNOS,
    NO_ROOM_HINT,
    ConfigError,
    ExitCode,
    OutputWriteError,
)

SCRIPTS = Path(__file__).parent / "scripts"
#: Shell → the shipped script's file name (also its name once installed).
SCRIPT_NAMES = {"bash": "cio-sec.bash", "zsh": "_cio-sec", "fish": "cio-sec.fish"}
ZSH_DIRECTORY = ".zfunc"
ZSH_RC_LINES = ("fpath=(~/.zfunc $fpath)", "autoload -Uz compinit && compinit")


def script_text(shell: str) -> str:
    """The completion script for ``shell`` (one of `SCRIPT_NAMES`)."""
    return (SCRIPTS / SCRIPT_NAMES[shell]).read_text(encoding="utf-8")


@dataclass(frozen=True)
class CompletionScript:
    """The result of ``completion show``: the script itself."""

    shell: str
    script: str
    ok: bool = True

    @property
    def exit_code(self) -> ExitCode:
        """Always 0: a failure raises instead."""
        return ExitCode.OK

    def to_json(self) -> dict[str, object]:
        """The JSON payload."""
        return {"shell": self.shell, "script": self.script}


@dataclass(frozen=True)
class InstalledScript:
    """The result of ``completion install``: where the script went, what the rc file needs."""

    shell: str
    path: Path
    rc_file: Path | None
    rc_lines: tuple[str, ...]
    """Lines to add to ``rc_file`` (before any existing compinit); empty when none."""
    ok: bool = True

    @property
    def exit_code(self) -> ExitCode:
        """Always 0: a failure raises instead."""
        return ExitCode.OK

    def to_json(self) -> dict[str, object]:
        """The JSON payload."""
        return {
            "shell": self.shell,
            "path": str(self.path),
            "rc_file": None if self.rc_file is None else str(self.rc_file),
            "rc_lines": list(self.rc_lines),
        }


def install_script(shell: str, environ: Mapping[str, str]) -> InstalledScript:
    """Write the script for ``shell`` into its per-user completion directory, atomically.

    Raises:
        OutputWriteError: the disk (or quota) is full; the old script, if any, stays.
        ConfigError: the directory cannot be created or written.
    """
    target = install_path(shell, environ)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, script_text(shell).encode("utf-8"))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in NO_ROOM_ERRNOS:
            raise OutputWriteError(reason, path=target, hint=NO_ROOM_HINT) from exc
        raise ConfigError(
            f"cannot write {target}: {reason}",
            hint="check the directory's permissions, or print the script with "
            f"`cio-sec completion show {shell}` and save it yourself",
        ) from exc
    rc_file, rc_lines = _rc_needs(shell, environ)
    return InstalledScript(shell, target, rc_file, rc_lines)


def install_path(shell: str, environ: Mapping[str, str]) -> Path:
    """Where ``shell`` looks for a user's completion script for cio-sec."""
    home = Path(environ.get("HOME") or Path.home())
    if shell == "bash":
        user_dir = environ.get("BASH_COMPLETION_USER_DIR")
        base = Path(user_dir) if user_dir else _xdg(environ, "XDG_DATA_HOME", home / ".local/share")
        if not user_dir:
            base = base / "bash-completion"
        return base / "completions" / "cio-sec"
    if shell == "zsh":
        return home / ZSH_DIRECTORY / SCRIPT_NAMES["zsh"]
    return (
        _xdg(environ, "XDG_CONFIG_HOME", home / ".config") / "fish" / "completions" / "cio-sec.fish"
    )


def _xdg(environ: Mapping[str, str], variable: str, fallback: Path) -> Path:
    value = environ.get(variable)
    return Path(value) if value and Path(value).is_absolute() else fallback


def _rc_needs(shell: str, environ: Mapping[str, str]) -> tuple[Path | None, tuple[str, ...]]:
    """The rc file of zsh and the lines it lacks; bash-completion and fish need none."""
    if shell != "zsh":
        return None, ()
    home = Path(environ.get("HOME") or Path.home())
    rc_file = Path(environ.get("ZDOTDIR") or home) / ".zshrc"
    try:
        current = rc_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        current = ""
    if ZSH_DIRECTORY in current and "compinit" in current:
        return rc_file, ()
    return rc_file, ZSH_RC_LINES
