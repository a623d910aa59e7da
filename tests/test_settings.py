from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.errors import ConfigError, ExitCode, InputError
from cio_sec.settings import (
    CREDENTIAL_NAMES,
    CliFlags,
    Settings,
    default_config_path,
    load_settings,
    parse_bool,
    read_config_text,
)
from cio_sec.stores import SecretRef

CWD = Path("/srv/app")
ENV = {"HOME": "/home/op", "XDG_CONFIG_HOME": "/home/op/.config"}


def load(config: str | None = None, env: dict[str, str] | None = None, **flags: object) -> Settings:
    return load_settings(
        CliFlags(**flags),  # type: ignore[arg-type]
        {**ENV, **(env or {})},
        cwd=CWD,
        config_text=config,
    )


def test_without_config_each_credential_tries_env_then_dotenv_then_keyring() -> None:
    settings = load()
    assert settings.profile == "default"
    assert settings.config_path is None
    assert settings.region == "us"
    assert [str(ref) for ref in settings.references("track_api_key")] == [
        "env:CUSTOMERIO_TRACK_API_KEY",
        "dotenv:.env#CUSTOMERIO_TRACK_API_KEY",
        "keyring:cio-sec/default/track_api_key",
    ]
    assert settings.references("webhook_signing_key")[0] == SecretRef(
        "env", "CUSTOMERIO_WEBHOOK_SECRET"
    )
    assert settings.references("pseudonym_key")[0] == SecretRef("env", "CIO_SEC_PSEUDONYM_KEY")
    assert set(settings.credentials) == set(CREDENTIAL_NAMES)


def test_defaults_for_state_audit_log_and_limits() -> None:
    settings = load(env={"XDG_STATE_HOME": "/var/state"})
    assert settings.state_dir == Path("/var/state/cio-sec")
    assert settings.audit_log == Path("/var/state/cio-sec/audit.jsonl")
    assert (settings.rate, settings.concurrency, settings.timeout) == (100.0, 16, 10.0)
    assert load().state_dir == Path("/home/op/.local/state/cio-sec")


def test_env_file_flag_moves_the_dotenv_link_of_the_chain() -> None:
    settings = load(env_file=Path("conf/prod.env"))
    assert SecretRef("dotenv", "conf/prod.env#CUSTOMERIO_SITE_ID") in (
        settings.references("site_id")
    )


def test_region_comes_from_env_then_dotenv() -> None:
    settings = load_settings(
        CliFlags(), ENV, dotenv={"CUSTOMERIO_REGION": "EU", "OTHER": None}, cwd=CWD
    )
    assert settings.region == "eu"
    assert (
        load_settings(
            CliFlags(),
            {**ENV, "CUSTOMERIO_REGION": "us"},
            dotenv={"CUSTOMERIO_REGION": "eu"},
            cwd=CWD,
        ).region
        == "us"
    )


def test_a_dotenv_file_cannot_redirect_requests_or_pick_the_profile() -> None:
    """A .env in a cloned repository must not send the operator's keys elsewhere."""
    settings = load_settings(
        CliFlags(),
        ENV,
        dotenv={
            "CIO_SEC_TRACK_URL": "https://collector.example",
            "CIO_SEC_APP_URL": "https://collector.example",
            "CIO_SEC_PROFILE": "attacker",
        },
        cwd=CWD,
    )
    assert (settings.track_url, settings.app_url, settings.profile) == (None, None, "default")
    assert [w.split(":")[0] for w in settings.warnings] == [
        "ignoring CIO_SEC_APP_URL in the .env file",
        "ignoring CIO_SEC_PROFILE in the .env file",
        "ignoring CIO_SEC_TRACK_URL in the .env file",
    ]


def test_typos_in_the_dotenv_file_are_warned_about_and_honoured_keys_are_not() -> None:
    settings = load_settings(
        CliFlags(),
        ENV,
        dotenv={"CIO_SEC_TRAK_URL": "x", "CIO_SEC_NON_INTERACTIVE": "1", "OTHER": "y"},
        cwd=CWD,
    )
    assert settings.warnings == (
        "ignoring unknown variable CIO_SEC_TRAK_URL in the .env file (a typo?)",
    )
    assert settings.non_interactive is True


def test_base_url_overrides_come_from_the_environment() -> None:
    settings = load(env={"CIO_SEC_TRACK_URL": "http://127.0.0.1:9"})
    assert settings.track_url == "http://127.0.0.1:9"
    assert settings.app_url is None


PROFILE = """\
default_profile = "prod"

[profiles.prod]
region = "eu"
production = true
track_api_key = "keyring:cio-sec/prod/track_api_key"
site_id = ["env:SITE", "dotenv:secrets/.env#SITE"]
audit_log = "~/evidence/audit.jsonl"
rate = 50
concurrency = 4

[profiles.staging]
region = "us"
"""


def test_profile_from_config_names_references_and_limits() -> None:
    settings = load(PROFILE)
    assert settings.profile == "prod"
    assert settings.config_path == Path("/home/op/.config/cio-sec/config.toml")
    assert settings.region == "eu"
    assert settings.production is True
    assert settings.references("track_api_key") == (
        SecretRef("keyring", "cio-sec/prod/track_api_key"),
    )
    # relative dotenv paths in the config file are relative to the config file
    assert settings.references("site_id") == (
        SecretRef("env", "SITE"),
        SecretRef("dotenv", "/home/op/.config/cio-sec/secrets/.env#SITE"),
    )
    # credentials the profile does not name fall back to the default chain
    assert settings.references("app_api_key")[-1] == SecretRef(
        "keyring", "cio-sec/prod/app_api_key"
    )
    assert settings.audit_log == Path("/home/op/evidence/audit.jsonl")
    assert (settings.rate, settings.concurrency) == (50.0, 4)


def test_profile_flag_beats_env_beats_default_profile() -> None:
    assert load(PROFILE, profile="staging").profile == "staging"
    assert load(PROFILE, profile="prod", env={"CIO_SEC_PROFILE": "staging"}).profile == "prod"
    assert load(PROFILE, env={"CIO_SEC_PROFILE": "staging"}).region == "us"
    assert load(PROFILE).profile == "prod"


def test_unknown_profile_is_a_config_error_listing_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="'qa' is not defined") as caught:
        load(PROFILE, profile="qa")
    assert caught.value.hint == "defined profiles: prod, staging"
    with pytest.raises(ConfigError, match="does not exist"):
        load(None, profile="qa")


@pytest.mark.parametrize(
    ("config", "line", "message"),
    [
        ("[profiles.prod]\nregion = 'us'\nrgion = 'eu'\n", 3, "unknown key 'rgion'"),
        ("[profiles.prod]\nregion = \n", 2, "invalid TOML"),
        ("[profiles.a]\n\n[profiles.b]\nrate = 'fast'\n", 4, "'rate' in profile 'b'"),
        ("colour = 1\n", 1, "unknown key 'colour'"),
        ("[profiles.p]\nsite_id = 'ftp:x'\n", 2, "unknown secret store kind"),
        ("[profiles.p]\nsite_id = 'memory:x'\n", 2, "unknown secret store kind"),
        ("[profiles.p]\n\nsite_id = 'env:1BAD'\n", 3, "not a valid"),
        ("[profiles.p]\nsite_id = 'dotenv:.env'\n", 2, "does not name a file"),
        ("[profiles.p]\nsite_id = 'keyring:cio-sec'\n", 2, "keyring service"),
        ("[profiles.p]\nrate = nan\n", 2, "rate in profile 'p' must be between 0.1 and"),
        ("[profiles.p]\n\nregion = 'de'\n", 3, 'must be "us" or "eu"'),
        ("[profiles.p]\ntrack_url = 'ftp://x'\n", 2, "must be an http(s) URL"),
        ("[profiles.p]\napp_url = 'localhost:8765'\n", 2, "must be an http(s) URL"),
        ("[profiles.p]\ntrack_url = 'http://[::1'\n", 2, "must be an http(s) URL"),
        ("[profiles.p]\napp_url = 'http://127.0.0.1:abc/'\n", 2, "must be an http(s) URL"),
        ("[profile.prod]\nregion = 'eu'\n", 1, "unknown key 'profile'"),
        ("[profiles.p]\nsite_id = [1]\n", 2, "must be a reference"),
        ("[profiles.p]\nproduction = 'yes'\n", 2, "wrong type"),
        ("[profiles.p]\nrate = true\n", 2, "wrong type"),
        ("profiles = 3\n", 1, "must be a table"),
        ("default_profile = 3\n", 1, "must be a string"),
        ("[profiles]\np = 3\n", 2, "must be a table"),
    ],
)
def test_bad_config_is_exit_2_naming_file_and_line(config: str, line: int, message: str) -> None:
    with pytest.raises(InputError) as caught:
        load(config)
    error = caught.value
    assert error.exit_code == ExitCode.USAGE
    assert error.line == line
    assert message in error.message
    assert error.message.startswith(f"/home/op/.config/cio-sec/config.toml:{line}: ")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CUSTOMERIO_REGION": "mars"}, "unknown region"),
        ({"CIO_SEC_NON_INTERACTIVE": "maybe"}, "not a boolean"),
    ],
)
def test_invalid_values_are_config_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(env=env)


def test_non_positive_rate_is_an_input_error_with_its_line() -> None:
    with pytest.raises(InputError, match=r":3: rate in profile 'default' must be between 0\.1"):
        load("[profiles.default]\n\nrate = 0\n")


def test_non_interactive_from_flag_env_or_missing_tty() -> None:
    assert load().non_interactive is False
    assert load(non_interactive=True).non_interactive is True
    assert load(stdin_is_tty=False).non_interactive is True
    assert load(env={"CIO_SEC_NON_INTERACTIVE": "yes"}).non_interactive is True
    assert load(env={"CIO_SEC_NON_INTERACTIVE": "0"}).non_interactive is False


def test_unknown_cio_sec_variables_are_warned_about() -> None:
    settings = load(env={"CIO_SEC_PROFLE": "x", "CIO_SEC_PROFILE": "default"})
    assert settings.warnings == ("ignoring unknown environment variable CIO_SEC_PROFLE (a typo?)",)


def test_unknown_credential_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown credential 'api_key'"):
        load().references("api_key")


@given(st.sampled_from(["1", "true", "YES", " on "]))
def test_parse_bool_true(value: str) -> None:
    assert parse_bool(value, name="X") is True


@given(st.sampled_from(["0", "false", "No", "off", ""]))
def test_parse_bool_false(value: str) -> None:
    assert parse_bool(value, name="X") is False


def test_config_path_honours_cio_sec_config_and_xdg() -> None:
    assert default_config_path({"CIO_SEC_CONFIG": "~/c.toml", "HOME": "/h"}) == Path("/h/c.toml")
    assert default_config_path({"HOME": "/h"}) == Path("/h/.config/cio-sec/config.toml")
    # a relative XDG_CONFIG_HOME is invalid per the XDG spec and ignored
    assert default_config_path({"HOME": "/h", "XDG_CONFIG_HOME": "rel"}) == Path(
        "/h/.config/cio-sec/config.toml"
    )


def test_cio_sec_config_naming_a_missing_file_is_an_error(tmp_path: Path) -> None:
    from cio_sec.settings import read_settings

    with pytest.raises(InputError, match="CIO_SEC_CONFIG names a config file that does not"):
        read_settings(
            CliFlags(), {**ENV, "CIO_SEC_CONFIG": str(tmp_path / "nope.toml")}, cwd=tmp_path
        )


def test_read_config_text(tmp_path: Path) -> None:
    assert read_config_text(tmp_path / "missing.toml") is None
    path = tmp_path / "config.toml"
    path.write_text("[profiles.a]\n")
    assert read_config_text(path) == "[profiles.a]\n"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="cannot read the config file"):
        read_config_text(path)


def test_unknown_table_and_dotted_keys_are_located_or_reported_without_a_line() -> None:
    with pytest.raises(InputError) as caught:
        load("x = 1\n[colour]\nred = 1\n")
    assert caught.value.line == 1  # the first unknown key wins
    with pytest.raises(InputError) as caught:
        load("[colour]\nred = 1\n")
    assert caught.value.line == 1
    with pytest.raises(InputError) as caught:
        load('profiles.prod.rgion = "eu"\n')
    assert caught.value.line is None
    assert "unknown key 'rgion'" in caught.value.message


def test_a_config_without_the_default_profile_runs_on_defaults() -> None:
    settings = load("[profiles.prod]\nregion = 'eu'\n")
    assert settings.profile == "default"
    assert settings.region == "us"
    assert settings.config_path is not None


def test_an_env_file_outside_the_working_directory_stays_absolute() -> None:
    settings = load(env_file=Path("/etc/app/.env"))
    assert SecretRef("dotenv", "/etc/app/.env#CUSTOMERIO_SITE_ID") in settings.references("site_id")


def test_base_urls_in_a_profile_are_accepted_when_they_are_urls() -> None:
    settings = load("[profiles.default]\ntrack_url = 'http://127.0.0.1:8765'\nregion = 'EU'\n")
    assert settings.track_url == "http://127.0.0.1:8765"
    assert settings.region == "eu"
    assert settings.region_source == "profile 'default'"
