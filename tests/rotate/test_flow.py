"""The rotation core with a scripted operator: interactive paths, crashes, odd stores."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cio_sec import rotate
from cio_sec.errors import ExitCode, InteractionRequiredError
from cio_sec.pseudonym import load_keys
from cio_sec.redact import fingerprint
from cio_sec.rotate import Action, Kind, RotationReport, RotationRequest, Step
from cio_sec.sandbox import Faults, Sandbox
from cio_sec.settings import CliFlags, Settings, read_settings
from cio_sec.stores.chain import store_opener
from cio_sec.trail import verify_chain
from tests.conftest import CANARY
from tests.rotate.helpers import SERVICE, keyring_credentials, rotation_records, state_file
from tests.support.memory_keyring import MemoryKeyring


@dataclass
class ScriptedOperator:
    """Answers prompts from a list; records what the rotation showed."""

    keys: list[str] = field(default_factory=list)
    interactive: bool = True
    answer: bool = True
    on_wait: Callable[[int], None] = lambda count: None
    shown: list[str] = field(default_factory=list)
    waits: list[str] = field(default_factory=list)

    def tick(self, number: int, total: int, step: Step, status: str, detail: str) -> None:
        self.shown.append(f"{status} {number}/{total} {step.name}: {detail}")

    def say(self, text: str) -> None:
        self.shown.append(text)

    def warn(self, text: str) -> None:
        self.shown.append(f"warning: {text}")

    def read_new_key(self, label: str) -> str:
        if not self.keys:
            raise KeyboardInterrupt
        return self.keys.pop(0)

    def confirm(self, question: str) -> bool:
        self.shown.append(question)
        return self.answer

    def wait(self, instruction: str) -> None:
        self.waits.append(instruction)
        self.on_wait(len(self.waits))


def _settings(config: str | None = None) -> Settings:
    if config is not None:
        path = Path(os.environ["XDG_CONFIG_HOME"]) / "cio-sec" / "config.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config)
    return read_settings(CliFlags(), os.environ, cwd=Path.cwd())


def _rotate(kind: Kind, operator: ScriptedOperator, action: Action = Action.RUN, **kw: object):
    settings = _settings(kw.pop("config", None))  # type: ignore[arg-type]
    opener = store_opener(settings, os.environ)
    request = RotationRequest(kind=kind, action=action, **kw)  # type: ignore[arg-type]
    return rotate.run(request, settings, opener, operator)


@pytest.fixture
def stored(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> Sandbox:
    keyring_credentials(sandbox, monkeypatch, memory_keyring)
    return sandbox


def test_interactive_track_rotation_waits_for_the_operator(
    stored: Sandbox, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    old = stored.info
    new = stored.add_track_keys()

    def operator_acts(count: int) -> None:
        if count == 2:  # "delete the old key" was shown: the operator deletes it
            stored.revoke_track_keys(old.site_id)

    operator = ScriptedOperator([new.site_id, new.track_api_key], on_wait=operator_acts)
    report = _rotate(Kind.TRACK, operator)
    assert report.outcome == "completed", report.message
    assert report.exit_code == ExitCode.OK
    assert operator.shown[0] == "Rotate the track credentials?"
    assert operator.waits[0].startswith("Deploy or restart every consumer")
    assert "(site ID …)" in operator.waits[1]  # 20 hex: no character can be shown
    assert "done 9/9 record: key-age record in" in operator.shown[-1]


def test_declining_changes_nothing(stored: Sandbox, hermetic_env: Path) -> None:
    with pytest.raises(InteractionRequiredError, match="not confirmed"):
        _rotate(Kind.APP, ScriptedOperator(answer=False))
    assert not state_file(hermetic_env, "app").exists()


def test_ctrl_c_at_the_prompt_keeps_the_state(stored: Sandbox, hermetic_env: Path) -> None:
    operator = ScriptedOperator([])
    with pytest.raises(KeyboardInterrupt):
        _rotate(Kind.APP, operator, yes=True)
    assert operator.shown[-1].startswith("failed 2/9 new-key: interrupted")
    state = json.loads(state_file(hermetic_env, "app").read_text())
    assert state["done"] == ["preflight"]


def test_an_empty_key_is_refused(stored: Sandbox) -> None:
    report = _rotate(Kind.APP, ScriptedOperator(["  "]), yes=True)
    assert report.exit_code == ExitCode.USAGE
    assert "new App API key is empty" in report.message


def test_a_short_signing_key_warns(stored: Sandbox) -> None:
    report = _rotate(Kind.WEBHOOK, ScriptedOperator(["short-key"]), yes=True)
    assert report.outcome == "completed"
    assert "shorter than 16 characters" in report.warnings[0]


def test_the_trail_gets_a_rotation_record_when_configured(
    stored: Sandbox, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    trail = hermetic_env / "trail.jsonl"
    config = f'[profiles.default]\naudit_log = "{trail}"\n'
    report = _rotate(Kind.WEBHOOK, ScriptedOperator(["w" * 32]), yes=True, config=config)
    assert report.outcome == "completed"
    keys = load_keys(_settings(), store_opener(_settings(), os.environ))
    chain = verify_chain(trail, keys.by_id())
    assert chain.first_break is None
    record = json.loads(trail.read_text().splitlines()[-1])
    assert record["type"] == "rotation"
    assert record["fingerprints"] == {"webhook_signing_key": fingerprint("w" * 32)}
    assert record["credentials"] == ["webhook_signing_key"]
    assert record["operator"].count("@") == 1
    assert CANARY not in trail.read_text()
    # rotating the pseudonym key keeps the trail verifiable by key id
    report = _rotate(Kind.PSEUDONYM, ScriptedOperator(), yes=True)
    keys = load_keys(_settings(), store_opener(_settings(), os.environ))
    chain = verify_chain(trail, keys.by_id())
    assert chain.first_break is None
    assert len(chain.key_ids) == 2


def test_a_trail_chained_only_with_the_current_key_lets_a_second_rotation_through(
    memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    trail = hermetic_env / "trail.jsonl"
    config = f'[profiles.default]\naudit_log = "{trail}"\n'
    assert _rotate(Kind.PSEUDONYM, ScriptedOperator(), yes=True, config=config).ok
    first = memory_keyring.get_password(SERVICE, "default/pseudonym_key")
    assert memory_keyring.get_password(SERVICE, "default/pseudonym_key@previous") is not None
    # the trail's only record is chained with the current key: the previous one may go
    assert _rotate(Kind.PSEUDONYM, ScriptedOperator(), yes=True).outcome == "completed"
    assert memory_keyring.get_password(SERVICE, "default/pseudonym_key@previous") == first
    keys = load_keys(_settings(), store_opener(_settings(), os.environ))
    assert verify_chain(trail, keys.by_id()).first_break is None


def test_without_a_pseudonym_key_the_trail_record_is_skipped_with_a_warning(
    stored: Sandbox, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    memory_keyring.delete_password(SERVICE, "default/pseudonym_key")
    trail = hermetic_env / "trail.jsonl"
    config = f'[profiles.default]\naudit_log = "{trail}"\n'
    report = _rotate(Kind.WEBHOOK, ScriptedOperator(["w" * 32]), yes=True, config=config)
    assert report.outcome == "completed"
    assert "no pseudonym key, so no record was added" in report.warnings[0]
    assert not trail.exists()
    assert memory_keyring.get_password(SERVICE, "default/pseudonym_key") is None
    assert len(rotation_records(hermetic_env)) == 1


def _write_state(work: Path, kind: str, **fields: object) -> None:
    path = state_file(work, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "version": 1,
        "kind": kind,
        "profile": "default",
        "started_at": "x",
        "done": [],
        "waiting": [],
        "sources": {},
        "old": {},
        "new": {},
        "workspace_id": None,
        "region": None,
    }
    path.write_text(json.dumps({**state, **fields}))


def test_a_pseudonym_key_stored_before_a_crash_is_adopted_not_replaced(
    memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    written = "n" * 64
    memory_keyring.set_password(SERVICE, "default/pseudonym_key", written)
    memory_keyring.set_password(SERVICE, "default/pseudonym_key@previous", CANARY)
    _write_state(
        hermetic_env,
        "pseudonym",
        done=["preflight"],
        sources={"pseudonym_key": "keyring:cio-sec/default/pseudonym_key"},
        old={"pseudonym_key": fingerprint(CANARY)},
        new={"pseudonym_key": fingerprint(written)},
    )
    report = _rotate(Kind.PSEUDONYM, ScriptedOperator(), Action.RESUME)
    assert report.outcome == "completed"
    assert memory_keyring.get_password(SERVICE, "default/pseudonym_key") == written
    assert memory_keyring.get_password(SERVICE, "default/pseudonym_key@previous") == CANARY


def test_a_lost_previous_pseudonym_key_stops_the_rotation(
    memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    written = "n" * 64
    memory_keyring.set_password(SERVICE, "default/pseudonym_key", written)
    _write_state(
        hermetic_env,
        "pseudonym",
        done=["preflight", "store"],
        sources={"pseudonym_key": "keyring:cio-sec/default/pseudonym_key"},
        old={"pseudonym_key": fingerprint(CANARY)},
        new={"pseudonym_key": fingerprint(written)},
    )
    report = _rotate(Kind.PSEUDONYM, ScriptedOperator(), Action.RESUME)
    assert report.exit_code == ExitCode.CONFIG
    assert "did not keep the previous pseudonym key" in report.message


def test_a_state_without_preflight_runs_preflight_again(
    stored: Sandbox, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    reference = "keyring:cio-sec/default/webhook_signing_key"
    written = {"sources": {"webhook_signing_key": reference}, "old": {"webhook_signing_key": "0"}}
    _write_state(hermetic_env, "webhook", **written)
    report = _rotate(Kind.WEBHOOK, ScriptedOperator(["w" * 32]), Action.RESUME)
    assert report.outcome == "completed"
    assert report.fingerprints == {"webhook_signing_key": fingerprint("w" * 32)}
    # when preflight fails, the state is kept as it was, resumable
    memory_keyring.delete_password(SERVICE, "default/webhook_signing_key")
    _write_state(hermetic_env, "webhook", **written)
    report = _rotate(Kind.WEBHOOK, ScriptedOperator(), Action.RESUME)
    assert report.outcome == "stopped"
    assert report.exit_code == ExitCode.CONFIG
    assert "continues from step preflight" in str(report.hint)
    assert json.loads(state_file(hermetic_env, "webhook").read_text())["done"] == []


def _stop_at_deploy(stored: Sandbox) -> None:
    new = stored.add_track_keys()
    operator = ScriptedOperator([new.site_id, new.track_api_key], interactive=False)
    assert _rotate(Kind.TRACK, operator, yes=True).outcome == "stopped"


def test_a_tampered_previous_value_stops_the_old_key_test(
    stored: Sandbox, memory_keyring: MemoryKeyring
) -> None:
    _stop_at_deploy(stored)
    memory_keyring.set_password(SERVICE, "default/track_api_key@previous", "f" * 20)
    report = _rotate(Kind.TRACK, ScriptedOperator(interactive=False), Action.RESUME)
    assert "no longer holds the old track_api_key as its previous value" in report.message
    assert report.exit_code == ExitCode.CONFIG


def test_the_delete_instruction_names_the_old_key_by_fingerprint_when_it_cannot_be_read(
    stored: Sandbox, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    _stop_at_deploy(stored)
    memory_keyring.set_password(SERVICE, "default/site_id@previous", "f" * 20)
    path = state_file(hermetic_env, "track")
    state = json.loads(path.read_text())
    state["waiting"] = []
    path.write_text(json.dumps(state))
    report = _rotate(Kind.TRACK, ScriptedOperator(interactive=False), Action.RESUME)
    assert f"fingerprint {fingerprint(stored.info.site_id)}" in report.message


@pytest.mark.parametrize(
    ("dropped", "message"),
    [
        ("@previous", "did not keep the previous app_api_key for rollback"),
        ("", "did not return the app_api_key just written"),
    ],
)
def test_a_store_that_drops_writes_is_caught(
    stored: Sandbox,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    dropped: str,
    message: str,
) -> None:
    real_set = memory_keyring.set_password
    monkeypatch.setattr(
        memory_keyring,
        "set_password",
        lambda s, u, p: None if u.endswith(dropped) else real_set(s, u, p),
    )
    key = stored.add_app_key()
    report = _rotate(Kind.APP, ScriptedOperator([key], interactive=False), yes=True)
    assert message in report.message


def test_a_value_changed_underneath_is_not_overwritten(
    stored: Sandbox, memory_keyring: MemoryKeyring
) -> None:
    key = stored.add_app_key()
    operator = ScriptedOperator([key], interactive=False)
    assert _rotate(Kind.APP, operator, yes=True).outcome == "stopped"
    memory_keyring.set_password(SERVICE, "default/app_api_key", "e" * 32)
    report = _rotate(Kind.APP, ScriptedOperator(interactive=False), Action.RESUME)
    assert "is not the new value" in report.message
    with pytest.raises(Exception, match="holds neither the old nor the new app_api_key"):
        _rotate(Kind.APP, ScriptedOperator(), Action.ROLLBACK, yes=True)


def test_rollback_before_anything_was_stored(stored: Sandbox, hermetic_env: Path) -> None:
    other = stored.add_app_key(workspace_id=4004)
    report = _rotate(Kind.APP, ScriptedOperator([other], interactive=False), yes=True)
    assert report.exit_code == ExitCode.CONFIG
    report = _rotate(Kind.APP, ScriptedOperator(), Action.ROLLBACK, yes=True)
    assert report.message.startswith("nothing had been stored yet; the old key works again")
    assert not state_file(hermetic_env, "app").exists()


def test_rollback_says_when_the_old_key_cannot_be_tested(stored: Sandbox) -> None:
    key = stored.add_app_key()
    _rotate(Kind.APP, ScriptedOperator([key], interactive=False), yes=True)
    stored.set_faults(Faults(error_rate=1.0, retry_after=0.0))
    report: RotationReport = _rotate(Kind.APP, ScriptedOperator(), Action.ROLLBACK, yes=True)
    assert report.exit_code == ExitCode.REMOTE
    assert report.old_key_works is None
    assert "the old key could not be tested" in report.message


def test_webhook_and_pseudonym_rollback_need_no_remote_test(
    stored: Sandbox, memory_keyring: MemoryKeyring
) -> None:
    operator = ScriptedOperator(["w" * 32], interactive=False)
    assert _rotate(Kind.WEBHOOK, operator, yes=True).outcome == "stopped"
    report = _rotate(Kind.WEBHOOK, ScriptedOperator(), Action.ROLLBACK)
    assert report.message == "restored webhook_signing_key; the old key is current again"
    assert report.old_key_works is None
    assert memory_keyring.get_password(SERVICE, "default/webhook_signing_key") == (
        stored.info.webhook_signing_key
    )


def test_abort_before_storing_has_nothing_to_warn_about(
    stored: Sandbox, hermetic_env: Path
) -> None:
    with pytest.raises(KeyboardInterrupt):
        _rotate(Kind.APP, ScriptedOperator(), yes=True)
    report = _rotate(Kind.APP, ScriptedOperator(), Action.ABORT)
    assert report.outcome == "aborted"
    assert report.warnings == ()


def _rewind(work: Path, kind: str, done: list[str]) -> None:
    path = state_file(work, kind)
    state = json.loads(path.read_text())
    state["done"], state["waiting"] = done, []
    path.write_text(json.dumps(state))


def test_a_pair_half_stored_before_a_crash_is_completed(
    stored: Sandbox, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    old, new = stored.info, stored.add_track_keys()
    operator = ScriptedOperator([new.site_id, new.track_api_key], interactive=False)
    assert _rotate(Kind.TRACK, operator, yes=True).outcome == "stopped"
    # as if killed after the site ID was written and before the key was
    memory_keyring.set_password(SERVICE, "default/track_api_key", old.track_api_key)
    memory_keyring.delete_password(SERVICE, "default/track_api_key@previous")
    _rewind(hermetic_env, "track", ["preflight", "new-key", "test-new"])
    operator = ScriptedOperator([new.site_id, new.track_api_key], interactive=False)
    report = _rotate(Kind.TRACK, operator, Action.RESUME)
    assert report.outcome == "stopped", report.message
    assert memory_keyring.get_password(SERVICE, "default/track_api_key") == new.track_api_key
    assert memory_keyring.get_password(SERVICE, "default/site_id@previous") == old.site_id


def test_abort_warns_about_a_pair_half_stored_before_a_crash(
    stored: Sandbox, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    old, new = stored.info, stored.add_track_keys()
    operator = ScriptedOperator([new.site_id, new.track_api_key], interactive=False)
    assert _rotate(Kind.TRACK, operator, yes=True).outcome == "stopped"
    # as if killed after the site ID was written and before the key was
    memory_keyring.set_password(SERVICE, "default/track_api_key", old.track_api_key)
    _rewind(hermetic_env, "track", ["preflight", "new-key", "test-new"])
    report = _rotate(Kind.TRACK, ScriptedOperator(), Action.ABORT)
    assert report.outcome == "aborted"
    assert len(report.warnings) == 1
    assert "holds the new site_id but not the new track_api_key" in report.warnings[0]
    assert "cio-sec credentials set track_api_key" in report.warnings[0]
    assert not state_file(hermetic_env, "track").exists()


def test_abort_says_when_it_cannot_tell_what_is_stored(
    hermetic_env: Path,
) -> None:
    _write_state(
        hermetic_env,
        "app",
        done=["preflight", "new-key", "test-new"],
        sources={"app_api_key": "aws-sm:nowhere"},  # no AWS region configured: unreadable
        old={"app_api_key": "0" * 16},
        new={"app_api_key": "1" * 16},
    )
    report = _rotate(Kind.APP, ScriptedOperator(), Action.ABORT)
    assert report.outcome == "aborted"
    assert "could not read app_api_key" in report.warnings[0]


def test_a_store_changed_before_the_write_is_not_overwritten(
    stored: Sandbox, memory_keyring: MemoryKeyring, hermetic_env: Path
) -> None:
    key = stored.add_app_key()
    assert _rotate(Kind.APP, ScriptedOperator([key], interactive=False), yes=True).ok is False
    memory_keyring.set_password(SERVICE, "default/app_api_key", "d" * 32)
    _rewind(hermetic_env, "app", ["preflight", "new-key", "test-new"])
    report = _rotate(Kind.APP, ScriptedOperator([key], interactive=False), Action.RESUME)
    assert "no longer holds the app_api_key this rotation started from" in report.message


def test_records_written_before_a_crash_are_not_repeated(
    stored: Sandbox, hermetic_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass

    def no_user() -> str:
        raise KeyError("no passwd entry")

    monkeypatch.setattr(getpass, "getuser", no_user)
    trail = hermetic_env / "trail.jsonl"
    config = f'[profiles.default]\naudit_log = "{trail}"\n'
    operator = ScriptedOperator(["w" * 32], interactive=False)
    assert _rotate(Kind.WEBHOOK, operator, yes=True, config=config).outcome == "stopped"
    assert _rotate(Kind.WEBHOOK, ScriptedOperator(), Action.RESUME).outcome == "completed"
    assert json.loads(trail.read_text())["operator"].startswith("unknown@")
    # the same state again, as if killed after recording and before the state was cleared
    _write_state(
        hermetic_env,
        "webhook",
        done=["preflight", "new-key", "store", "test-stored", "deploy"],
        sources={"webhook_signing_key": "keyring:cio-sec/default/webhook_signing_key"},
        old={"webhook_signing_key": fingerprint(stored.info.webhook_signing_key)},
        new={"webhook_signing_key": fingerprint("w" * 32)},
    )
    assert _rotate(Kind.WEBHOOK, ScriptedOperator(), Action.RESUME).outcome == "completed"
    assert len(rotation_records(hermetic_env)) == 1
    trail_records = [json.loads(line) for line in trail.read_text().splitlines()]
    assert [record["type"] for record in trail_records] == ["rotation"]
