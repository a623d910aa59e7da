"""scan-repo against hostile repositories: damaged archives and objects, huge members,
control characters in names, and a baseline path that is a symlink or on a full disk.

Every repository is real (built with git in ``tmp_path``) and every archive is a real
archive damaged in the bytes a reader trusts. The rule under test: one bad file never
hides the rest, what was not read is said, and a damaged repository is exit 2, not 70.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git
import jsonschema
import pytest

from cio_sec.errors import ExitCode
from cio_sec.scan_repo import archives
from cio_sec.scan_repo.history import git_said
from tests.scan_repo import archive_samples as samples
from tests.support.cli import CliHarness
from tests.support.git_repos import APP_KEY, ENV_PAIR, TRACK_KEY, Repo, make_repo
from tests.support.hostile import full_filesystem

pytestmark = pytest.mark.slow

SCHEMA = json.loads((Path(__file__).parent.parent / "support/sarif-schema-2.1.0.json").read_text())
PAIR_RULE = "customerio-track-key-pair"


@pytest.fixture(autouse=True)
def _watch_keys(watched_secrets: set[str]) -> None:
    watched_secrets.update({TRACK_KEY, APP_KEY})


def _scan_json(run_cli: CliHarness, repo: Repo, *args: str, expect: int) -> dict[str, Any]:
    return run_cli("scan-repo", str(repo.path), "-f", "json", *args, expect=expect).json


@pytest.mark.parametrize(
    ("build", "raised"),
    [
        (samples.zip_of_unknown_version, NotImplementedError),
        (samples.zip_with_a_negative_offset, ValueError),
        (samples.zip_with_a_name_that_is_not_utf8, UnicodeDecodeError),
        (samples.zip_with_an_empty_name, IndexError),
    ],
    ids=["zip-version", "negative-offset", "name-not-utf8", "empty-name"],
)
@pytest.mark.parametrize("mode", [(), ("--staged",), ("--no-history",), ("--since", "HEAD~1")])
def test_a_damaged_archive_beside_a_key_does_not_hide_it(
    run_cli: CliHarness,
    tmp_path: Path,
    build: Callable[[], bytes],
    raised: type[Exception],
    mode: tuple[str, ...],
) -> None:
    damaged = build()
    with pytest.raises(raised):  # the damage is real: the standard library raises on it
        samples.read_all_with_the_standard_library(damaged)
    repo = make_repo(tmp_path)
    repo.commit("init", {"README.md": "x\n"})
    files: dict[str, str | bytes] = {"assets/damaged.zip": damaged, ".env": ENV_PAIR}
    if mode == ("--staged",):
        for name, content in files.items():
            repo.write(name, content)
        repo.git("add", "-A")
    else:
        repo.commit("add", files)
    document = _scan_json(run_cli, repo, *mode, expect=ExitCode.CHECK_FAILED)
    assert [(f["rule"], f["path"]) for f in document["findings"]] == [(PAIR_RULE, ".env")]
    if raised is not IndexError:  # an empty name is no damage: the member is read
        [skipped] = document["skipped"]
        assert skipped["path"] == "assets/damaged.zip"
        assert raised.__name__ in skipped["reason"]


def test_skipped_items_are_counted_in_text_listed_in_json_and_notified_in_sarif(
    run_cli: CliHarness, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    commit = repo.commit("backup", {"backup.zip": samples.zip_with_unreadable_members()})
    text = run_cli("scan-repo", str(repo.path), expect=ExitCode.CHECK_FAILED)
    assert "backup.zip!app.env" in text.stdout
    assert "2 item(s) not scanned in full" in text.stderr
    assert "backup.zip!locked.env: not readable (RuntimeError" in text.stderr
    document = _scan_json(run_cli, repo, expect=ExitCode.CHECK_FAILED)
    assert document["summary"]["skipped"] == 2
    locked, odd = document["skipped"]
    assert {k: locked[k] for k in ("path", "commit", "member")} == {
        "path": "backup.zip",
        "commit": commit,
        "member": "locked.env",
    }
    assert "encrypted" in locked["reason"]
    assert (odd["member"], "NotImplementedError" in odd["reason"]) == ("odd.env", True)
    log = json.loads(run_cli("scan-repo", str(repo.path), "-f", "sarif", expect=1).stdout)
    jsonschema.validate(log, SCHEMA)
    [invocation] = log["runs"][0]["invocations"]
    notifications = invocation["toolExecutionNotifications"]
    assert [n["properties"]["member"] for n in notifications] == ["locked.env", "odd.env"]
    assert notifications[0]["level"] == "warning"
    assert notifications[0]["locations"] == [
        {"physicalLocation": {"artifactLocation": {"uri": "backup.zip"}}}
    ]


def test_the_readable_start_of_a_damaged_member_is_still_scanned(
    run_cli: CliHarness, tmp_path: Path
) -> None:
    content = samples.SECRET_MEMBER + samples.FILLER * 50
    repo = make_repo(tmp_path)
    repo.commit(
        "damaged",
        {
            "notes.env.gz": samples.truncated_gzip(content),
            "bundle.tar": samples.tar_with_a_truncated_member(),
        },
    )
    document = _scan_json(run_cli, repo, expect=ExitCode.CHECK_FAILED)
    assert [f["path"] for f in document["findings"]] == ["bundle.tar!big.env", "notes.env.gz"]
    reasons = {(s["path"], s["member"]): s["reason"] for s in document["skipped"]}
    assert reasons[("notes.env.gz", None)].startswith("damaged after ")
    assert "EOFError" in reasons[("notes.env.gz", None)]
    assert reasons[("bundle.tar", "big.env")].startswith("truncated: 1536 of ")


def test_a_tar_that_stops_at_a_bad_header_says_so(run_cli: CliHarness, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("tar", {"bundle.tar": samples.tar_with_a_bad_second_header()})
    document = _scan_json(run_cli, repo, expect=ExitCode.OK)
    [skipped] = document["skipped"]
    assert (skipped["member"], skipped["reason"]) == (
        None,
        "damaged tar archive: nothing after byte 2048 read",
    )


def test_a_sparse_tar_member_is_scanned(run_cli: CliHarness, tmp_path: Path) -> None:
    work = tmp_path / "sparse"
    work.mkdir()
    holes = work / "holes.env"
    with holes.open("wb") as handle:
        handle.truncate(1 << 20)
        handle.seek(600_000)
        handle.write(ENV_PAIR.encode())
    subprocess.run(
        ["tar", "-S", "--format=gnu", "-cf", "sparse.tar", "holes.env"], cwd=work, check=True
    )
    with tarfile.open(work / "sparse.tar") as made:
        assert made.getmembers()[0].issparse()
    repo = make_repo(tmp_path)
    repo.commit("sparse", {"sparse.tar": (work / "sparse.tar").read_bytes()})
    document = _scan_json(run_cli, repo, expect=ExitCode.CHECK_FAILED)
    assert [f["path"] for f in document["findings"]] == ["sparse.tar!holes.env"]
    assert document["skipped"] == []


def test_a_huge_member_is_cut_said_and_its_start_scanned(
    run_cli: CliHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archives, "MAX_MEMBER_BYTES", 1024)
    monkeypatch.setattr(archives, "MAX_BLOB_BYTES", 3000)
    repo = make_repo(tmp_path)
    members = {
        "a.env": samples.SECRET_MEMBER + samples.FILLER,
        "b.txt": samples.FILLER,
        "c.txt": samples.FILLER,
        "d.env": samples.SECRET_MEMBER,
    }
    with_a_folder = io.BytesIO()
    with tarfile.open(fileobj=with_a_folder, mode="w") as tar:
        tar.addfile(_folder("folder"))  # read past: only files are scanned
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    repo.commit(
        "huge", {"huge.zip": samples.zip_bytes(members), "huge.tar": with_a_folder.getvalue()}
    )
    document = _scan_json(run_cli, repo, expect=ExitCode.CHECK_FAILED)
    assert [f["path"] for f in document["findings"]] == ["huge.tar!a.env", "huge.zip!a.env"]
    expected = [
        ("a.env", "cut after 1024 bytes: larger than cio-sec decompresses"),
        ("b.txt", "cut after 1024 bytes: larger than cio-sec decompresses"),
        ("c.txt", "cut after 952 bytes: larger than cio-sec decompresses"),
        ("d.env", "not read, nor any later member: over 3000 bytes in all"),
    ]
    skipped = [(s["path"], s["member"], s["reason"]) for s in document["skipped"]]
    assert skipped == [("huge.tar", *item) for item in expected] + [
        ("huge.zip", *item) for item in expected
    ]


def _folder(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info


def test_archives_nested_too_deep_are_said_and_scanned_as_bytes(
    run_cli: CliHarness, tmp_path: Path
) -> None:
    stored = samples.zip_bytes({"deep.env": samples.SECRET_MEMBER}, zipfile.ZIP_STORED)
    repo = make_repo(tmp_path)
    repo.commit("nested", {"nested.zip": samples.nested(stored, archives.MAX_DEPTH)})
    document = _scan_json(run_cli, repo, expect=ExitCode.CHECK_FAILED)
    deepest = "level2.bin!level1.bin!level0.bin"
    # Stored, not deflated: the innermost archive's raw bytes still show the key.
    assert [f["path"] for f in document["findings"]] == [f"nested.zip!{deepest}"]
    [skipped] = document["skipped"]
    assert (skipped["member"], skipped["reason"]) == (
        deepest,
        "zip archive nested more than 3 deep: scanned as bytes",
    )


def test_at_most_a_hundred_skipped_items_are_listed_per_blob(
    run_cli: CliHarness, tmp_path: Path
) -> None:
    data = bytearray(samples.zip_bytes({f"m{n:03}.txt": b"x" for n in range(150)}))
    at = 0
    while (at := data.find(b"PK\x01\x02", at + 1)) != -1:
        data[at + 10 : at + 12] = (99).to_bytes(2, "little")  # an unknown method, each
    repo = make_repo(tmp_path)
    repo.commit("many", {"many.zip": bytes(data)})
    document = _scan_json(run_cli, repo, expect=ExitCode.OK)
    skipped = document["skipped"]
    assert len(skipped) == archives.MAX_SKIPPED + 1
    assert skipped[0]["member"] == "m000.txt"
    assert (skipped[-1]["member"], skipped[-1]["reason"]) == (
        None,
        "50 more skipped items not listed",
    )
    text = run_cli("scan-repo", str(repo.path))
    assert "101 item(s) not scanned in full" in text.stderr
    assert "… and 96 more" in text.stderr


# --- damaged repositories -------------------------------------------------------------


def _object_file(repo: Repo, revision: str) -> Path:
    oid = repo.git("rev-parse", revision)
    return repo.path / ".git" / "objects" / oid[:2] / oid[2:]


def _overwrite(file: Path, data: bytes) -> None:
    file.chmod(0o644)
    file.write_bytes(data)


@pytest.fixture
def leaky(tmp_path: Path) -> Repo:
    repo = make_repo(tmp_path)
    repo.commit("one", {".env": ENV_PAIR, "a.txt": "a\n"})
    repo.commit("two", {"a.txt": "a\nb\n"})
    return repo


@pytest.mark.parametrize("mode", [(), ("--include-unreachable",), ("--since", "HEAD~1")])
def test_a_missing_tree_is_exit_2_with_gits_message(
    run_cli: CliHarness, leaky: Repo, mode: tuple[str, ...]
) -> None:
    tree = leaky.git("rev-parse", "HEAD~1^{tree}")
    _object_file(leaky, tree).unlink()
    outcome = run_cli("scan-repo", str(leaky.path), *mode, expect=ExitCode.USAGE)
    assert tree in outcome.stderr
    assert "git fsck" in outcome.stderr


@pytest.mark.parametrize("mode", [(), ("--staged",)])
def test_a_corrupt_loose_tree_is_exit_2_with_gits_message(
    run_cli: CliHarness, leaky: Repo, mode: tuple[str, ...]
) -> None:
    tree = leaky.git("rev-parse", "HEAD^{tree}")
    _overwrite(_object_file(leaky, tree), b"garbage\n")
    outcome = run_cli("scan-repo", str(leaky.path), *mode, "-f", "json", expect=ExitCode.USAGE)
    message = outcome.json["error"]["message"]
    assert message.startswith(f"{leaky.path}: git failed: ")
    assert f"unable to unpack {tree} header" in message


@pytest.mark.parametrize("mode", [(), ("--since", "HEAD~1"), ("--staged",)])
def test_a_corrupt_blob_is_a_skipped_item_and_the_key_beside_it_is_found(
    run_cli: CliHarness, tmp_path: Path, mode: tuple[str, ...]
) -> None:
    repo = make_repo(tmp_path)
    repo.commit("one", {"README.md": "x\n"})
    files: dict[str, str | bytes] = {".env": ENV_PAIR, "broken.txt": "this blob will be damaged\n"}
    if mode == ("--staged",):
        for name, content in files.items():
            repo.write(name, content)
        repo.git("add", "-A")
        commit = None
        blob = repo.git("rev-parse", ":broken.txt")
    else:
        commit = repo.commit("two", files)
        blob = repo.git("rev-parse", "HEAD:broken.txt")
    _overwrite(_object_file(repo, blob), b"garbage\n")
    document = _scan_json(run_cli, repo, *mode, expect=ExitCode.CHECK_FAILED)
    assert [f["path"] for f in document["findings"]] == [".env"]
    assert document["skipped"] == [
        {
            "path": "broken.txt",
            "commit": commit,
            "member": None,
            "reason": "git cannot read this object: it is missing or corrupt (see `git fsck`)",
            "blob": blob,
        }
    ]


def test_a_corrupt_dangling_blob_is_skipped_only_with_include_unreachable(
    run_cli: CliHarness, leaky: Repo
) -> None:
    leaky.write("loose.txt", "never committed\n")
    blob = leaky.git("hash-object", "-w", "loose.txt")
    _overwrite(_object_file(leaky, blob), b"garbage\n")
    assert _scan_json(run_cli, leaky, expect=ExitCode.CHECK_FAILED)["skipped"] == []
    document = _scan_json(run_cli, leaky, "--include-unreachable", expect=ExitCode.CHECK_FAILED)
    [skipped] = document["skipped"]
    assert (skipped["path"], skipped["blob"]) == (None, blob)
    text = run_cli("scan-repo", str(leaky.path), "--include-unreachable", expect=1)
    assert f"object {blob}: git cannot read this object" in text.stderr
    sarif = run_cli("scan-repo", str(leaky.path), "--include-unreachable", "-f", "sarif", expect=1)
    log = json.loads(sarif.stdout)
    jsonschema.validate(log, SCHEMA)
    [notification] = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert "locations" not in notification
    assert notification["properties"]["blob"] == blob


@pytest.mark.parametrize("mode", [(), ("--staged",), ("--no-history",), ("--branch", "main")])
def test_a_broken_git_config_is_exit_2_with_gits_message(
    run_cli: CliHarness, leaky: Repo, mode: tuple[str, ...]
) -> None:
    (leaky.path / ".git" / "config").write_bytes(b"[core\n\tbare = \x1b[31mfalse\n")
    outcome = run_cli("scan-repo", str(leaky.path), *mode, expect=ExitCode.USAGE)
    assert "git failed: fatal: bad config line 1 in file .git/config" in outcome.stderr
    assert "`git fsck` says what is" in outcome.stderr


def test_a_corrupt_pack_is_exit_2_with_gits_message(run_cli: CliHarness, leaky: Repo) -> None:
    leaky.commit("more", {"numbers.txt": "".join(f"{n}\n" for n in range(20_000))})
    leaky.git("gc", "-q")
    [pack] = (leaky.path / ".git" / "objects" / "pack").glob("*.pack")
    data = bytearray(pack.read_bytes())
    for at in range(200, len(data) - 100, 97):
        data[at] ^= 0x55
    _overwrite(pack, bytes(data))
    outcome = run_cli("scan-repo", str(leaky.path), expect=ExitCode.USAGE)
    assert "git failed: " in outcome.stderr
    assert "is corrupt" in outcome.stderr


@pytest.mark.parametrize("mode", [("--staged",), ("--no-history",)])
def test_a_corrupt_index_is_exit_2_with_gits_message(
    run_cli: CliHarness, leaky: Repo, mode: tuple[str, ...]
) -> None:
    (leaky.path / ".git" / "index").write_bytes(b"garbage\n")
    outcome = run_cli("scan-repo", str(leaky.path), *mode, expect=ExitCode.USAGE)
    assert "git failed: fatal: .git/index: index file smaller than expected" in outcome.stderr


def test_control_characters_in_gits_message_are_made_visible() -> None:
    # git already shows control characters in revision names as "?"; a path or a hook's
    # output in its message may still carry them, and GitPython wraps stderr in quotes.
    exc = git.GitCommandError(["git", "log"], 128, b"fatal: \x1b]0;owned\x07\nsecond line\n")
    assert git_said(exc) == "fatal: \\x1b]0;owned\\x07; second line"
    assert git_said(git.GitCommandError(["git", "log"], 128, b"")) == ("git exited with status 128")
    long = git_said(git.GitCommandError(["git", "log"], 1, b"x" * 2000))
    assert (len(long), long[-1]) == (500, "…")


# --- control characters in what the repository names ---------------------------------


def test_control_characters_in_paths_and_members_are_made_visible(
    run_cli: CliHarness, tmp_path: Path
) -> None:
    evil = "x\x1b[2J\x1b]0;title\x07\u202e.env"
    locked = bytearray(samples.zip_with_unreadable_members())
    locked = locked.replace(b"locked.env", b"lo\x1b[8m.env")  # the same length
    repo = make_repo(tmp_path)
    repo.commit("evil", {evil: ENV_PAIR, "evil.zip": bytes(locked)})
    text = run_cli("scan-repo", str(repo.path), expect=ExitCode.CHECK_FAILED)
    for output in (text.stdout, text.stderr):
        assert not {"\x1b", "\x07", "\u202e"} & set(output)
    assert "x\\x1b[2J\\x1b]0;title\\x07\\u202e.env:2" in text.stdout
    assert "evil.zip!lo\\x1b[8m.env" in text.stderr
    document = _scan_json(run_cli, repo, expect=ExitCode.CHECK_FAILED)
    assert evil in [f["path"] for f in document["findings"]]


def test_a_path_that_is_not_utf8_is_printed_and_percent_encoded(
    run_cli: CliHarness, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    (repo.path / os.fsdecode(b"caf\xe9.env")).write_text(ENV_PAIR)
    repo.commit("latin-1 name")
    text = run_cli("scan-repo", str(repo.path), expect=ExitCode.CHECK_FAILED)
    assert "caf\\udce9.env:2" in text.stdout
    log = json.loads(run_cli("scan-repo", str(repo.path), "-f", "sarif", expect=1).stdout)
    jsonschema.validate(log, SCHEMA)
    [result] = log["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "caf%E9.env"


# --- the baseline file ----------------------------------------------------------------


def test_the_baseline_is_never_written_through_a_symlink(
    run_cli: CliHarness, leaky: Repo, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("precious\n")
    link = tmp_path / "baseline.json"
    link.symlink_to(elsewhere)
    outcome = run_cli(
        "scan-repo",
        str(leaky.path),
        "--baseline",
        str(link),
        "--write-baseline",
        expect=ExitCode.USAGE,
    )
    assert f"{link}: refusing to write the baseline through a symlink" in outcome.stderr
    assert "scanned" not in outcome.stderr  # refused before the scan, not after it
    assert elsewhere.read_text() == "precious\n"
    assert link.is_symlink()
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere.json")
    run_cli("scan-repo", str(leaky.path), "--baseline", str(dangling), "--write-baseline", expect=2)
    assert not (tmp_path / "nowhere.json").exists()


def test_the_baseline_is_replaced_atomically_and_keeps_its_mode(
    run_cli: CliHarness, leaky: Repo, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.json"
    run_cli("scan-repo", str(leaky.path), "--baseline", str(baseline), "--write-baseline")
    assert baseline.stat().st_mode & 0o777 == 0o644
    baseline.chmod(0o600)
    before = baseline.stat().st_ino
    run_cli("scan-repo", str(leaky.path), "--baseline", str(baseline), "--write-baseline")
    assert baseline.stat().st_ino != before  # a new file renamed into place
    assert baseline.stat().st_mode & 0o777 == 0o600
    assert [name for name in os.listdir(tmp_path) if "baseline" in name] == ["baseline.json"]


def test_a_full_disk_leaves_the_old_baseline_whole(
    run_cli: CliHarness, leaky: Repo, tmp_path: Path
) -> None:
    with full_filesystem(tmp_path / "disk", size_kib=16) as disk:
        baseline = disk / "baseline.json"
        baseline.write_text('{"schema_version": 1, "fingerprints": []}\n')
        old = baseline.read_bytes()
        (disk / "filler").write_bytes(b"\0" * 12 * 1024)
        with pytest.raises(OSError, match="No space"):  # the disk really is full
            (disk / "more").write_bytes(b"\0" * 8 * 1024)
        (disk / "more").unlink()
        outcome = run_cli(
            "scan-repo",
            str(leaky.path),
            "--baseline",
            str(baseline),
            "--write-baseline",
            expect=ExitCode.CONFIG,  # no room is exit 3, as for every other command
        )
        assert f"{baseline}: cannot write the baseline: No space left on device" in outcome.stderr
        assert "hint: free some space" in outcome.stderr
        assert baseline.read_bytes() == old
        assert sorted(os.listdir(disk)) == ["baseline.json", "filler"]
