"""``cio-sec scan-repo --files PATH...``: the named files as they are on disk."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from cio_sec.scan_repo.report import HOOK_ID
from tests.support.cli import CliHarness
from tests.support.git_repos import ENV_PAIR, TRACK_KEY, make_repo

LEAK = f"customer.io key={TRACK_KEY}\n"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, watched_secrets: set[str]) -> Path:
    """A repository whose committed file is clean and whose working copy is not."""
    watched_secrets.add(TRACK_KEY)
    repo = make_repo(tmp_path)
    repo.commit("init", {"app.py": "print('hello')\n", "README.md": "hi\n"})
    repo.write("app.py", LEAK)  # changed on disk only
    monkeypatch.chdir(repo.path)
    return repo.path


def test_the_working_tree_content_of_each_file_is_scanned(run_cli: CliHarness, tree: Path) -> None:
    document = run_cli("scan-repo", "--files", "app.py", "README.md", "-f", "json", expect=1).json
    assert document["source"] == "files"
    assert [(f["path"], f["line"]) for f in document["findings"]] == [("app.py", 1)]
    assert document["summary"]["blobs_scanned"] == 2
    assert run_cli("scan-repo", "--files", "README.md").exit_code == 0


def test_a_blocked_run_ends_with_the_next_steps(run_cli: CliHarness, tree: Path) -> None:
    outcome = run_cli("scan-repo", "--files", "app.py", expect=1)
    last = outcome.stderr.rstrip().splitlines()[-3:]
    assert "docs/runbooks/key-leaked.md" in last[0]
    assert "--baseline" in last[1]
    assert last[2].endswith(f"SKIP={HOOK_ID} git commit ...")


def test_history_scans_do_not_speak_of_the_hook(run_cli: CliHarness, tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "history")
    repo.commit("leak", {".env": ENV_PAIR})
    outcome = run_cli("scan-repo", str(repo.path), expect=1)
    assert "SKIP=" not in outcome.stderr


def test_a_staged_scan_ends_with_the_next_steps(run_cli: CliHarness, tree: Path) -> None:
    import subprocess

    subprocess.run(["git", "add", "app.py"], cwd=tree, check=True)
    outcome = run_cli("scan-repo", "--staged", expect=1)
    assert outcome.stderr.rstrip().endswith(f"SKIP={HOOK_ID} git commit ...")


def test_symlinks_are_not_followed(run_cli: CliHarness, tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.env"
    outside.write_text(ENV_PAIR)
    (tree / "link.env").symlink_to(outside)
    document = run_cli("scan-repo", "--files", "link.env", "-f", "json").json
    assert document["findings"] == []


def test_a_damaged_archive_is_a_skipped_item(run_cli: CliHarness, tree: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.env", ENV_PAIR)
    data = bytearray(buffer.getvalue())
    data[40:60] = b"\0" * 20  # the member's compressed bytes
    (tree / "env.zip").write_bytes(bytes(data))
    document = run_cli("scan-repo", "--files", "env.zip", "-f", "json").json
    assert document["skipped"]
    assert document["skipped"][0]["path"] == "env.zip"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--files", "missing.py"), "missing.py: file not found"),
        (("--files", "."), ".: a directory, not a file"),
        (("--files", "README.md/x"), "README.md/x: cannot read the file"),
        (("--files",), "--files needs at least one PATH"),
        (("a", "b"), "scans one repository at a time"),
        (("--files", "--staged", "app.py"), "exclude each other"),
        (("--files", "--since", "HEAD", "app.py"), "history scans only"),
    ],
)
def test_bad_file_lists_are_usage_errors(
    run_cli: CliHarness, tree: Path, args: tuple[str, ...], message: str
) -> None:
    outcome = run_cli("scan-repo", *args, expect=2)
    assert message in outcome.stderr


def test_sarif_of_files_places_each_finding(run_cli: CliHarness, tree: Path) -> None:
    log = json.loads(run_cli("scan-repo", "--files", "app.py", "-f", "sarif", expect=1).stdout)
    (result,) = log["runs"][0]["results"]
    place = result["locations"][0]["physicalLocation"]
    assert place == {"artifactLocation": {"uri": "app.py"}, "region": {"startLine": 1}}
