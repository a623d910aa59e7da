"""Where ``credentials set`` writes, and what it warns about, on plain data."""

from __future__ import annotations

import pytest

from cio_sec.errors import ConfigError
from cio_sec.stores.chain import store_opener
from cio_sec.stores.writing import shape_warnings, target_store
from tests.stores.test_chain import settings_for


def test_shape_warnings() -> None:
    assert shape_warnings("site_id", "0123456789abcdef0123") == ()
    assert shape_warnings("app_api_key", " " + "a" * 32) == (
        "the app_api_key value has leading or trailing whitespace",
    )
    assert "20 lowercase hex" in shape_warnings("track_api_key", "ABC")[0]
    assert shape_warnings("webhook_signing_key", "anything") == ()


def test_writes_go_to_the_only_writable_store_or_fail_clearly() -> None:
    settings = settings_for(
        "[profiles.default]\n"
        "site_id = ['env:SITE', 'dotenv:site.env#SITE']\n"
        "app_api_key = 'env:APP'\n"
    )
    opener = store_opener(settings, {})
    assert target_store(settings, "site_id", None, opener).ref.scheme == "dotenv"
    with pytest.raises(ConfigError, match="no writable store configured for app_api_key"):
        target_store(settings, "app_api_key", None, opener)
