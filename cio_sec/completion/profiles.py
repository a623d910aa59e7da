"""The profile names in ``config.toml``, for ``--profile <TAB>``.

Finds the file the way `cio_sec.settings.default_config_path` does (a test keeps the two
equal) without importing settings, whose imports a TAB press cannot afford. A file that
cannot be read or parsed offers nothing: completion never prints an error.
"""

from __future__ import annotations

import sys
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def config_path(environ: Mapping[str, str], cwd: Path) -> Path:
    """``CIO_SEC_CONFIG`` (relative to ``cwd``, ``~`` is HOME), else the XDG config file."""
    home = Path(environ.get("HOME") or Path.home())
    explicit = environ.get("CIO_SEC_CONFIG")
    if explicit:
        path = Path(explicit)
        if path.parts and path.parts[0] == "~":
            path = home.joinpath(*path.parts[1:])
        return path if path.is_absolute() else cwd / path
    xdg = environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".config"
    return base / "cio-sec" / "config.toml"


def profile_names(environ: Mapping[str, str], cwd: Path) -> list[str]:
    """The names under ``[profiles]``, in file order; empty when there are none to read."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(config_path(environ, cwd).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):  # TOMLDecodeError is a ValueError
        return []
    profiles = data.get("profiles")
    return [str(name) for name in profiles] if isinstance(profiles, dict) else []
