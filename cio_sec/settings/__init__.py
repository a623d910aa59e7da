"""Settings: profiles from ``config.toml``, environment variables and the ``.env`` file.

`load_settings()` is a pure function over mappings, so tests pass dicts and the CLI passes
``os.environ``. Precedence for each non-secret setting: command-line flag > environment
variable > ``.env`` file > profile in ``config.toml`` > built-in default, except that the
profile and the API base URLs are never taken from a ``.env`` file. Secrets are not
read here: a profile only names *where* each credential lives (secret references); the
values are read later, on demand, through `cio_sec.stores.chain`.

The package's modules: `names` (credentials, regions, variables), `paths` (default
locations), `config_file` (``config.toml`` and its checks), `environment` (variables and
the ``.env`` file); this module builds `Settings` from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cio_sec.errors import ConfigError, InputError
from cio_sec.settings.config_file import (
    TOO_MANY_DIGITS,
    parse_config,
    read_config_text,
    select_profile,
)
from cio_sec.settings.environment import (
    ignored_dotenv_warnings,
    merge_env,
    parse_bool,
    read_dotenv,
    regional_urls,
    unknown_env_warnings,
)
from cio_sec.settings.names import (
    CREDENTIAL_ENV_NAMES,
    CREDENTIAL_NAMES,
    DEFAULT_PROFILE,
    KEYRING_SERVICE,
    KNOWN_ENV_VARS,
    REGIONS,
)
from cio_sec.settings.paths import (
    default_config_path,
    default_state_dir,
    home_dir,
    relative_to,
    resolve_path,
)
from cio_sec.stores import SecretRef

__all__ = [
    "CREDENTIAL_ENV_NAMES",
    "CREDENTIAL_NAMES",
    "DEFAULT_PROFILE",
    "KEYRING_SERVICE",
    "KNOWN_ENV_VARS",
    "REGIONS",
    "TOO_MANY_DIGITS",
    "CliFlags",
    "Settings",
    "default_config_path",
    "default_references",
    "default_state_dir",
    "load_settings",
    "parse_bool",
    "read_config_text",
    "read_dotenv",
    "read_settings",
]


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
    merged_env = merge_env(environ, dotenv or {})
    config_path = default_config_path(environ, cwd)
    config = parse_config(config_text, config_path) if config_text is not None else None
    profile_name = (
        flags.profile
        or environ.get("CIO_SEC_PROFILE")
        or (config.default_profile if config else None)
        or DEFAULT_PROFILE
    )
    profile = select_profile(config, profile_name, config_path)
    home = home_dir(environ)
    env_file = resolve_path(flags.env_file or Path(".env"), cwd, home)
    state_dir = default_state_dir(environ)
    region, region_source = _region(environ, merged_env, profile, profile_name)
    # NOTE: where requests go is never taken from a .env file: one in a cloned repository
    # could otherwise send the operator's keys to a host of its choosing.
    regional_track_urls = regional_urls(environ, "CIO_SEC_TRACK_URL")
    regional_app_urls = regional_urls(environ, "CIO_SEC_APP_URL")
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
            profile, profile_name, relative_to(env_file, cwd), config_path, home
        ),
        track_url=track_url,
        app_url=app_url,
        regional_track_urls=regional_track_urls,
        regional_app_urls=regional_app_urls,
        env_file=env_file,
        state_dir=state_dir,
        audit_log=resolve_path(Path(str(profile.get("audit_log", ""))), cwd, home)
        if profile.get("audit_log")
        else state_dir / "audit.jsonl",
        sanitize_policy=resolve_path(Path(str(profile["sanitize_policy"])), cwd, home)
        if profile.get("sanitize_policy")
        else None,
        rate=_number(profile.get("rate", 100.0)),
        concurrency=int(profile.get("concurrency", 16)),
        timeout=_number(profile.get("timeout", 10.0)),
        verify_rate=_number(profile.get("verify_rate", 10.0)),
        non_interactive=_non_interactive(flags, merged_env),
        cwd=cwd,
        warnings=unknown_env_warnings(environ) + ignored_dotenv_warnings(dotenv or {}),
    )


def read_settings(flags: CliFlags, environ: Mapping[str, str], *, cwd: Path) -> Settings:
    """Read the ``.env`` file and the config file, then build settings from them.

    The I/O half of `load_settings`, for the CLI.

    Raises:
        InputError: ``--env-file`` is missing, or a file cannot be read or parsed.
        ConfigError: the profile or a setting is invalid.
    """
    env_path = resolve_path(flags.env_file or Path(".env"), cwd, home_dir(environ))
    if flags.env_file is not None and not env_path.is_file():
        raise InputError("the --env-file does not exist or is not a file", path=env_path)
    dotenv, dotenv_warnings = read_dotenv(env_path) if env_path.is_file() else ({}, ())
    config_path = default_config_path(environ, cwd)
    config_text = read_config_text(config_path)
    if config_text is None and environ.get("CIO_SEC_CONFIG"):
        raise InputError("CIO_SEC_CONFIG names a config file that does not exist", path=config_path)
    settings = load_settings(flags, environ, dotenv=dotenv, cwd=cwd, config_text=config_text)
    return replace(settings, warnings=dotenv_warnings + settings.warnings)


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
        path = resolve_path(Path(path_text), config_path.parent, home)
        ref = SecretRef("dotenv", f"{path}{sep}{name}")
    return ref


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
