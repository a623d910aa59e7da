"""Kind specifics: key shapes, App keys that see several workspaces, the webhook sample."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.errors import ConfigError, InputError
from cio_sec.rotate import kinds
from cio_sec.settings import CliFlags, read_settings
from cio_sec.stores.chain import store_opener
from tests.client.conftest import ScriptedServer, scripted  # noqa: F401 - the fixture


def test_an_app_key_that_sees_several_workspaces_needs_the_track_keys_workspace(
    scripted: ScriptedServer,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scripted.body = b'{"workspaces": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}'
    monkeypatch.setenv("CIO_SEC_APP_URL", scripted.url)
    settings = read_settings(CliFlags(), os.environ, cwd=Path.cwd())
    with pytest.raises(ConfigError, match="sees 2 workspaces and no Track key says") as caught:
        kinds.app_identity(settings, "a" * 32, None)
    assert caught.value.hint is not None
    assert "track_api_key" in caught.value.hint


def test_an_app_key_is_for_the_track_keys_workspace_among_others(
    scripted: ScriptedServer,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scripted.body = b'{"workspaces": [{"id": "1", "name": "a"}, {"id": 2, "name": "b"}]}'
    monkeypatch.setenv("CIO_SEC_APP_URL", scripted.url)
    settings = read_settings(CliFlags(), os.environ, cwd=Path.cwd())
    identity = kinds.app_identity(settings, "a" * 32, "2")
    assert identity == kinds.Identity("us", "2", ("1", "2"))
    expected = kinds.Identity("us", "2")
    assert kinds.identity_problem(expected, identity) is None
    elsewhere = kinds.app_identity(settings, "a" * 32, "3")
    problem = kinds.identity_problem(kinds.Identity("us", "3"), elsewhere)
    assert (
        problem
        == "the new key does not list workspace 3 (it lists 1, 2), the current key's workspace"
    )


def test_an_app_key_without_workspaces_lists_none(
    scripted: ScriptedServer,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scripted.body = b'{"workspaces": []}'
    monkeypatch.setenv("CIO_SEC_APP_URL", scripted.url)
    settings = read_settings(CliFlags(), os.environ, cwd=Path.cwd())
    identity = kinds.app_identity(settings, "a" * 32, "5")
    problem = kinds.identity_problem(kinds.Identity("us", "5"), identity)
    assert problem is not None
    assert "(it lists none)" in problem


def test_shapes() -> None:
    assert kinds.check_new_value("site_id", "0123456789abcdef0123") == ()
    assert "usually 20 lowercase hex" in kinds.check_new_value("site_id", "XYZ")[0]
    assert kinds.check_new_value("webhook_signing_key", "x" * 16) == ()
    with pytest.raises(InputError, match="is empty"):
        kinds.check_new_value("app_api_key", "")


@given(key=st.text(min_size=1), body=st.binary(), timestamp=st.integers(0, 2**40))
def test_a_signed_sample_verifies_only_with_its_key(key: str, body: bytes, timestamp: int) -> None:
    signature = kinds.sign_sample(key, timestamp, body)
    assert kinds.sample_verifies(key, signature, timestamp, body)
    assert not kinds.sample_verifies(key + "x", signature, timestamp, body)
    assert not kinds.sample_verifies(key, signature, timestamp + 1, body)


def test_a_sample_signed_with_another_key_is_refused() -> None:
    timestamp = kinds.now_seconds()
    kinds.check_sample(
        "k" * 32, kinds.sign_sample("k" * 32, timestamp, kinds.SAMPLE_BODY), timestamp
    )
    signature = kinds.sign_sample("o" * 32, timestamp, kinds.SAMPLE_BODY)
    with pytest.raises(ConfigError, match="a sample signed with the stored key does not verify"):
        kinds.check_sample("k" * 32, signature, timestamp)


def test_identity_descriptions() -> None:
    assert kinds.Identity(None, None).describe() == "no workspace in an unknown region"
    assert kinds.Identity("eu", "7").describe() == "workspace 7 in region eu"


def test_without_track_credentials_an_app_key_of_one_workspace_is_for_that_one(
    scripted: ScriptedServer,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scripted.body = b'{"workspaces": [{"id": 1234, "name": "only"}]}'
    monkeypatch.setenv("CIO_SEC_APP_URL", scripted.url)
    settings = read_settings(CliFlags(), os.environ, cwd=Path.cwd())
    workspace = kinds.app_workspace(settings, store_opener(settings, os.environ))
    assert workspace is None
    identity = kinds.app_identity(settings, "a" * 32, workspace)
    assert identity == kinds.Identity("us", "1234", ("1234",))
