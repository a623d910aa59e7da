"""Environment variables and the ``.env`` file: what each may set, and what is a typo."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cio_sec.errors import ConfigError, InputError
from cio_sec.settings.names import KNOWN_ENV_VARS, REGIONS
from cio_sec.stores.dotenv_text import parse_dotenv

_TRUE = frozenset({"1", "true", "yes", "on"})

_FALSE = frozenset({"0", "false", "no", "off", ""})


def parse_bool(value: str, *, name: str) -> bool:
    """Read a boolean environment variable (1/true/yes/on, 0/false/no/off).

    Raises:
        ConfigError: the value is neither.
    """
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean", hint="use 1/0, true/false or yes/no")


def read_dotenv(path: Path) -> tuple[dict[str, str | None], tuple[str, ...]]:
    """Read a dotenv file's values (no ``${VAR}`` interpolation: secrets stay literal).

    Returns the values and a warning per line that could not be parsed.

    Raises:
        InputError: the file cannot be read or is not UTF-8.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid UTF-8"
        raise InputError(f"cannot read the dotenv file: {reason}", path=path) from None
    values, bad_lines = parse_dotenv(text.replace("\r\n", "\n").replace("\r", "\n"))
    return values, tuple(f"{path}:{line}: cannot parse this line; ignored" for line in bad_lines)


def merge_env(environ: Mapping[str, str], dotenv: Mapping[str, str | None]) -> dict[str, str]:
    """The ``.env`` values overridden by the real environment."""
    merged = {key: value for key, value in dotenv.items() if value is not None}
    merged.update(environ)
    return merged


def regional_urls(environ: Mapping[str, str], prefix: str) -> dict[str, str]:
    """``<prefix>_US``/``_EU`` from the real environment, by region (never from ``.env``)."""
    urls = {region: environ.get(f"{prefix}_{region.upper()}") for region in REGIONS}
    return {region: url for region, url in urls.items() if url}


#: The ``CIO_SEC_*`` variables a ``.env`` file may set; the others must come from the
#: real environment (where requests go, which profile, the output format).
_DOTENV_HONOURED = frozenset(
    {"CIO_SEC_NON_INTERACTIVE", "CIO_SEC_PSEUDONYM_KEY", "CIO_SEC_PSEUDONYM_KEY_PREVIOUS"}
)


def ignored_dotenv_warnings(dotenv: Mapping[str, str | None]) -> tuple[str, ...]:
    """A warning per ``CIO_SEC_*`` variable of the ``.env`` file that is not honoured."""
    warnings = []
    for name in sorted(dotenv):
        if not name.startswith("CIO_SEC_") or name in _DOTENV_HONOURED:
            continue
        if name in KNOWN_ENV_VARS:
            warnings.append(
                f"ignoring {name} in the .env file: set it in the environment (a .env file "
                "may not choose where requests go, the profile or the output format)"
            )
        else:
            warnings.append(f"ignoring unknown variable {name} in the .env file (a typo?)")
    return tuple(warnings)


def unknown_env_warnings(environ: Mapping[str, str]) -> tuple[str, ...]:
    """A warning per ``CIO_SEC_*`` variable cio-sec does not know (a typo?)."""
    return tuple(
        f"ignoring unknown environment variable {name} (a typo?)"
        for name in sorted(environ)
        if name.startswith("CIO_SEC_") and name not in KNOWN_ENV_VARS
    )
