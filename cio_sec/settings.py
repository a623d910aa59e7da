"""Settings: profiles from ``config.toml``, environment variables and the ``.env`` file.

`load_settings()` is a pure function over mappings, so tests pass dicts and the CLI passes
``os.environ``. Precedence for each non-secret setting: command-line flag > environment
variable > ``.env`` file > profile in ``config.toml`` > built-in default, except that the
profile and the API base URLs are never taken from a ``.env`` file. Secrets are not
read here: a profile only names *where* each credential lives (secret references); the
values are read later, on demand, through `cio_sec.credentials`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cio_sec.bounds import SETTING_BOUNDS
from cio_sec.errors import ConfigError, InputError
from cio_sec.stores import SecretRef, check_reference

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

REGIONS = ("us", "eu")

#: Credential name → the environment variable that holds it when no profile says otherwise.
CREDENTIAL_ENV_NAMES: dict[str, str] = {
    "site_id": "CUSTOMERIO_SITE_ID",
    "track_api_key": "CUSTOMERIO_TRACK_API_KEY",
    "app_api_key": "CUSTOMERIO_APP_API_KEY",
    "webhook_signing_key": "CUSTOMERIO_WEBHOOK_SECRET",
    "pseudonym_key": "CIO_SEC_PSEUDONYM_KEY",
}
CREDENTIAL_NAMES = tuple(CREDENTIAL_ENV_NAMES)

DEFAULT_PROFILE = "default"
KEYRING_SERVICE = "cio-sec"

#: Every ``CIO_SEC_*`` variable cio-sec reads; any other one is probably a typo.
KNOWN_ENV_VARS = frozenset(
    {
        "CIO_SEC_PROFILE",
        "CIO_SEC_CONFIG",
        "CIO_SEC_FORMAT",
        "CIO_SEC_TRACK_URL",
        "CIO_SEC_APP_URL",
        "CIO_SEC_TRACK_URL_US",
        "CIO_SEC_TRACK_URL_EU",
        "CIO_SEC_APP_URL_US",
        "CIO_SEC_APP_URL_EU",
        "CIO_SEC_NON_INTERACTIVE",
        "CIO_SEC_QUIET",
        "CIO_SEC_PSEUDONYM_KEY",
        "CIO_SEC_PSEUDONYM_KEY_PREVIOUS",
    }
)

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
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
#: What tomllib cannot read although it is TOML: Python converts at most 4300 digits.
TOO_MANY_DIGITS = "a number has more digits than can be read (4300 at most)"


@dataclass(frozen=True)
class CliFlags:
    """The global command-line options that influence settings."""

    profile: str | None = None
    env_file: Path | None = None
    non_interactive: bool = False
    stdin_is_tty: bool = True


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a command needs to know before it touches a secret or the network."""

    profile: str
    config_path: Path | None
    """The config file the profile came from; None when running on defaults."""
    region: str
    region_source: str = "the default"
    """Where the region came from, in words (for messages that say how to change it)."""
    production: bool = False
    credentials: Mapping[str, tuple[SecretRef, ...]]
    """Credential name → the references to try, in order; the first with a value wins."""
    track_url: str | None = None
    """Base URL override for the Track API (tests and rehearsals point it at the sandbox)."""
    app_url: str | None = None
    regional_track_urls: Mapping[str, str] = field(default_factory=dict)
    """Region → Track base URL override (``CIO_SEC_TRACK_URL_US``/``_EU``): where the
    other region is, for telling a wrong region from a wrong key."""
    regional_app_urls: Mapping[str, str] = field(default_factory=dict)
    """Region → App base URL override (``CIO_SEC_APP_URL_US``/``_EU``)."""
    env_file: Path
    state_dir: Path
    audit_log: Path
    sanitize_policy: Path | None = None
    """A TOML sanitisation policy file; None means the built-in default policy."""
    rate: float = 100.0
    concurrency: int = 16
    timeout: float = 10.0
    verify_rate: float = 10.0
    """App API read-backs per second when erase verifies (Customer.io allows 10)."""
    non_interactive: bool = False
    cwd: Path
    warnings: tuple[str, ...] = field(default=())
    """Problems worth telling the operator that do not stop the command."""

    def references(self, name: str) -> tuple[SecretRef, ...]:
        """Return the references for a credential.

        Raises:
            ConfigError: the name is not a credential cio-sec knows.
        """
        try:
            return self.credentials[name]
        except KeyError:
            raise ConfigError(
                f"unknown credential {name!r}",
                hint="credentials are: " + ", ".join(CREDENTIAL_NAMES),
            ) from None


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


def default_config_path(environ: Mapping[str, str], cwd: Path | None = None) -> Path:
    """Return ``$XDG_CONFIG_HOME/cio-sec/config.toml``, or ``CIO_SEC_CONFIG`` (from ``cwd``)."""
    if environ.get("CIO_SEC_CONFIG"):
        base = cwd if cwd is not None else Path.cwd()
        return _resolve_path(Path(environ["CIO_SEC_CONFIG"]), base, _home(environ))
    return _xdg_dir(environ, "XDG_CONFIG_HOME", ".config") / "cio-sec" / "config.toml"


def default_state_dir(environ: Mapping[str, str]) -> Path:
    """Return ``$XDG_STATE_HOME/cio-sec``, where journals, locks and records live."""
    return _xdg_dir(environ, "XDG_STATE_HOME", ".local/state") / "cio-sec"


def default_references(profile: str, name: str, env_file: Path) -> tuple[SecretRef, ...]:
    """The chain used when no profile names a reference: env, then ``.env``, then keyring."""
    env_name = CREDENTIAL_ENV_NAMES[name]
    return (
        SecretRef("env", env_name),
        SecretRef("dotenv", f"{env_file}#{env_name}"),
        SecretRef("keyring", f"{KEYRING_SERVICE}/{profile}/{name}"),
    )


def load_settings(
    flags: CliFlags,
    environ: Mapping[str, str],
    *,
    dotenv: Mapping[str, str | None] | None = None,
    cwd: Path,
    config_text: str | None = None,
) -> Settings:
    """Build settings from flags, environment, ``.env`` values and the config file.

    ``config_text`` is the content of the config file, or None when it does not exist; the
    CLI reads it with `read_config_text`. ``dotenv`` holds the values of the ``.env`` file.

    Raises:
        InputError: the config file is not valid TOML or has an unknown or mistyped key
            (the message names the file and line).
        ConfigError: the profile does not exist, or a setting has an invalid value.
    """
    merged_env = _merge_env(environ, dotenv or {})
    config_path = default_config_path(environ, cwd)
    config = _parse_config(config_text, config_path) if config_text is not None else None
    profile_name = (
        flags.profile
        or environ.get("CIO_SEC_PROFILE")
        or (config.default_profile if config else None)
        or DEFAULT_PROFILE
    )
    profile = _select_profile(config, profile_name, config_path)
    home = _home(environ)
    env_file = _resolve_path(flags.env_file or Path(".env"), cwd, home)
    state_dir = default_state_dir(environ)
    region, region_source = _region(environ, merged_env, profile, profile_name)
    # NOTE: where requests go is never taken from a .env file: one in a cloned repository
    # could otherwise send the operator's keys to a host of its choosing.
    regional_track_urls = _regional_urls(environ, "CIO_SEC_TRACK_URL")
    regional_app_urls = _regional_urls(environ, "CIO_SEC_APP_URL")
    configured = _validate_region(region)
    track_url = (
        environ.get("CIO_SEC_TRACK_URL")
        or _opt_str(profile.get("track_url"))
        or regional_track_urls.get(configured)
    )
    app_url = (
        environ.get("CIO_SEC_APP_URL")
        or _opt_str(profile.get("app_url"))
        or regional_app_urls.get(configured)
    )
    return Settings(
        profile=profile_name,
        config_path=config_path if config else None,
        region=configured,
        region_source=region_source,
        production=bool(profile.get("production", False)),
        credentials=_credential_chains(
            profile, profile_name, _relative_to(env_file, cwd), config_path, home
        ),
        track_url=track_url,
        app_url=app_url,
        regional_track_urls=regional_track_urls,
        regional_app_urls=regional_app_urls,
        env_file=env_file,
        state_dir=state_dir,
        audit_log=_resolve_path(Path(str(profile.get("audit_log", ""))), cwd, home)
        if profile.get("audit_log")
        else state_dir / "audit.jsonl",
        sanitize_policy=_resolve_path(Path(str(profile["sanitize_policy"])), cwd, home)
        if profile.get("sanitize_policy")
        else None,
        rate=_number(profile.get("rate", 100.0)),
        concurrency=int(profile.get("concurrency", 16)),
        timeout=_number(profile.get("timeout", 10.0)),
        verify_rate=_number(profile.get("verify_rate", 10.0)),
        non_interactive=_non_interactive(flags, merged_env),
        cwd=cwd,
        warnings=_unknown_env_warnings(environ) + _ignored_dotenv_warnings(dotenv or {}),
    )


def read_settings(flags: CliFlags, environ: Mapping[str, str], *, cwd: Path) -> Settings:
    """Read the ``.env`` file and the config file, then build settings from them.

    The I/O half of `load_settings`, for the CLI.

    Raises:
        InputError: ``--env-file`` is missing, or a file cannot be read or parsed.
        ConfigError: the profile or a setting is invalid.
    """
    env_path = _resolve_path(flags.env_file or Path(".env"), cwd, _home(environ))
    if flags.env_file is not None and not env_path.is_file():
        raise InputError("the --env-file does not exist or is not a file", path=env_path)
    dotenv, dotenv_warnings = read_dotenv(env_path) if env_path.is_file() else ({}, ())
    config_path = default_config_path(environ, cwd)
    config_text = read_config_text(config_path)
    if config_text is None and environ.get("CIO_SEC_CONFIG"):
        raise InputError("CIO_SEC_CONFIG names a config file that does not exist", path=config_path)
    settings = load_settings(flags, environ, dotenv=dotenv, cwd=cwd, config_text=config_text)
    return replace(settings, warnings=dotenv_warnings + settings.warnings)


def read_dotenv(path: Path) -> tuple[dict[str, str | None], tuple[str, ...]]:
    """Read a dotenv file's values (no ``${VAR}`` interpolation: secrets stay literal).

    Returns the values and a warning per line that could not be parsed.

    Raises:
        InputError: the file cannot be read or is not UTF-8.
    """
    from cio_sec.stores.dotenv_file import parse_dotenv

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid UTF-8"
        raise InputError(f"cannot read the dotenv file: {reason}", path=path) from None
    values, bad_lines = parse_dotenv(text.replace("\r\n", "\n").replace("\r", "\n"))
    return values, tuple(f"{path}:{line}: cannot parse this line; ignored" for line in bad_lines)


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
class _Config:
    default_profile: str | None
    profiles: Mapping[str, Mapping[str, Any]]


def _parse_config(text: str, path: Path) -> _Config:
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
    return _Config(default_profile, profiles)


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


def _select_profile(config: _Config | None, name: str, path: Path) -> Mapping[str, Any]:
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


def _credential_chains(
    profile: Mapping[str, Any],
    profile_name: str,
    env_file: Path,
    config_path: Path,
    home: Path,
) -> dict[str, tuple[SecretRef, ...]]:
    chains: dict[str, tuple[SecretRef, ...]] = {}
    for name in CREDENTIAL_NAMES:
        configured = profile.get(name)
        if configured is None:
            chains[name] = default_references(profile_name, name, env_file)
            continue
        texts = configured if isinstance(configured, list) else [configured]
        chains[name] = tuple(_parse_ref_relative(text, config_path, home) for text in texts)
    return chains


def _parse_ref_relative(text: str, config_path: Path, home: Path) -> SecretRef:
    """Parse a reference from the config file; relative dotenv paths are config-relative."""
    ref = SecretRef.parse(text)
    if ref.scheme == "dotenv":
        path_text, sep, name = ref.location.rpartition("#")
        path = _resolve_path(Path(path_text), config_path.parent, home)
        ref = SecretRef("dotenv", f"{path}{sep}{name}")
    return ref


def _merge_env(environ: Mapping[str, str], dotenv: Mapping[str, str | None]) -> dict[str, str]:
    merged = {key: value for key, value in dotenv.items() if value is not None}
    merged.update(environ)
    return merged


def _regional_urls(environ: Mapping[str, str], prefix: str) -> dict[str, str]:
    """``<prefix>_US``/``_EU`` from the real environment, by region (never from ``.env``)."""
    urls = {region: environ.get(f"{prefix}_{region.upper()}") for region in REGIONS}
    return {region: url for region, url in urls.items() if url}


def _region(
    environ: Mapping[str, str],
    merged_env: Mapping[str, str],
    profile: Mapping[str, Any],
    profile_name: str,
) -> tuple[str, str]:
    if environ.get("CUSTOMERIO_REGION"):
        return environ["CUSTOMERIO_REGION"], "CUSTOMERIO_REGION"
    if merged_env.get("CUSTOMERIO_REGION"):
        return merged_env["CUSTOMERIO_REGION"], "CUSTOMERIO_REGION in the .env file"
    if "region" in profile:
        return str(profile["region"]), f"profile {profile_name!r}"
    return "us", "the default"


def _validate_region(region: str) -> str:
    normalised = region.strip().lower()
    if normalised not in REGIONS:
        raise ConfigError(
            f"unknown region {region!r}",
            hint='region must be "us" or "eu" (CUSTOMERIO_REGION or the profile\'s region)',
        )
    return normalised


def _number(value: Any) -> float:
    """A number the config check has already proven inside its bound."""
    return float(value)


def _opt_str(value: object) -> str | None:
    return str(value) if value else None


def _non_interactive(flags: CliFlags, env: Mapping[str, str]) -> bool:
    if flags.non_interactive or not flags.stdin_is_tty:
        return True
    raw = env.get("CIO_SEC_NON_INTERACTIVE")
    return parse_bool(raw, name="CIO_SEC_NON_INTERACTIVE") if raw is not None else False


#: The ``CIO_SEC_*`` variables a ``.env`` file may set; the others must come from the
#: real environment (where requests go, which profile, the output format).
_DOTENV_HONOURED = frozenset(
    {"CIO_SEC_NON_INTERACTIVE", "CIO_SEC_PSEUDONYM_KEY", "CIO_SEC_PSEUDONYM_KEY_PREVIOUS"}
)


def _ignored_dotenv_warnings(dotenv: Mapping[str, str | None]) -> tuple[str, ...]:
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


def _unknown_env_warnings(environ: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(
        f"ignoring unknown environment variable {name} (a typo?)"
        for name in sorted(environ)
        if name.startswith("CIO_SEC_") and name not in KNOWN_ENV_VARS
    )


def _relative_to(path: Path, base: Path) -> Path:
    """Show a path under the working directory as relative: shorter, and what was typed."""
    try:
        return path.relative_to(base)
    except ValueError:
        return path


def _resolve_path(path: Path, base: Path, home: Path) -> Path:
    """Expand ``~`` against the given home (not the process's) and anchor relative paths."""
    if path.parts and path.parts[0] == "~":
        path = home.joinpath(*path.parts[1:])
    return path if path.is_absolute() else base / path


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("HOME") or Path.home())


def _xdg_dir(environ: Mapping[str, str], variable: str, fallback: str) -> Path:
    value = environ.get(variable)
    if value and Path(value).is_absolute():
        return Path(value)
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / fallback
