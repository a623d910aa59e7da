"""`cio-sec rotate` against the sandbox, non-interactive (stdin is not a terminal here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cio_sec.errors import ExitCode
from cio_sec.redact import fingerprint
from cio_sec.sandbox import Sandbox
from cio_sec.sandbox.models import KeySet
from tests.conftest import CANARY
from tests.rotate.helpers import SERVICE, keyring_credentials, rotation_records, state_file
from tests.support.app_api import workspaces_server
from tests.support.cli import CliHarness, CliOutcome
from tests.support.memory_keyring import MemoryKeyring

pytestmark = pytest.mark.slow


@pytest.fixture
def stored(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> Sandbox:
    keyring_credentials(sandbox, monkeypatch, memory_keyring)
    return sandbox


def _statuses(document: dict[str, object]) -> dict[str, str]:
    steps = document["steps"]
    assert isinstance(steps, list)
    return {step["name"]: step["status"] for step in steps}


def start_track_rotation(run_cli: CliHarness, keys: KeySet, *, expect: int) -> CliOutcome:
    """``rotate track --new-key-stdin --yes`` with ``keys`` typed on stdin."""
    return run_cli(
        "rotate",
        "track",
        "--new-key-stdin",
        "--yes",
        input=f"{keys.site_id}\n{keys.track_api_key}\n",
        expect=expect,
    )


def test_track_rotation_end_to_end(
    run_cli: CliHarness,
    stored: Sandbox,
    memory_keyring: MemoryKeyring,
    hermetic_env: Path,
    watched_secrets: set[str],
) -> None:
    old = stored.info
    new = stored.add_track_keys()  # the operator creates a key set in the UI
    watched_secrets.update({new.track_api_key})
    first = run_cli(
        "rotate",
        "track",
        "--new-key-stdin",
        "--yes",
        "-f",
        "json",
        input=f"{new.site_id}\n{new.track_api_key}\n",
        expect=ExitCode.PARTIAL,
    )
    document = first.json
    assert document["outcome"] == "stopped"
    assert _statuses(document) == {
        "preflight": "done",
        "new-key": "done",
        "test-new": "done",
        "store": "done",
        "deploy": "waiting",
        "delete-old": "waiting",
        "test-stored": "pending",
        "old-revoked": "pending",
        "record": "pending",
    }
    assert "rotate track --resume --yes" in document["hint"]
    assert "[x] 4/9 store the new key" in first.stderr
    assert "Track API Keys > Create Track API Key" in first.stderr
    # the new pair is current, the old one kept as previous
    assert memory_keyring.get_password(SERVICE, "default/track_api_key") == new.track_api_key
    assert (
        memory_keyring.get_password(SERVICE, "default/track_api_key@previous") == old.track_api_key
    )
    assert memory_keyring.get_password(SERVICE, "default/site_id@previous") == old.site_id
    # the state file has fingerprints, never a key
    text = state_file(hermetic_env, "track").read_text()
    for secret in (new.track_api_key, old.track_api_key, CANARY):
        assert secret not in text
    assert fingerprint(new.track_api_key) in text

    stored.revoke_track_keys(old.site_id)  # the operator deletes the old key set
    done = run_cli("rotate", "track", "--resume", "--yes", "-f", "json").json
    assert done["outcome"] == "completed"
    assert set(_statuses(done).values()) == {"done"}
    assert done["fingerprints"] == {
        "site_id": fingerprint(new.site_id),
        "track_api_key": fingerprint(new.track_api_key),
    }
    assert not state_file(hermetic_env, "track").exists()
    records = rotation_records(hermetic_env)
    assert [(r["credential"], r["kind"], r["fingerprint"]) for r in records] == [
        ("site_id", "track", fingerprint(new.site_id)),
        ("track_api_key", "track", fingerprint(new.track_api_key)),
    ]
    # the new pair was tested before it was stored, then again from the store
    paths = [(r.method, r.path, r.auth) for r in stored.requests()]
    assert paths.count(("GET", "/api/v1/accounts/region", f"basic:{new.site_id}")) == 2


def test_text_output_and_checklist(run_cli: CliHarness, stored: Sandbox) -> None:
    new = stored.add_track_keys()
    first = start_track_rotation(run_cli, new, expect=ExitCode.PARTIAL)
    assert "rotate track (profile default): stopped" in first.stdout
    assert "stopped: waiting for you: Deploy or restart" in first.stderr
    assert "[ ] 5/9 deploy the new key to every consumer" in first.stderr
    stored.revoke_track_keys(stored.info.site_id)
    done = run_cli("rotate", "track", "--resume")
    assert "rotate track (profile default): completed" in done.stdout
    assert "[x] 1/9 test the current key; note its workspace and region — earlier" in done.stderr
    assert "note: the track rotation is complete" in done.stderr


def test_forgetting_to_delete_the_old_key_is_detected(
    run_cli: CliHarness, stored: Sandbox, hermetic_env: Path
) -> None:
    new = stored.add_track_keys()
    start_track_rotation(run_cli, new, expect=ExitCode.PARTIAL)
    outcome = run_cli("rotate", "track", "--resume", "-f", "json", expect=ExitCode.PARTIAL)
    document = outcome.json
    assert "the old key still works" in document["message"]
    assert _statuses(document)["old-revoked"] == "failed"
    assert _statuses(document)["delete-old"] == "waiting"
    assert "Delete" in document["hint"]
    assert rotation_records(hermetic_env) == []
    stored.revoke_track_keys(stored.info.site_id)
    assert run_cli("rotate", "track", "--resume", "-f", "json").json["outcome"] == "completed"


def test_app_rotation_end_to_end(
    run_cli: CliHarness, stored: Sandbox, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    old_key = stored.info.app_api_key
    new_key = stored.add_app_key()
    run_cli(
        "rotate",
        "app",
        "--new-key-stdin",
        "--yes",
        input=new_key + "\n",
        expect=ExitCode.PARTIAL,
    )
    stored.revoke_app_key(old_key)
    done = run_cli("rotate", "app", "--resume", "-f", "json").json
    assert done["outcome"] == "completed"
    assert memory_keyring.get_password(SERVICE, "default/app_api_key") == new_key
    assert [r["credential"] for r in rotation_records(hermetic_env)] == ["app_api_key"]


def test_webhook_rotation_end_to_end(
    run_cli: CliHarness, stored: Sandbox, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    new_key = "whsec-" + "b" * 40
    first = run_cli(
        "rotate",
        "webhook",
        "--new-key-stdin",
        "--yes",
        "-f",
        "json",
        input=new_key,
        expect=ExitCode.PARTIAL,
    )
    assert _statuses(first.json)["test-stored"] == "done"
    assert "Reporting Webhooks" in first.stderr
    done = run_cli("rotate", "webhook", "--resume", "-f", "json").json
    assert done["outcome"] == "completed"
    assert memory_keyring.get_password(SERVICE, "default/webhook_signing_key") == new_key
    previous = memory_keyring.get_password(SERVICE, "default/webhook_signing_key@previous")
    assert previous == stored.info.webhook_signing_key
    assert stored.requests() == []  # nothing remote for a signing key
    assert rotation_records(hermetic_env)[0]["fingerprint"] == fingerprint(new_key)


def test_pseudonym_rotation_needs_nothing_but_yes(
    run_cli: CliHarness, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    done = run_cli("rotate", "pseudonym", "--yes", "-f", "json").json
    assert done["outcome"] == "completed"
    new = memory_keyring.get_password(SERVICE, "default/pseudonym_key")
    assert new not in (None, CANARY)
    assert memory_keyring.get_password(SERVICE, "default/pseudonym_key@previous") == CANARY
    assert done["fingerprints"] == {"pseudonym_key": fingerprint(str(new))}


def test_a_second_pseudonym_rotation_never_orphans_trail_records(
    run_cli: CliHarness, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    """The store keeps one previous key; records chained with an older one must not be lost."""
    import os

    from cio_sec.pseudonym import PseudonymKey
    from cio_sec.settings import default_state_dir
    from cio_sec.trail import TrailWriter, verify_chain

    trail = default_state_dir(os.environ) / "audit.jsonl"
    TrailWriter(trail, PseudonymKey.from_text(CANARY)).append([{"type": "action"}])
    run_cli("rotate", "pseudonym", "--yes")  # the canary key becomes the previous one
    first = memory_keyring.get_password(SERVICE, "default/pseudonym_key")
    refused = run_cli("rotate", "pseudonym", "--yes", expect=ExitCode.CONFIG)
    assert "has 1 record(s) chained with key id" in refused.stderr
    assert "archive the trail first" in refused.stderr
    assert memory_keyring.get_password(SERVICE, "default/pseudonym_key") == first
    assert memory_keyring.get_password(SERVICE, "default/pseudonym_key@previous") == CANARY
    keys = {key.key_id: key for key in map(PseudonymKey.from_text, [CANARY, str(first)])}
    assert verify_chain(trail, keys).ok
    run_cli("rotate", "pseudonym", "--abort")
    trail.rename(trail.with_suffix(".archived"))  # archived: nothing left to orphan
    assert run_cli("rotate", "pseudonym", "--yes", "-f", "json").json["outcome"] == "completed"


def test_abort_removes_a_damaged_state(run_cli: CliHarness, hermetic_env: Path) -> None:
    path = state_file(hermetic_env, "track")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{x")
    run_cli("rotate", "track", "--resume", expect=ExitCode.CONFIG)
    outcome = run_cli("rotate", "track", "--abort", "-f", "json")
    assert outcome.json["outcome"] == "aborted"
    assert "is damaged" in outcome.json["warnings"][0]
    assert not path.exists()


def test_a_state_missing_a_credential_is_reported_as_damaged(
    run_cli: CliHarness, stored: Sandbox, hermetic_env: Path
) -> None:
    path = state_file(hermetic_env, "app")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "version": 1,
        "kind": "app",
        "profile": "default",
        "started_at": "x",
        "done": ["preflight", "new-key", "test-new", "store"],
        "waiting": [],
        "sources": {},
        "old": {},
        "new": {},
        "workspace_id": 1001,
        "region": "us",
    }
    path.write_text(json.dumps(state))
    outcome = run_cli("rotate", "app", "--resume", "--yes", expect=ExitCode.CONFIG)
    assert "is damaged: sources has no entry for app_api_key" in outcome.stderr
    assert "--abort" in outcome.stderr


def test_a_key_from_another_workspace_is_refused_before_anything_is_stored(
    run_cli: CliHarness, stored: Sandbox, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    other = stored.add_track_keys(workspace_id=2002)
    outcome = run_cli(
        "rotate",
        "track",
        "--new-key-stdin",
        "--yes",
        "-f",
        "json",
        input=f"{other.site_id}\n{other.track_api_key}\n",
        expect=ExitCode.CONFIG,
    )
    document = outcome.json
    assert "workspace 2002, but the current key's is workspace 1001" in document["message"]
    assert "nothing was stored" in document["message"]
    assert _statuses(document)["test-new"] == "failed"
    assert _statuses(document)["new-key"] == "pending"
    assert memory_keyring.get_password(SERVICE, "default/site_id") == stored.info.site_id
    assert memory_keyring.get_password(SERVICE, "default/site_id@previous") is None
    # resuming asks for a key again and accepts the right one
    good = stored.add_track_keys()
    run_cli(
        "rotate",
        "track",
        "--resume",
        "--new-key-stdin",
        "--yes",
        input=f"{good.site_id}\n{good.track_api_key}\n",
        expect=ExitCode.PARTIAL,
    )
    assert memory_keyring.get_password(SERVICE, "default/site_id") == good.site_id


def test_a_key_from_another_region_is_refused(
    run_cli: CliHarness, stored: Sandbox, memory_keyring: MemoryKeyring
) -> None:
    eu = stored.add_track_keys(workspace_id=3003, region="eu")
    outcome = start_track_rotation(run_cli, eu, expect=ExitCode.CONFIG)
    assert "the new key is for region eu, but the current key's account is in region us" in (
        outcome.stderr
    )
    assert memory_keyring.get_password(SERVICE, "default/track_api_key@previous") is None
    eu_app = stored.add_app_key(workspace_id=3003)
    outcome = run_cli(
        "rotate", "app", "--new-key-stdin", "--yes", input=eu_app, expect=ExitCode.CONFIG
    )
    # The US App host answers an EU key 401, as Customer.io documents (no region is listed).
    assert "from this region's account" in outcome.stderr
    assert memory_keyring.get_password(SERVICE, "default/app_api_key@previous") is None


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("", "stdin has no line for the new App API key"),
        ("0123 4567", "contains spaces"),
        ("0123\x07456789abcdef", "not a key"),
    ],
)
def test_a_malformed_key_is_refused(
    run_cli: CliHarness, stored: Sandbox, memory_keyring: MemoryKeyring, pasted: str, expected: str
) -> None:
    outcome = run_cli(
        "rotate", "app", "--new-key-stdin", "--yes", input=pasted, expect=ExitCode.USAGE
    )
    assert expected in outcome.stderr
    assert memory_keyring.get_password(SERVICE, "default/app_api_key") == stored.info.app_api_key


def test_an_unusual_shape_warns_and_the_test_decides(run_cli: CliHarness, stored: Sandbox) -> None:
    outcome = run_cli(
        "rotate", "app", "--new-key-stdin", "--yes", input="ABCDEF0123", expect=ExitCode.CONFIG
    )
    assert "app_api_key values are usually 32 lowercase hex characters" in outcome.stderr
    assert "Customer.io rejects the new key; nothing was stored" in outcome.stderr


def test_the_current_key_is_not_a_new_key(run_cli: CliHarness, stored: Sandbox) -> None:
    outcome = run_cli(
        "rotate",
        "app",
        "--new-key-stdin",
        "--yes",
        input=stored.info.app_api_key,
        expect=ExitCode.USAGE,
    )
    assert "is the current one" in outcome.stderr


def test_rollback_restores_the_old_key_and_says_it_works(
    run_cli: CliHarness, stored: Sandbox, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    new = stored.add_track_keys()
    start_track_rotation(run_cli, new, expect=ExitCode.PARTIAL)
    document = run_cli("rotate", "track", "--rollback", "--yes", "-f", "json").json
    assert document["outcome"] == "rolled-back"
    assert document["old_key_works"] is True
    assert "restored site_id, track_api_key" in document["message"]
    assert memory_keyring.get_password(SERVICE, "default/site_id") == stored.info.site_id
    assert (
        memory_keyring.get_password(SERVICE, "default/track_api_key@previous") == new.track_api_key
    )
    assert not state_file(hermetic_env, "track").exists()


def test_rollback_after_the_old_key_was_deleted_says_so(
    run_cli: CliHarness, stored: Sandbox
) -> None:
    new = stored.add_track_keys()
    start_track_rotation(run_cli, new, expect=ExitCode.PARTIAL)
    stored.revoke_track_keys(stored.info.site_id)
    outcome = run_cli("rotate", "track", "--rollback", "--yes", expect=ExitCode.CONFIG)
    assert "old key works: no" in outcome.stdout
    assert "Customer.io rejects the old key" in outcome.stderr


def test_abort_forgets_the_attempt(
    run_cli: CliHarness, stored: Sandbox, hermetic_env: Path
) -> None:
    new = stored.add_app_key()
    run_cli("rotate", "app", "--new-key-stdin", "--yes", input=new, expect=ExitCode.PARTIAL)
    outcome = run_cli("rotate", "app", "--abort", "-f", "json")
    assert outcome.json["outcome"] == "aborted"
    assert "the new key stays in the store" in outcome.json["warnings"][0]
    assert "warning: the new key stays in the store" in outcome.stderr
    assert not state_file(hermetic_env, "app").exists()
    assert run_cli("rotate", "app", "--abort").stdout.startswith("rotate app (profile default)")


def test_a_second_start_and_a_resume_without_state_are_refused(
    run_cli: CliHarness, stored: Sandbox
) -> None:
    outcome = run_cli("rotate", "app", "--resume", expect=ExitCode.CONFIG)
    assert "no app rotation is in progress" in outcome.stderr
    run_cli("rotate", "app", "--rollback", "--yes", expect=ExitCode.CONFIG)
    run_cli("rotate", "app", "--yes", expect=ExitCode.CONFIG)  # no key on stdin, no prompt
    outcome = run_cli("rotate", "app", "--yes", expect=ExitCode.CONFIG)
    assert "already in progress" in outcome.stderr
    assert "--resume" in outcome.stderr


def test_non_interactive_without_yes_is_refused(run_cli: CliHarness, stored: Sandbox) -> None:
    outcome = run_cli("rotate", "app", "--new-key-stdin", input="x", expect=ExitCode.CONFIG)
    assert "pass --yes" in outcome.stderr
    outcome = run_cli("rotate", "app", "--resume", "--abort", expect=ExitCode.USAGE)
    assert "choose one of --resume, --rollback and --abort" in outcome.stderr


def test_a_credential_in_a_read_only_store_is_not_rotated(
    run_cli: CliHarness, sandbox: Sandbox, hermetic_env: Path
) -> None:
    outcome = run_cli("rotate", "track", "--yes", "-f", "json", expect=ExitCode.CONFIG)
    assert (
        "comes from env:CUSTOMERIO_SITE_ID, which cio-sec cannot write" in (outcome.json["message"])
    )
    assert outcome.json["outcome"] == "failed"
    assert not state_file(hermetic_env, "track").exists()


def test_the_store_failing_on_write_leaves_nothing_half_done(
    run_cli: CliHarness,
    stored: Sandbox,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from keyring.errors import PasswordSetError

    real_set = memory_keyring.set_password

    def failing_set(service: str, username: str, password: str) -> None:
        if username.startswith("default/track_api_key"):
            raise PasswordSetError("the keyring refused the write")
        real_set(service, username, password)

    monkeypatch.setattr(memory_keyring, "set_password", failing_set)
    new = stored.add_track_keys()
    pair = f"{new.site_id}\n{new.track_api_key}\n"
    outcome = run_cli(
        "rotate",
        "track",
        "--new-key-stdin",
        "--yes",
        "-f",
        "json",
        input=pair,
        expect=ExitCode.PARTIAL,
    )
    assert "could not store track_api_key" in outcome.json["message"]
    assert "nothing was changed" in outcome.json["message"]
    assert _statuses(outcome.json)["store"] == "failed"
    # site_id was written first, then put back
    assert memory_keyring.get_password(SERVICE, "default/site_id") == stored.info.site_id
    monkeypatch.setattr(memory_keyring, "set_password", real_set)
    resumed = run_cli(
        "rotate",
        "track",
        "--resume",
        "--new-key-stdin",
        "--yes",
        "-f",
        "json",
        input=pair,
        expect=ExitCode.PARTIAL,
    )
    assert _statuses(resumed.json)["store"] == "done"
    assert memory_keyring.get_password(SERVICE, "default/track_api_key") == new.track_api_key


def test_resuming_with_a_different_key_is_refused(
    run_cli: CliHarness, stored: Sandbox, hermetic_env: Path
) -> None:
    first, second = stored.add_app_key(), stored.add_app_key()
    run_cli("rotate", "app", "--new-key-stdin", "--yes", input=first, expect=ExitCode.PARTIAL)
    # rewind the state to "new key entered" as a crash before the test would leave it
    path = state_file(hermetic_env, "app")
    state = json.loads(path.read_text())
    state["done"], state["waiting"] = ["preflight", "new-key"], []
    path.write_text(json.dumps(state))
    outcome = run_cli(
        "rotate", "app", "--resume", "--new-key-stdin", input=second, expect=ExitCode.USAGE
    )
    assert "not the new App API key entered before" in outcome.stderr


def test_an_app_key_that_sees_the_whole_account_rotates_when_it_lists_the_workspace(
    run_cli: CliHarness,
    stored: Sandbox,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    watched_secrets: set[str],
) -> None:
    new_key = "0123456789abcdef0123456789abcdef"
    watched_secrets.add(new_key)
    account = b'{"workspaces": [{"id": "7", "name": "a"}, {"id": 1001, "name": "b"}, {"id": 9}]}'
    with workspaces_server(account) as url:
        monkeypatch.setenv("CIO_SEC_APP_URL", url)
        outcome = run_cli(
            "rotate",
            "app",
            "--new-key-stdin",
            "--yes",
            "-f",
            "json",
            input=new_key,
            expect=ExitCode.PARTIAL,
        )
    steps = _statuses(outcome.json)
    assert [steps[name] for name in ("preflight", "new-key", "test-new", "store")] == ["done"] * 4
    assert memory_keyring.get_password(SERVICE, "default/app_api_key") == new_key


def test_a_new_app_key_that_does_not_list_the_workspace_is_refused(
    run_cli: CliHarness,
    stored: Sandbox,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elsewhere = b'{"workspaces": [{"id": "7", "name": "a"}, {"id": 9, "name": "c"}]}'
    with workspaces_server(elsewhere) as url:
        monkeypatch.setenv("CIO_SEC_APP_URL", url)
        outcome = run_cli(
            "rotate", "app", "--new-key-stdin", "--yes", input="f" * 32, expect=ExitCode.CONFIG
        )
    assert (
        "the new key does not list workspace 1001 (it lists 7, 9), the current key's workspace"
    ) in outcome.stderr
    assert memory_keyring.get_password(SERVICE, "default/app_api_key@previous") is None


def test_app_rotation_in_an_account_of_several_workspaces(
    run_cli: CliHarness, stored: Sandbox, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    stored.add_workspace("second")
    stored.add_workspace("third")
    old_key = stored.info.app_api_key
    new_key = stored.add_app_key()
    run_cli("rotate", "app", "--new-key-stdin", "--yes", input=new_key, expect=ExitCode.PARTIAL)
    stored.revoke_app_key(old_key)
    done = run_cli("rotate", "app", "--resume", "-f", "json").json
    assert done["outcome"] == "completed"
    assert memory_keyring.get_password(SERVICE, "default/app_api_key") == new_key
