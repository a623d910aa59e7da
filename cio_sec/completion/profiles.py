"""The profile names in ``config.toml``, for ``--profile <TAB>``.

Finds the file the way `cio_sec.settings.default_config_path` does (a test keeps the two
equal) without importing settings, whose imports a TAB press cannot afford. A file that
cannot be read or parsed offers nothing: completion never prints an error. Paths are
strings here: importing pathlib would cost a TAB press several milliseconds.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def config_path(environ: Mapping[str, str], cwd: str) -> str:
    """``CIO_SEC_CONFIG`` (relative to ``cwd``, ``~`` is HOME), else the XDG config file."""
    home = environ.get("HOME") or os.path.expanduser("~")
    explicit = environ.get("CIO_SEC_CONFIG")
    if explicit:
        if explicit == "~" or explicit.startswith("~/"):
            explicit = home + explicit[1:]
        return os.path.join(cwd, explicit)  # an absolute path stays as it is
    xdg = environ.get("XDG_CONFIG_HOME")
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(home, ".config")
    return os.path.join(base, "cio-sec", "config.toml")


def profile_names(environ: Mapping[str, str], cwd: str) -> list[str]:
    """The names under ``[profiles]``, in file order; empty when there are none to read."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        with open(config_path(environ, cwd), encoding="utf-8") as file:
            data = tomllib.loads(file.read())
    except (OSError, UnicodeDecodeError, ValueError):  # TOMLDecodeError is a ValueError
        return []
    profiles = data.get("profiles")
    return [str(name) for name in profiles] if isinstance(profiles, dict) else []
