"""The published pre-commit hook, run by the real ``pre-commit`` on a temporary repository.

The hook definition comes from the project's ``.pre-commit-hooks.yaml``; only its entry is
pointed at this environment's ``cio-sec`` (``language: system``), so nothing is downloaded.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cio_sec.scan_repo.report import HOOK_ID
from tests.conftest import CANARY
from tests.support.git_repos import ENV_PAIR, OTHER_TRACK_KEY, SITE_ID, TRACK_KEY, Repo, make_repo

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CIO_SEC = Path(sys.executable).parent / "cio-sec"
LEAK = f"customer.io key={TRACK_KEY}\n"


def published_hooks() -> dict[str, dict[str, object]]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return {hook["id"]: hook for hook in hooks}


def local_config(*args: str) -> str:
    """A ``repo: local`` config holding the published hook, run from this environment."""
    hook = dict(published_hooks()[HOOK_ID])
    hook["entry"] = str(hook["entry"]).replace("cio-sec", str(CIO_SEC), 1)
    hook["language"] = "system"
    if args:
        hook["args"] = list(args)
    return str(yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]}))


def run(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a command in the repository; stdout holds both streams (git sends hooks' to stderr).

    The output must never hold a secret.
    """
    done = subprocess.run(
        args,
        cwd=repo.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    for secret in (TRACK_KEY, OTHER_TRACK_KEY, CANARY):
        assert secret not in done.stdout
    return done


def pre_commit(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return run(repo, sys.executable, "-m", "pre_commit", *args)


@pytest.fixture
def hooked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """A repository with the hook installed and one clean commit."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-cache"))
    repo = make_repo(tmp_path)
    repo.commit("config", {".pre-commit-config.yaml": local_config(), "README.md": "hello\n"})
    assert pre_commit(repo, "install").returncode == 0
    return repo


def test_the_published_hook_keeps_its_id_and_takes_file_names() -> None:
    hook = published_hooks()[HOOK_ID]
    assert hook["pass_filenames"] is True
    assert str(hook["entry"]).endswith("scan-repo --files")
    assert "pre-commit" in hook["stages"]  # type: ignore[operator]


def test_a_staged_key_blocks_the_commit(hooked: Repo) -> None:
    hooked.write("settings.py", LEAK)
    hooked.git("add", "settings.py")
    done = run(hooked, "git", "commit", "-m", "leak")
    assert done.returncode != 0
    assert "customerio-track-api-key" in done.stdout
    assert "settings.py:1" in done.stdout
    assert done.stdout.rstrip().endswith(f"SKIP={HOOK_ID} git commit ...")
    assert "docs/runbooks/key-leaked.md" in done.stdout
    assert "--baseline" in done.stdout
    assert hooked.git("log", "--format=%s") == "config"


def test_an_unstaged_key_does_not_block_a_commit_of_other_files(hooked: Repo) -> None:
    hooked.write("notes.md", "clean\n")
    hooked.git("add", "notes.md")
    hooked.write("README.md", "hello\n" + LEAK)  # changed on disk, not staged
    done = run(hooked, "git", "commit", "-m", "notes")
    assert done.returncode == 0, done.stdout
    assert "Passed" in done.stdout


def test_all_files_fails_on_a_key_committed_with_no_verify(hooked: Repo) -> None:
    hooked.write(".env", ENV_PAIR)
    hooked.git("add", ".env")
    hooked.git("commit", "--no-verify", "-q", "-m", "leak past the hook")
    done = pre_commit(hooked, "run", "--all-files")
    assert done.returncode == 1
    assert "Failed" in done.stdout
    assert ".env:2" in done.stdout
    assert "customerio-track-key-pair" in done.stdout


def test_all_files_passes_on_a_clean_tree(hooked: Repo) -> None:
    hooked.commit("code", {"app.py": f"SITE = '{SITE_ID}'  # not a key on its own\n"})
    done = pre_commit(hooked, "run", "--all-files")
    assert done.returncode == 0, done.stdout
    assert "Passed" in done.stdout


def test_a_baseline_silences_a_known_key(hooked: Repo) -> None:
    hooked.write("fixtures/test.env", ENV_PAIR)
    hooked.git("add", "fixtures/test.env")
    hooked.git("commit", "--no-verify", "-q", "-m", "a known test key")
    baseline = ".cio-sec-baseline.json"
    written = run(hooked, str(CIO_SEC), "scan-repo", "--baseline", baseline, "--write-baseline")
    assert written.returncode == 0, written.stdout
    hooked.commit("hook with baseline", {".pre-commit-config.yaml": local_config()})
    assert pre_commit(hooked, "run", "--all-files").returncode == 1
    hooked.commit(
        "hook with baseline",
        {".pre-commit-config.yaml": local_config("--baseline", baseline)},
    )
    done = pre_commit(hooked, "run", "--all-files")
    assert done.returncode == 0, done.stdout
    hooked.write("more.env", ENV_PAIR.replace(TRACK_KEY, OTHER_TRACK_KEY))
    hooked.git("add", "more.env")
    blocked = run(hooked, "git", "commit", "-m", "a new key")
    assert blocked.returncode != 0
    assert "more.env:2" in blocked.stdout
