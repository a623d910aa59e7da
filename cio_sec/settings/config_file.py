"""The config file (``config.toml``): read it, check every profile, name the line of a mistake."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cio_sec.bounds import SETTING_BOUNDS
from cio_sec.errors import ConfigError, InputError
from cio_sec.settings.names import CREDENTIAL_ENV_NAMES, CREDENTIAL_NAMES, DEFAULT_PROFILE, REGIONS
from cio_sec.stores import SecretRef, check_reference

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_PROFILE_KEYS: dict[str, type | tuple[type, ...]] = {
    "region": str,
    "production": bool,
    "audit_log": str,
    "sanitize_policy": str,
    "track_url": str,
    "app_url": str,
    "rate": (int, float),
    "concurrency": int,
    "timeout": (int, float),
    "verify_rate": (int, float),
    **dict.fromkeys(CREDENTIAL_NAMES, (str, list)),
}

_TOP_LEVEL_KEYS = frozenset({"default_profile", "profiles"})

#: What tomllib cannot read although it is TOML: Python converts at most 4300 digits.
TOO_MANY_DIGITS = "a number has more digits than can be read (4300 at most)"


def read_config_text(path: Path) -> str | None:
    """Return the config file's text, or None when it does not exist.

    Raises:
        InputError: the file exists but cannot be read as UTF-8 text.
    """
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the config file: {exc}", path=path) from exc


@dataclass(frozen=True)
class Config:
    """The checked content of a config file."""

    default_profile: str | None
    profiles: Mapping[str, Mapping[str, Any]]


def parse_config(text: str, path: Path) -> Config:
    """Parse and check the config file's text.

    Raises:
        InputError: not valid TOML, or an unknown or mistyped key (file and line named).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"invalid TOML: {_strip_location(str(exc))}",
            path=path,
            line=_error_line(str(exc)),
        ) from None
    except ValueError:  # NOTE: an integer of more digits than Python will convert
        raise InputError(f"invalid TOML: {TOO_MANY_DIGITS}", path=path) from None
    for key in data:
        if key not in _TOP_LEVEL_KEYS:
            raise _config_key_error(f"unknown key {key!r}", text, path, None, key)
    default_profile = data.get("default_profile")
    if default_profile is not None and not isinstance(default_profile, str):
        raise _config_key_error(
            "default_profile must be a string", text, path, None, "default_profile"
        )
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise _config_key_error("profiles must be a table", text, path, None, "profiles")
    for name, profile in profiles.items():
        _check_profile(name, profile, text, path)
    return Config(default_profile, profiles)


def _check_profile(name: str, profile: object, text: str, path: Path) -> None:
    if not isinstance(profile, dict):
        raise _config_key_error(f"profile {name!r} must be a table", text, path, None, name)
    for key, value in profile.items():
        expected = _PROFILE_KEYS.get(key)
        if expected is None:
            raise _config_key_error(
                f"unknown key {key!r} in profile {name!r}",
                text,
                path,
                name,
                key,
                hint="known keys: " + ", ".join(sorted(_PROFILE_KEYS)),
            )
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            raise _config_key_error(
                f"{key!r} in profile {name!r} has the wrong type ({type(value).__name__})",
                text,
                path,
                name,
                key,
            )
        bound = SETTING_BOUNDS.get(key)
        if bound is not None and isinstance(value, int | float) and not bound.contains(value):
            raise _config_key_error(
                f"{key} in profile {name!r} must be {bound.describe()}, not {value!r}",
                text,
                path,
                name,
                key,
            )
        problem = _value_problem(key, value)
        if problem:
            raise _config_key_error(f"{key!r} in profile {name!r} {problem}", text, path, name, key)
        if key in CREDENTIAL_ENV_NAMES:
            refs = value if isinstance(value, list) else [value]
            for ref in refs:
                if not isinstance(ref, str):
                    raise _config_key_error(
                        f"{key!r} in profile {name!r} must be a reference or a list of them",
                        text,
                        path,
                        name,
                        key,
                    )
                try:
                    check_reference(SecretRef.parse(ref))
                except ConfigError as exc:
                    raise _config_key_error(
                        exc.message, text, path, name, key, hint=exc.hint
                    ) from None


def _value_problem(key: str, value: object) -> str | None:
    """What is wrong with a well-typed value, in words, or None."""
    if key == "region" and str(value).strip().lower() not in REGIONS:
        return 'must be "us" or "eu"'
    if key in ("track_url", "app_url"):
        from cio_sec.client.urls import check_http_url  # httpx only when a URL is configured

        try:
            check_http_url(str(value), key)
        except InputError:
            return "must be an http(s) URL with a host"
    return None


def _config_key_error(
    message: str,
    text: str,
    path: Path,
    profile: str | None,
    key: str,
    *,
    hint: str | None = None,
) -> InputError:
    return InputError(message, path=path, line=_line_of_key(text, profile, key), hint=hint)


def _line_of_key(text: str, profile: str | None, key: str) -> int | None:
    """Find the line defining ``key`` (inside ``[profiles.<profile>]`` when given).

    tomllib reports no positions for valid TOML, so an unknown key is located by a scan of
    the text; None when the key was written in a form this scan does not recognise.
    """
    in_section = profile is None
    header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
    key_line = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        match = header.match(line)
        if match:
            section = match.group(1).replace('"', "").replace("'", "")
            if profile is None and section.split(".")[0] == key:
                return number
            in_section = profile is None or section == f"profiles.{profile}"
            continue
        if in_section and key_line.match(line):
            return number
    return None


def _error_line(message: str) -> int | None:
    match = re.search(r"at line (\d+)", message)
    return int(match.group(1)) if match else None


def _strip_location(message: str) -> str:
    return re.sub(r"\s*\(at line \d+, column \d+\)", "", message)


def select_profile(config: Config | None, name: str, path: Path) -> Mapping[str, Any]:
    """The profile called ``name``; ``default`` exists even when the file does not.

    Raises:
        ConfigError: the profile is not defined.
    """
    if config is None:
        if name != DEFAULT_PROFILE:
            raise ConfigError(
                f"profile {name!r} is not defined: {path} does not exist",
                hint=f"create it with a [profiles.{name}] table, or drop --profile",
            )
        return {}
    if name in config.profiles:
        return config.profiles[name]
    if name == DEFAULT_PROFILE:
        return {}
    known = ", ".join(sorted(config.profiles)) or "none"
    raise ConfigError(
        f"profile {name!r} is not defined in {path}",
        hint=f"defined profiles: {known}",
    )
