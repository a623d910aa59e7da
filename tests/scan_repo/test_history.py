"""History scans on real repositories: where, since which commit, which refs, in HEAD."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from cio_sec import scan_repo
from cio_sec.errors import InputError
from cio_sec.redact import public_fingerprint as fingerprint
from cio_sec.scan_repo import Leak, ScanRequest, archives, detectors
from cio_sec.scan_repo import history as git_history
from tests.scan_repo import archive_samples as samples
from tests.support.git_repos import APP_KEY, ENV_PAIR, SITE_ID, TRACK_KEY, Repo, make_repo

PAIR = fingerprint(f"{SITE_ID}:{TRACK_KEY}")
PAIR_RULE = "customerio-track-key-pair"


def where(findings: tuple[Leak, ...]) -> list[tuple[str | None, int, str | None]]:
    return [(f.path, f.line, f.commit) for f in findings]


def scan(repo: Repo, **options: object) -> tuple[Leak, ...]:
    return scan_repo.run(ScanRequest(path=repo.path, **options)).findings  # type: ignore[arg-type]


def test_a_secret_added_then_deleted_is_found_at_the_commit_that_added_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("readme", {"README.md": "hello\n"})
    added = repo.commit("add env", {".env": ENV_PAIR})
    repo.remove("remove env", ".env")
    (finding,) = scan(repo)
    assert (finding.rule, finding.path, finding.line, finding.commit) == (
        PAIR_RULE,
        ".env",
        2,
        added,
    )
    assert finding.fingerprint == PAIR
    assert finding.preview == "…:…"
    assert finding.refs == ("refs/heads/main",)
    assert finding.in_head is False
    assert finding.author_date == repo.git("log", "-1", "--format=%aI", added)


def test_only_on_an_unmerged_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("init", {"README.md": "x\n"})
    repo.git("checkout", "-q", "-b", "feature")
    leaked = repo.commit(
        "yaml", {"config.yaml": f"customerio:\n  site_id: {SITE_ID}\n  api_key: {TRACK_KEY}\n"}
    )
    repo.git("checkout", "-q", "main")
    (finding,) = scan(repo)
    assert where((finding,)) == [("config.yaml", 3, leaked)]
    assert finding.refs == ("refs/heads/feature",)
    assert finding.in_head is False


def test_only_on_a_tag(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("init", {"README.md": "x\n"})
    repo.git("checkout", "-q", "-b", "release")
    leaked = repo.commit(
        "json",
        {
            "settings.json": json.dumps(
                {"customerio": {"site_id": SITE_ID, "track_api_key": TRACK_KEY}}, indent=2
            )
        },
    )
    repo.git("tag", "-a", "v1.0", "-m", "release")
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-q", "-D", "release")
    (finding,) = scan(repo)
    assert where((finding,)) == [("settings.json", 4, leaked)]
    assert finding.refs == ("refs/tags/v1.0",)


def test_only_in_the_stash_including_older_entries(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("init", {"app.ini": "[app]\nname = x\n"})
    repo.write("app.ini", f"[customer.io]\nsite_id = {SITE_ID}\napi_key = {TRACK_KEY}\n")
    repo.git("stash", "-q")
    first_stash = repo.git("rev-parse", "refs/stash")
    repo.write("app.ini", "[app]\nname = y\n")
    repo.git("stash", "-q")
    (finding,) = scan(repo)
    assert where((finding,)) == [("app.ini", 3, first_stash)]
    assert finding.refs == ("refs/stash@{1}",)
    assert finding.in_head is False


def test_introduced_by_an_evil_merge(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("init", {"a.txt": "a\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("side", {"b.txt": "b\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("main", {"c.txt": "c\n"})
    repo.git("merge", "-q", "--no-ff", "--no-commit", "side")
    repo.write(
        "client.js", f'// customerio\nconst key = "{TRACK_KEY}";\nconst siteId = "{SITE_ID}";\n'
    )
    merge = repo.commit("merge side")
    (finding,) = scan(repo)
    assert where((finding,)) == [("client.js", 2, merge)]
    assert finding.in_head is True
    assert finding.refs == ("refs/heads/main",)


def test_a_file_renamed_later_is_reported_at_both_paths(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    content = f'import customerio\nclient = customerio.CustomerIO("{SITE_ID}", "{TRACK_KEY}")\n'
    added = repo.commit("add", {"settings.py": content})
    repo.git("mv", "settings.py", "config.py")
    renamed = repo.commit("rename")
    findings = scan(repo)
    assert where(findings) == [("settings.py", 2, added), ("config.py", 2, renamed)]
    assert [f.in_head for f in findings] == [False, True]
    assert {f.fingerprint for f in findings} == {PAIR}


def test_an_edited_file_keeps_its_first_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    added = repo.commit("add", {".env": ENV_PAIR})
    repo.commit("edit", {".env": "# customer.io\n" + ENV_PAIR})
    (finding,) = scan(repo)
    assert where((finding,)) == [(".env", 2, added)]
    assert finding.in_head is True


def test_a_large_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    filler = "".join(f"line {n} of filler text, nothing to see\n" for n in range(60_000))
    leaked = repo.commit("big", {"dump.sql": filler + ENV_PAIR})
    (finding,) = scan(repo)
    assert where((finding,)) == [("dump.sql", 60_002, leaked)]


def test_crlf_line_endings(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.git("config", "core.autocrlf", "false")
    leaked = repo.commit("crlf", {"win.env": ENV_PAIR.replace("\n", "\r\n")})
    assert where(scan(repo)) == [("win.env", 2, leaked)]


@pytest.mark.usefixtures("gate")
def test_every_file_shape_in_one_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    leaked = repo.commit(
        "configs",
        {
            ".env": ENV_PAIR,
            "config.json": json.dumps({"customerio": {"siteId": SITE_ID, "apiKey": TRACK_KEY}}),
            "config.yml": f"customer_io:\n  site_id: {SITE_ID}\n  api_key: {TRACK_KEY}\n",
            "setup.ini": f"[customerio]\nsite_id={SITE_ID}\napi_key={TRACK_KEY}\n",
            "app.py": "from customerio import CustomerIO\n"
            f'cio = CustomerIO("{SITE_ID}", "{TRACK_KEY}")\n',
            "index.js": f'const {{TrackClient}} = require("customerio-node");\n\n'
            f'new TrackClient("{SITE_ID}", "{TRACK_KEY}");\n',
            "api.sh": f"curl -H 'Authorization: Bearer {APP_KEY}' https://api.customer.io/v1/workspaces\n",
        },
    )
    assert [(f.rule, f.path, f.line, f.commit) for f in scan(repo)] == [
        (PAIR_RULE, ".env", 2, leaked),
        ("customerio-app-api-key", "api.sh", 1, leaked),
        (PAIR_RULE, "app.py", 2, leaked),
        (PAIR_RULE, "config.json", 1, leaked),
        (PAIR_RULE, "config.yml", 3, leaked),
        (PAIR_RULE, "index.js", 3, leaked),
        (PAIR_RULE, "setup.ini", 3, leaked),
    ]


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(params=["hyperscan", "re only"])
def gate(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test twice: with the ``fast`` extra's one-pass gate, and without it."""
    if request.param == "re only":
        monkeypatch.setattr(detectors, "fast_gate", lambda: None)


@pytest.mark.usefixtures("gate")
def test_archives_and_binaries(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    binary = b"\x00\x01\x02ELF" + b"\xff" * 50 + b"\nCUSTOMERIO_TRACK_API_KEY=" + TRACK_KEY.encode()
    leaked = repo.commit(
        "artifacts",
        {
            "bundle.tar.gz": _tar_gz({"config/.env": b"# app\n" + ENV_PAIR.encode()}),
            "backup.zip": _zip({"dir/app.env": ENV_PAIR.encode(), "empty/": b""}),
            "notes.env.gz": gzip.compress(ENV_PAIR.encode()),
            "app.bin": binary,
            "broken.gz": b"\x1f\x8b not really gzip",
        },
    )
    assert [(f.rule, f.path, f.line, f.commit) for f in scan(repo)] == [
        ("customerio-track-api-key", "app.bin", 2, leaked),
        (PAIR_RULE, "backup.zip!dir/app.env", 2, leaked),
        (PAIR_RULE, "bundle.tar.gz!config/.env", 3, leaked),
        (PAIR_RULE, "notes.env.gz", 2, leaked),
    ]


def test_an_encrypted_or_unsupported_zip_member_is_skipped(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.write("backup.zip", samples.zip_with_unreadable_members())
    repo.git("add", "backup.zip")
    expected = [(PAIR_RULE, "backup.zip!app.env")]
    assert [(f.rule, f.path) for f in scan(repo, staged=True)] == expected
    assert [(f.rule, f.path) for f in scan(repo, no_history=True)] == expected
    repo.commit("archive")
    assert [(f.rule, f.path) for f in scan(repo)] == expected


def test_one_blob_decompresses_to_at_most_max_blob_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Room for two members and a few bytes of the third: the third is cut before its
    # secret, the fourth is not read at all. The tar.gz spends the budget on its gzip
    # stream (the whole tar), so it is cut before its first member ends.
    monkeypatch.setattr(archives, "MAX_BLOB_BYTES", 2 * len(ENV_PAIR) + 10)
    repo = make_repo(tmp_path)
    members = {f"{name}.env": ENV_PAIR.encode() for name in "abcd"}
    repo.commit("archives", {"backup.zip": _zip(members), "bundle.tar.gz": _tar_gz(members)})
    assert [f.path for f in scan(repo)] == [
        "backup.zip!a.env",
        "backup.zip!b.env",
    ]


def test_an_unreachable_commit_needs_include_unreachable(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("init", {"README.md": "x\n"})
    dropped = repo.commit("oops", {".env": ENV_PAIR})
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.write("loose.env", f"CUSTOMERIO_APP_API_KEY={APP_KEY}\n")
    repo.git("add", "loose.env")
    repo.git("reset", "-q")
    dangling_blob = repo.git("hash-object", "loose.env")
    assert scan(repo) == ()
    findings = scan(repo, include_unreachable=True)
    assert [(f.rule, f.path, f.line, f.commit, f.refs, f.blob) for f in findings] == [
        (PAIR_RULE, ".env", 2, dropped, (), findings[0].blob),
        ("customerio-app-api-key", None, 1, None, (), dangling_blob),
    ]
    assert findings[1].location == f"blob {dangling_blob}"


def test_decoys_are_not_reported(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    first = repo.commit("init", {"README.md": "x\n"})
    lock = {
        "name": "app",
        "packages": {
            "node_modules/customerio-node": {
                "version": "4.1.0",
                "resolved": "https://registry.npmjs.org/customerio-node/-/customerio-node-4.1.0.tgz",
                "integrity": "sha512-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e==",
            }
        },
    }
    repo.commit(
        "decoys",
        {
            "package-lock.json": json.dumps(lock, indent=2),
            "CHANGELOG.md": f"customerio client: fixed in {first}\n",
            "ids.txt": "customer.io request 123e4567-e89b-12d3-a456-426614174000\n",
            "hex.txt": f"SITE_ID={SITE_ID}\nAPI_KEY={TRACK_KEY}\n",
        },
    )
    assert scan(repo) == ()


def test_since_and_branch_narrow_the_history(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    old = repo.commit("old", {".env": ENV_PAIR})
    repo.git("checkout", "-q", "-b", "feature")
    new = repo.commit("new", {"app.env": f"CUSTOMERIO_APP_API_KEY={APP_KEY}\n"})
    repo.git("checkout", "-q", "main")
    assert where(scan(repo, since=old)) == [("app.env", 1, new)]
    assert where(scan(repo, branches=("main",))) == [(".env", 2, old)]
    with pytest.raises(InputError, match=r"git failed: .*bad revision") as caught:
        scan(repo, since="no-such-revision")
    assert caught.value.hint is not None
    assert "check the names given to --since and --branch" in caught.value.hint


def test_an_empty_repository_has_no_findings(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    report = scan_repo.run(ScanRequest(path=repo.path))
    assert (report.findings, report.blobs_scanned, report.exit_code) == ((), 0, 0)


def test_a_detached_head_counts_as_a_ref(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("init", {"README.md": "x\n"})
    repo.git("checkout", "-q", "--detach")
    leaked = repo.commit("detached", {".env": ENV_PAIR})
    (finding,) = scan(repo)
    assert (finding.commit, finding.refs, finding.in_head) == (leaked, ("HEAD",), True)


def test_a_path_outside_any_repository_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="not a git repository") as caught:
        scan_repo.run(ScanRequest(path=tmp_path / "plain"))
    assert caught.value.exit_code == 2


def test_each_distinct_blob_is_read_once(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    first = repo.commit("one blob, three paths", {".env": ENV_PAIR, "a/.env": ENV_PAIR, "x": "x\n"})
    repo.commit("the same blob again", {"b/.env": ENV_PAIR, "y": "y\n"})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("and on a branch", {"c/.env": ENV_PAIR, "x": "y\n"})
    repo.git("checkout", "-q", "main")
    objects = repo.git("cat-file", "--batch-all-objects", "--batch-check").split("\n")
    assert sum(" blob " in line for line in objects) == 3  # ENV_PAIR, "x\n", "y\n"
    cases: list[tuple[dict[str, object], int]] = [
        ({}, 3),
        ({"branches": ("main", "side")}, 3),
        ({"since": first}, 2),  # "x\n" came before
    ]
    for options, distinct in cases:
        report = scan_repo.run(ScanRequest(path=repo.path, **options))  # type: ignore[arg-type]
        assert report.blobs_scanned == distinct, options
        assert {f.path for f in report.findings} >= {"b/.env", "c/.env"}


def test_stopping_the_object_stream_early_is_not_a_git_failure(tmp_path: Path) -> None:
    # More than a pipe's buffer: git is still writing when the reader goes away.
    repo = make_repo(tmp_path)
    repo.commit("big", {f"big{n}.bin": bytes([n]) * 200_000 for n in range(4)})
    with git_history.open_repository(repo.path) as opened:
        stream = git_history.stream_all_objects(opened, git_history.ObjectStream())
        next(stream)
        stream.close()  # GeneratorExit inside: must not turn into git's SIGPIPE exit
        interrupted = git_history.stream_all_objects(opened, git_history.ObjectStream())
        next(interrupted)
        with pytest.raises(KeyboardInterrupt):
            interrupted.throw(KeyboardInterrupt())


def test_a_dangling_key_in_a_repository_without_commits(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.write("loose.env", ENV_PAIR)
    blob = repo.git("hash-object", "-w", "loose.env")
    (finding,) = scan(repo, include_unreachable=True)
    assert (finding.path, finding.commit, finding.blob, finding.in_head) == (
        None,
        None,
        blob,
        False,
    )


class RecordingUi:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def progress(self, done: int, total: int) -> None:
        self.calls.append((done, total))


def test_progress_tags_of_blobs_and_symlinks_on_disk(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    repo.commit("many", {f"f{n}.txt": f"{n}\n" for n in range(600)})
    repo.git("tag", "blob-tag", repo.git("rev-parse", "HEAD:f1.txt"))  # not a commit: no tip
    (repo.path / "link.env").symlink_to(repo.path / "f1.txt")
    ui = RecordingUi()
    report = scan_repo.run(ScanRequest(path=repo.path), ui)
    calls = ui.calls
    assert report.blobs_scanned == 600
    assert calls[0] == (512, calls[0][1])
    assert calls[-1][0] == calls[-1][1]
    on_disk = scan_repo.run(ScanRequest(path=repo.path, no_history=True))
    assert on_disk.blobs_scanned == 600  # the symlink is not followed
