"""The rotation state file and lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.errors import ConfigError
from cio_sec.rotate.state import (
    RotationState,
    clear_state,
    load_state,
    rotation_lock,
    save_state,
    state_path,
)
from cio_sec.rotate.steps import STEPS, Kind, Needs, operator_run
from tests.support.hostile import fill, full_filesystem

_names = st.text("abcdef_-", min_size=1, max_size=12)


@given(
    done=st.lists(_names, max_size=5),
    fingerprints=st.dictionaries(_names, st.text("0123456789abcdef", min_size=16, max_size=16)),
    workspace=st.one_of(st.none(), st.integers(0, 10**9).map(str), st.text(min_size=1)),
)
def test_state_round_trips(done: list[str], fingerprints: dict[str, str], workspace: str | None):
    fingerprints = {"site_id": "0" * 16, "track_api_key": "1" * 16, **fingerprints}
    sources = {name: f"keyring:cio-sec/p/{name}" for name in fingerprints}
    state = RotationState(
        "track", "p", "t", done, [], sources, fingerprints, fingerprints, workspace_id=workspace
    )
    assert RotationState.from_json(json.loads(json.dumps(state.to_json()))) == state


def test_a_state_from_before_string_workspace_ids_loads_its_integer_as_text(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.json"
    path.write_text(
        '{"version": 1, "kind": "app", "profile": "p", "started_at": "t", "done": [], '
        '"waiting": [], "sources": {"app_api_key": "env:X"}, "old": {"app_api_key": "f"}, '
        '"new": {}, "workspace_id": 7, "region": "us"}'
    )
    state = load_state(path)
    assert state is not None
    assert state.workspace_id == "7"


def test_save_is_atomic_and_private(tmp_path: Path) -> None:
    path = state_path(tmp_path, "prod/eu", "app")
    assert path.name == "prod_eu-app.json"
    state = RotationState("app", "prod/eu", "t", done=["preflight"])
    state.sources, state.old = {"app_api_key": "keyring:cio-sec/x"}, {"app_api_key": "0" * 16}
    save_state(path, state)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    loaded = load_state(path)
    assert loaded is not None
    assert loaded.done == ["preflight"]
    clear_state(path)
    clear_state(path)
    assert load_state(path) is None


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"version": 2}',
        '{"version": 1, "kind": "app"}',
        '{"version": 1, "kind": "a", "profile": "p", "started_at": "t", "done": [], '
        '"waiting": [], "sources": {}, "old": {}, "new": {}, "workspace_id": [7], "region": null}',
        '{"version": 1, "kind": "a", "profile": "p", "started_at": "t", "done": [], '
        '"waiting": [], "sources": {}, "old": {}, "new": {}, "workspace_id": 7, "region": null}',
        '{"version": 1, "kind": "app", "profile": "p", "started_at": "t", "done": ["preflight"], '
        '"waiting": [], "sources": {"app_api_key": "env:X"}, "old": {}, "new": {}, '
        '"workspace_id": 7, "region": null}',
        '{"version": 1, "kind": "app", "profile": "p", "started_at": "t", "done": ["new-key"], '
        '"waiting": [], "sources": {"app_api_key": "env:X"}, "old": {"app_api_key": "f"}, '
        '"new": {}, "workspace_id": 7, "region": null}',
    ],
)
def test_a_damaged_state_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match="is damaged") as caught:
        load_state(path)
    assert "--abort" in str(caught.value.hint)


def test_unreadable_and_unwritable_state(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the rotation state"):
        load_state(tmp_path)  # a directory
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot write the rotation state"):
        save_state(blocker / "s.json", RotationState("app", "p", "t"))
    with (
        pytest.raises(ConfigError, match="cannot create the rotation lock"),
        rotation_lock(blocker / "s.json"),
    ):
        pass  # pragma: no cover - never entered


def test_a_failed_state_write_is_a_config_error_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    path = state_path(tmp_path, "default", "app")
    (path / "in-the-way").mkdir(parents=True)  # the rename onto a full directory fails
    with pytest.raises(ConfigError, match="cannot write the rotation state"):
        save_state(path, RotationState("app", "default", "t"))
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_second_holder_is_refused_and_told_the_pid(tmp_path: Path) -> None:
    path = tmp_path / "default-track.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from cio_sec.rotate.state import rotation_lock\n"
            "with rotation_lock(Path(sys.argv[1])):\n"
            "    print('locked', flush=True); time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ConfigError, match=f"pid {holder.pid}"), rotation_lock(path):
            pass  # pragma: no cover - never entered
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    with rotation_lock(path):  # the kernel released the dead holder's lock
        pass


def test_operator_steps_run_together_until_an_automated_one() -> None:
    steps = STEPS[Kind.TRACK]
    start = [step.needs for step in steps].index(Needs.OPERATOR)
    assert [s.name for s in operator_run(steps, start)] == ["deploy", "delete-old"]
    assert operator_run(STEPS[Kind.WEBHOOK], 4)[-1].name == "deploy"
    assert operator_run(steps, len(steps) - 1) == ()
    assert [s.name for s in operator_run(steps[:5], 4)] == ["deploy"]


def test_on_a_full_disk_the_lock_is_still_held_and_the_state_write_names_its_path(
    tmp_path: Path,
) -> None:
    with full_filesystem(tmp_path / "full", size_kib=64) as full:
        path = state_path(full, "default", "app")
        path.parent.mkdir(parents=True)
        fill(full)
        with rotation_lock(path):
            with pytest.raises(ConfigError, match="another rotation"), rotation_lock(path):
                pass  # pragma: no cover - never entered
            with pytest.raises(ConfigError, match=f"cannot write the rotation state {path}"):
                save_state(path, RotationState("app", "default", "t"))
