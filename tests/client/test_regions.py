"""Tests for cio_sec.client.regions: telling a wrong region from a wrong key, over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from cio_sec.client import RegionSetting, find_account
from cio_sec.client.urls import APP_URLS, TRACK_URLS
from cio_sec.errors import (
    CredentialRejectedError,
    ExitCode,
    RedirectError,
    RegionMismatchError,
)
from cio_sec.sandbox import Sandbox
from cio_sec.settings import CliFlags, read_settings
from tests.support.hostile import redirect_trap


def _setting(
    us: str | None = None,
    eu: str | None = None,
    *,
    region: str = "us",
    source: str = "the default",
    config_path: Path | None = None,
) -> RegionSetting:
    track = {**TRACK_URLS, **({"us": us} if us else {}), **({"eu": eu} if eu else {})}
    app = {**APP_URLS, **({"us": us} if us else {}), **({"eu": eu} if eu else {})}
    overridden = frozenset(name for name, url in (("us", us), ("eu", eu)) if url)
    return RegionSetting(region, source, config_path, track, app, overridden)


@pytest.mark.parametrize(
    ("source", "config_path", "where", "fix"),
    [
        (
            "profile 'prod'",
            Path("/etc/cio-sec/config.toml"),
            "profile 'prod' in /etc/cio-sec/config.toml",
            "set region = \"eu\" in profile 'prod' in /etc/cio-sec/config.toml",
        ),
        ("CUSTOMERIO_REGION", None, "CUSTOMERIO_REGION", "set CUSTOMERIO_REGION=eu"),
        (
            "CUSTOMERIO_REGION in the .env file",
            None,
            "CUSTOMERIO_REGION in the .env file",
            "set CUSTOMERIO_REGION=eu in the .env file",
        ),
        (
            "the default",
            None,
            "the default",
            "the region defaults to 'us': set CUSTOMERIO_REGION=eu, or region = \"eu\" in "
            "the profile in config.toml",
        ),
    ],
)
def test_the_mismatch_names_where_the_region_was_set_and_the_fix(
    source: str, config_path: Path | None, where: str, fix: str
) -> None:
    error = _setting(source=source, config_path=config_path).mismatch("eu", "the lookup")
    assert error.message == f"the lookup: the account is in region 'eu', but {where} says 'us'"
    assert error.hint == fix
    assert error.region == "eu"
    assert error.exit_code == ExitCode.CHECK_FAILED


def test_only_a_redirect_to_the_other_regions_host_is_a_region_hint() -> None:
    setting = _setting(us="http://127.0.0.1:1001", eu="http://127.0.0.1:2002")
    assert setting.region_of("127.0.0.1:2002") == "eu"
    assert setting.region_of("127.0.0.1:1001") is None  # the configured region's own host
    assert setting.region_of("127.0.0.1:3003") is None
    assert setting.region_of(None) is None
    assert setting.redirected(RedirectError("moved", target="127.0.0.1:3003")) is None
    hinted = setting.redirected(RedirectError("moved", target="127.0.0.1:2002"))
    assert hinted is not None
    assert hinted.message.startswith("Customer.io redirected the request to 127.0.0.1:2002: ")
    assert _setting().region_of("api-eu.customer.io") == "eu"


def test_an_unusable_other_region_url_is_no_region() -> None:
    setting = _setting(us="http://127.0.0.1:1001", eu="http://[::1")
    assert setting.region_of("[::1]") is None
    assert _setting(eu="relative/path").region_of("") is None


def test_customerios_real_hosts_are_not_asked_when_the_region_is_overridden() -> None:
    assert _setting().probed == ("eu",)
    assert _setting(us="http://127.0.0.1:1001").probed == ()
    assert _setting(us="http://127.0.0.1:1001", eu="http://127.0.0.1:2002").probed == ("eu",)
    assert _setting(eu="http://127.0.0.1:2002").probed == ("eu",)


def test_credentials_rejected_here_and_accepted_in_the_other_region_are_a_region_hint() -> None:
    with Sandbox() as us, Sandbox(region="eu", workspace_id=2002) as eu:
        setting = _setting(us.info.track_url, eu.info.track_url)
        with pytest.raises(RegionMismatchError) as caught:
            find_account(setting, eu.info.site_id, eu.info.track_api_key)
        assert [r.status for r in us.requests()] == [401]
        assert [r.status for r in eu.requests()] == [200]
    assert caught.value.region == "eu"
    assert caught.value.message == (
        "Customer.io rejected the Track API credentials in region 'us' and accepted them in "
        "'eu': the account is in region 'eu', but the default says 'us'"
    )


def test_credentials_rejected_everywhere_stay_rejected() -> None:
    with Sandbox() as us, Sandbox(region="eu") as eu:
        setting = _setting(us.info.track_url, eu.info.track_url)
        with pytest.raises(CredentialRejectedError):
            find_account(setting, "0" * 20, "1" * 20)
        assert [r.status for r in eu.requests()] == [401]


def test_an_account_in_the_other_region_is_a_region_hint() -> None:
    with Sandbox(region="eu", workspace_id=2002) as eu:
        setting = _setting(eu.info.track_url)
        with pytest.raises(RegionMismatchError, match=r"Customer\.io's region lookup: the account"):
            find_account(setting, eu.info.site_id, eu.info.track_api_key)


@pytest.mark.parametrize("status", [301, 302])
def test_a_redirect_to_the_other_region_is_a_region_hint_and_is_not_followed(
    status: int,
) -> None:
    with redirect_trap(status) as trap:
        setting = _setting(trap.url, trap.trap_url)
        with pytest.raises(RegionMismatchError) as caught:
            find_account(setting, "0" * 20, "1" * 20)
    assert trap.received == []
    assert len(trap.redirected) == 1
    assert caught.value.region == "eu"


def test_a_redirect_anywhere_else_stays_a_redirect_error() -> None:
    with redirect_trap(302) as trap:
        setting = _setting(trap.url)
        with pytest.raises(RedirectError):
            find_account(setting, "0" * 20, "1" * 20)
    assert trap.received == []


def test_the_setting_of_plain_settings_is_customerios_own_hosts() -> None:
    settings = read_settings(CliFlags(), {"CUSTOMERIO_REGION": "eu"}, cwd=Path.cwd())
    setting = RegionSetting.of(settings)
    assert (setting.region, setting.source) == ("eu", "CUSTOMERIO_REGION")
    assert setting.track_urls == TRACK_URLS
    assert setting.app_urls == APP_URLS
    assert setting.probed == ("us",)


def test_regional_urls_come_from_the_environment_and_serve_the_configured_region() -> None:
    environ = {
        "CIO_SEC_TRACK_URL_EU": "http://127.0.0.1:2002",
        "CIO_SEC_APP_URL_EU": "http://127.0.0.1:2003",
        "CIO_SEC_TRACK_URL_US": "http://127.0.0.1:1001",
    }
    settings = read_settings(CliFlags(), {**environ, "CUSTOMERIO_REGION": "eu"}, cwd=Path.cwd())
    assert (settings.track_url, settings.app_url) == (
        "http://127.0.0.1:2002",
        "http://127.0.0.1:2003",
    )
    setting = RegionSetting.of(settings)
    assert setting.track_urls == {"us": "http://127.0.0.1:1001", "eu": "http://127.0.0.1:2002"}
    assert setting.app_urls == {"us": APP_URLS["us"], "eu": "http://127.0.0.1:2003"}
    assert setting.probed == ("us",)


def test_regional_urls_are_never_taken_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "CIO_SEC_TRACK_URL_EU=http://127.0.0.1:9\nCIO_SEC_APP_URL_US=http://127.0.0.1:9\n"
    )
    settings = read_settings(CliFlags(), {}, cwd=tmp_path)
    assert (settings.regional_track_urls, settings.regional_app_urls) == ({}, {})
    assert settings.track_url is None
