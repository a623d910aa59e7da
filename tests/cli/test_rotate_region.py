"""`cio-sec rotate` when the configured region is not the account's: the region hint.

Against the sandbox's two hosts over HTTP: the US host is the configured one, the EU host
the other region's (`tests/support/sandbox.py` names both).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cio_sec.errors import ExitCode
from cio_sec.sandbox import Faults, Sandbox
from cio_sec.sandbox.models import KeySet
from tests.conftest import CANARY
from tests.rotate.helpers import SERVICE, keyring_credentials, state_file
from tests.support.cli import CliHarness, CliOutcome
from tests.support.hostile import redirect_trap
from tests.support.memory_keyring import MemoryKeyring

pytestmark = pytest.mark.slow

DEFAULT_HINT = (
    "the region defaults to 'us': set CUSTOMERIO_REGION=eu, or "
    'region = "eu" in the profile in config.toml'
)


def _statuses(outcome: CliOutcome) -> dict[str, str]:
    return {step["name"]: step["status"] for step in outcome.json["steps"]}


def _keyring_holds(keyring: MemoryKeyring, **values: str) -> None:
    for name, value in values.items():
        keyring.set_password(SERVICE, f"default/{name}", value)


def _unchanged(keyring: MemoryKeyring, **values: str) -> None:
    """The store holds the same values as before, and no previous value was pushed."""
    for name, value in values.items():
        assert keyring.get_password(SERVICE, f"default/{name}") == value
        assert keyring.get_password(SERVICE, f"default/{name}@previous") is None


@pytest.fixture
def eu_account(
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring,
    run_cli: CliHarness,
) -> KeySet:
    """The current Track pair is an EU workspace's, while the region defaults to us."""
    for variable in ("CUSTOMERIO_SITE_ID", "CUSTOMERIO_TRACK_API_KEY", "CUSTOMERIO_APP_API_KEY"):
        monkeypatch.delenv(variable)
    keys = sandbox.add_workspace("eu", region="eu")
    run_cli.watched.add(keys.track_api_key)
    _keyring_holds(memory_keyring, site_id=keys.site_id, track_api_key=keys.track_api_key)
    return keys


def test_a_track_rotation_of_an_account_in_the_other_region_stops_before_anything_changes(
    run_cli: CliHarness,
    sandbox: Sandbox,
    eu_account: KeySet,
    memory_keyring: MemoryKeyring,
    hermetic_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outcome = run_cli(
        "rotate",
        "track",
        "--new-key-stdin",
        "--yes",
        "-f",
        "json",
        input="0123456789abcdef0123\n0123456789abcdef0123\n",
        expect=ExitCode.CHECK_FAILED,
    )
    document = outcome.json
    assert document["outcome"] == "failed"
    assert document["message"] == (
        "Customer.io's region lookup: the account is in region 'eu', but the default says 'us'"
    )
    assert document["hint"] == DEFAULT_HINT
    assert _statuses(outcome)["preflight"] == "failed"
    assert set(_statuses(outcome).values()) == {"failed", "pending"}
    assert not state_file(hermetic_env, "track").exists()
    _unchanged(memory_keyring, site_id=eu_account.site_id, track_api_key=eu_account.track_api_key)
    # Following the hint is all it takes.
    new = sandbox.add_track_keys(workspace_id=eu_account.workspace_id)
    run_cli.watched.add(new.track_api_key)
    monkeypatch.setenv("CUSTOMERIO_REGION", "eu")
    run_cli(
        "rotate",
        "track",
        "--new-key-stdin",
        "--yes",
        input=f"{new.site_id}\n{new.track_api_key}\n",
        expect=ExitCode.PARTIAL,
    )
    assert memory_keyring.get_password(SERVICE, "default/site_id") == new.site_id


@pytest.mark.parametrize("status", [301, 302])
def test_a_redirected_region_lookup_is_a_region_hint_never_followed(
    run_cli: CliHarness,
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring,
    hermetic_env: Path,
    status: int,
) -> None:
    current = {"site_id": "0123456789abcdef0123", "track_api_key": CANARY}
    _keyring_holds(memory_keyring, **current)
    with redirect_trap(status) as trap:
        monkeypatch.setenv("CIO_SEC_TRACK_URL_US", trap.url)
        monkeypatch.setenv("CIO_SEC_TRACK_URL_EU", trap.trap_url)
        outcome = run_cli(
            "rotate", "track", "--new-key-stdin", "--yes", input="", expect=ExitCode.CHECK_FAILED
        )
    assert trap.received == []
    host = trap.trap_url.removeprefix("http://")
    assert f"error: Customer.io redirected the request to {host}: the account is in region " in (
        outcome.stderr
    )
    assert DEFAULT_HINT in outcome.stderr
    assert not state_file(hermetic_env, "track").exists()
    _unchanged(memory_keyring, **current)


@pytest.fixture
def eu_host(
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring,
    run_cli: CliHarness,
) -> Iterator[Sandbox]:
    """A second sandbox's EU host as the EU host, the first one as the US host; the stored
    pair is an EU account's of the second, which the first does not know (so it answers 401).
    """
    with Sandbox(region="eu", workspace_id=2002) as eu:
        info = eu.info
        run_cli.watched.update({info.track_api_key, info.app_api_key})
        for name in ("CIO_SEC_TRACK_URL", "CIO_SEC_APP_URL"):
            monkeypatch.delenv(name)
        monkeypatch.setenv("CIO_SEC_TRACK_URL_US", sandbox.info.track_url)
        monkeypatch.setenv("CIO_SEC_APP_URL_US", sandbox.info.app_url)
        monkeypatch.setenv("CIO_SEC_TRACK_URL_EU", info.track_url_eu)
        monkeypatch.setenv("CIO_SEC_APP_URL_EU", info.app_url_eu)
        for variable in ("CUSTOMERIO_SITE_ID", "CUSTOMERIO_TRACK_API_KEY"):
            monkeypatch.delenv(variable)
        _keyring_holds(memory_keyring, site_id=info.site_id, track_api_key=info.track_api_key)
        yield eu


def test_a_pair_rejected_here_and_accepted_in_the_other_region_is_a_region_hint(
    run_cli: CliHarness,
    sandbox: Sandbox,
    eu_host: Sandbox,
    memory_keyring: MemoryKeyring,
    hermetic_env: Path,
) -> None:
    outcome = run_cli("rotate", "track", "--yes", "-f", "json", expect=ExitCode.CHECK_FAILED)
    assert outcome.json["message"] == (
        "Customer.io rejected the Track API credentials in region 'us' and accepted them in "
        "'eu': the account is in region 'eu', but the default says 'us'"
    )
    assert outcome.json["hint"] == DEFAULT_HINT
    assert [(r.path, r.status) for r in sandbox.requests()] == [("/api/v1/accounts/region", 401)]
    assert not state_file(hermetic_env, "track").exists()
    _unchanged(
        memory_keyring, site_id=eu_host.info.site_id, track_api_key=eu_host.info.track_api_key
    )


def test_an_app_rotation_redirected_to_the_other_regions_host_stops_before_anything_changes(
    run_cli: CliHarness,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring,
    hermetic_env: Path,
) -> None:
    for variable in ("CUSTOMERIO_SITE_ID", "CUSTOMERIO_TRACK_API_KEY", "CUSTOMERIO_APP_API_KEY"):
        monkeypatch.delenv(variable)
    eu = sandbox.add_workspace("eu", region="eu")
    eu_key = sandbox.add_app_key(workspace_id=eu.workspace_id)
    run_cli.watched.add(eu_key)
    _keyring_holds(memory_keyring, app_api_key=eu_key)
    sandbox.set_faults(Faults(app_wrong_region="redirect"))
    outcome = run_cli(
        "rotate",
        "app",
        "--new-key-stdin",
        "--yes",
        "-f",
        "json",
        input="",
        expect=ExitCode.CHECK_FAILED,
    )
    eu_host = sandbox.info.app_url_eu.removeprefix("http://")
    assert outcome.json["message"].startswith(f"Customer.io redirected the request to {eu_host}: ")
    assert outcome.json["hint"] == DEFAULT_HINT
    assert _statuses(outcome)["preflight"] == "failed"
    workspaces = [r for r in sandbox.requests() if r.path == "/v1/workspaces"]
    assert [r.status for r in workspaces] == [301]  # and not followed to the EU host
    assert not state_file(hermetic_env, "app").exists()
    _unchanged(memory_keyring, app_api_key=eu_key)


def test_a_new_app_key_of_an_account_in_the_other_region_is_refused_and_forgotten(
    run_cli: CliHarness,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring,
) -> None:
    keyring_credentials(sandbox, monkeypatch, memory_keyring)
    eu = sandbox.add_track_keys(workspace_id=3003, region="eu")
    eu_key = sandbox.add_app_key(workspace_id=eu.workspace_id)
    run_cli.watched.add(eu_key)
    sandbox.set_faults(Faults(app_wrong_region="redirect"))
    outcome = run_cli(
        "rotate",
        "app",
        "--new-key-stdin",
        "--yes",
        "-f",
        "json",
        input=f"{eu_key}\n",
        expect=ExitCode.CONFIG,
    )
    assert outcome.json["message"] == (
        "the new key is for region eu, but the current key's account is in region us; "
        "nothing was stored"
    )
    assert {k: v for k, v in _statuses(outcome).items() if v != "pending"} == {
        "preflight": "done",
        "test-new": "failed",
    }
    _unchanged(memory_keyring, app_api_key=sandbox.info.app_api_key)


def _start_track_rotation(run_cli: CliHarness, sandbox: Sandbox, *, expect: int) -> KeySet:
    new = sandbox.add_track_keys()
    run_cli.watched.add(new.track_api_key)
    run_cli(
        "rotate",
        "track",
        "--new-key-stdin",
        "--yes",
        input=f"{new.site_id}\n{new.track_api_key}\n",
        expect=expect,
    )
    return new


def test_a_region_setting_changed_after_the_store_stops_the_rotation_resumably(
    run_cli: CliHarness,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring,
    hermetic_env: Path,
) -> None:
    keyring_credentials(sandbox, monkeypatch, memory_keyring)
    new = _start_track_rotation(run_cli, sandbox, expect=ExitCode.PARTIAL)
    sandbox.revoke_track_keys(sandbox.info.site_id)  # the operator deletes the old key set
    monkeypatch.setenv("CUSTOMERIO_REGION", "eu")
    outcome = run_cli(
        "rotate", "track", "--resume", "--yes", "-f", "json", expect=ExitCode.CHECK_FAILED
    )
    document = outcome.json
    assert document["outcome"] == "stopped"
    assert document["message"] == (
        "Customer.io's region lookup: the account is in region 'us', but CUSTOMERIO_REGION "
        "says 'eu'"
    )
    assert document["hint"] == (
        "set CUSTOMERIO_REGION=us; then `cio-sec rotate track --resume` continues from step "
        "test-stored"
    )
    assert document["state_file"] == str(state_file(hermetic_env, "track"))
    assert _statuses(outcome)["store"] == "done"
    assert _statuses(outcome)["test-stored"] == "failed"
    assert memory_keyring.get_password(SERVICE, "default/site_id") == new.site_id
    monkeypatch.delenv("CUSTOMERIO_REGION")
    done = run_cli("rotate", "track", "--resume", "--yes", "-f", "json").json
    assert done["outcome"] == "completed"


def test_a_region_setting_changed_before_the_new_key_test_keeps_the_new_key(
    run_cli: CliHarness,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring,
) -> None:
    keyring_credentials(sandbox, monkeypatch, memory_keyring)
    # stdin runs dry at the new key: the rotation stops after its preflight
    run_cli("rotate", "track", "--new-key-stdin", "--yes", input="", expect=ExitCode.USAGE)
    monkeypatch.setenv("CUSTOMERIO_REGION", "eu")
    new = sandbox.add_track_keys()
    run_cli.watched.add(new.track_api_key)
    outcome = run_cli(
        "rotate",
        "track",
        "--resume",
        "--new-key-stdin",
        "--yes",
        "-f",
        "json",
        input=f"{new.site_id}\n{new.track_api_key}\n",
        expect=ExitCode.CHECK_FAILED,
    )
    assert outcome.json["message"].endswith(
        "the account is in region 'us', but CUSTOMERIO_REGION says 'eu'"
    )
    assert _statuses(outcome)["new-key"] == "done"  # the key is not blamed for the setting
    assert _statuses(outcome)["test-new"] == "failed"
    _unchanged(
        memory_keyring, site_id=sandbox.info.site_id, track_api_key=sandbox.info.track_api_key
    )
    other = sandbox.add_track_keys()
    run_cli.watched.add(other.track_api_key)
    monkeypatch.delenv("CUSTOMERIO_REGION")
    refused = run_cli(
        "rotate",
        "track",
        "--resume",
        "--new-key-stdin",
        "--yes",
        input=f"{other.site_id}\n{other.track_api_key}\n",
        expect=ExitCode.USAGE,
    )
    assert "this is not the new site ID entered before" in refused.stderr
    run_cli(
        "rotate",
        "track",
        "--resume",
        "--new-key-stdin",
        "--yes",
        input=f"{new.site_id}\n{new.track_api_key}\n",
        expect=ExitCode.PARTIAL,
    )
    assert memory_keyring.get_password(SERVICE, "default/site_id") == new.site_id


def test_a_rollback_in_the_wrong_region_restores_and_says_how_to_fix_the_region(
    run_cli: CliHarness,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring,
    hermetic_env: Path,
) -> None:
    keyring_credentials(sandbox, monkeypatch, memory_keyring)
    _start_track_rotation(run_cli, sandbox, expect=ExitCode.PARTIAL)
    monkeypatch.setenv("CUSTOMERIO_REGION", "eu")
    outcome = run_cli(
        "rotate", "track", "--rollback", "--yes", "-f", "json", expect=ExitCode.CHECK_FAILED
    )
    document = outcome.json
    assert document["outcome"] == "rolled-back"
    assert document["message"] == (
        "restored site_id, track_api_key; the old key could not be tested: Customer.io's "
        "region lookup: the account is in region 'us', but CUSTOMERIO_REGION says 'eu'"
    )
    assert document["hint"] == "set CUSTOMERIO_REGION=us"
    assert document["old_key_works"] is None
    assert memory_keyring.get_password(SERVICE, "default/site_id") == sandbox.info.site_id
    assert not state_file(hermetic_env, "track").exists()


def test_an_app_redirect_anywhere_else_stays_a_remote_error_never_followed(
    run_cli: CliHarness,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring,
    hermetic_env: Path,
) -> None:
    keyring_credentials(sandbox, monkeypatch, memory_keyring)
    with redirect_trap(302) as trap:
        monkeypatch.setenv("CIO_SEC_APP_URL", trap.url)
        outcome = run_cli("rotate", "app", "--yes", "-f", "json", expect=ExitCode.REMOTE)
    assert trap.received == []
    assert "redirect" in outcome.json["message"]
    assert _statuses(outcome)["preflight"] == "failed"
    assert not state_file(hermetic_env, "app").exists()
    _unchanged(memory_keyring, app_api_key=sandbox.info.app_api_key)
