"""Where cio-sec's files are by default, and how a path someone typed is anchored.

Standard library only: `cio_sec.machine_key` needs the state directory without pulling
in the stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def default_config_path(environ: Mapping[str, str], cwd: Path | None = None) -> Path:
    """Return ``$XDG_CONFIG_HOME/cio-sec/config.toml``, or ``CIO_SEC_CONFIG`` (from ``cwd``)."""
    if environ.get("CIO_SEC_CONFIG"):
        base = cwd if cwd is not None else Path.cwd()
        return resolve_path(Path(environ["CIO_SEC_CONFIG"]), base, home_dir(environ))
    return _xdg_dir(environ, "XDG_CONFIG_HOME", ".config") / "cio-sec" / "config.toml"


def default_state_dir(environ: Mapping[str, str]) -> Path:
    """Return ``$XDG_STATE_HOME/cio-sec``, where journals, locks and records live."""
    return _xdg_dir(environ, "XDG_STATE_HOME", ".local/state") / "cio-sec"


def relative_to(path: Path, base: Path) -> Path:
    """Show a path under the working directory as relative: shorter, and what was typed."""
    try:
        return path.relative_to(base)
    except ValueError:
        return path


def resolve_path(path: Path, base: Path, home: Path) -> Path:
    """Expand ``~`` against the given home (not the process's) and anchor relative paths."""
    if path.parts and path.parts[0] == "~":
        path = home.joinpath(*path.parts[1:])
    return path if path.is_absolute() else base / path


def home_dir(environ: Mapping[str, str]) -> Path:
    """``$HOME`` of the given environment (not necessarily the process's)."""
    return Path(environ.get("HOME") or Path.home())


def _xdg_dir(environ: Mapping[str, str], variable: str, fallback: str) -> Path:
    value = environ.get(variable)
    if value and Path(value).is_absolute():
        return Path(value)
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / fallback
