"""``cio-sec scan-repo`` end to end: formats, baseline, --staged, --no-history, --verify."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from cio_sec.errors import ExitCode
from cio_sec.redact import public_fingerprint as fingerprint
from cio_sec.sandbox import Sandbox
from tests.support.cli import CliHarness, CliOutcome
from tests.support.git_repos import APP_KEY, ENV_PAIR, SITE_ID, TRACK_KEY, make_repo
from tests.support.schemas import parse_document

pytestmark = pytest.mark.slow

SCHEMA = json.loads((Path(__file__).parent.parent / "support/sarif-schema-2.1.0.json").read_text())
PAIR = fingerprint(f"{SITE_ID}:{TRACK_KEY}")


@pytest.fixture
def leaky(tmp_path: Path, watched_secrets: set[str]) -> Path:
    """A repository whose history holds a Track pair in .env, deleted since."""
    watched_secrets.update({TRACK_KEY, APP_KEY})
    repo = make_repo(tmp_path)
    repo.commit("add", {".env": ENV_PAIR, "my file.txt": "customer.io key=" + TRACK_KEY + "\n"})
    repo.remove("remove", ".env")
    return repo.path


def test_json_lists_each_finding_with_its_history(run_cli: CliHarness, leaky: Path) -> None:
    document = run_cli("scan-repo", str(leaky), "-f", "json", expect=ExitCode.CHECK_FAILED).json
    assert (document["command"], document["ok"]) == ("scan-repo", False)
    first, second = document["findings"]
    assert {k: first[k] for k in ("rule", "path", "line", "in_head", "fingerprint", "preview")} == {
        "rule": "customerio-track-key-pair",
        "path": ".env",
        "line": 2,
        "in_head": False,
        "fingerprint": PAIR,
        "preview": "…:…",
    }
    assert first["refs"] == ["refs/heads/main"]
    assert len(first["commit"]) == 40
    assert first["author_date"]
    assert (second["rule"], second["path"], second["in_head"]) == (
        "customerio-track-api-key",
        "my file.txt",
        True,
    )
    assert document["summary"]["new"] == 2


def test_text_is_a_table_with_a_summary(run_cli: CliHarness, leaky: Path) -> None:
    outcome = run_cli("scan-repo", str(leaky), expect=ExitCode.CHECK_FAILED)
    assert "customerio-track-key-pair" in outcome.stdout
    assert ".env:2" in outcome.stdout
    assert "2 finding(s), 2 new, 0 in the baseline" in outcome.stderr


def _row(outcome: CliOutcome, location: str) -> str:
    return next(line for line in outcome.stdout.splitlines() if location in line)


def test_text_names_the_branches_and_tags_that_still_hold_a_key(
    run_cli: CliHarness, tmp_path: Path, watched_secrets: set[str]
) -> None:
    watched_secrets.update({TRACK_KEY, APP_KEY})
    repo = make_repo(tmp_path)
    repo.commit("init", {"README": "hello\n"})
    repo.git("branch", "early")  # made before the key: it does not hold it
    repo.commit("add", {".env": ENV_PAIR})
    repo.git("branch", "release")
    repo.git("tag", "-a", "v1.2", "-m", "release 1.2")
    repo.git("checkout", "-q", "-b", "gone")
    repo.commit("elsewhere", {"gone.env": f"CUSTOMERIO_APP_API_KEY={APP_KEY}\n"})
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-D", "gone")  # its commit is now reachable from no ref
    outcome = run_cli(
        "scan-repo", str(repo.path), "--include-unreachable", expect=ExitCode.CHECK_FAILED
    )
    env_row = _row(outcome, ".env:2")
    assert "main, release +1" in env_row  # branches before tags, without refs/heads/
    assert "early" not in outcome.stdout
    assert PAIR in env_row
    assert "unreachable" in _row(outcome, "gone.env:1")
    on_disk = run_cli("scan-repo", str(repo.path), "--no-history", expect=ExitCode.CHECK_FAILED)
    assert "main" not in _row(on_disk, ".env:2")


def test_sarif_is_valid_against_the_official_schema(run_cli: CliHarness, leaky: Path) -> None:
    outcome = run_cli("scan-repo", str(leaky), "-f", "sarif", expect=ExitCode.CHECK_FAILED)
    log = json.loads(outcome.stdout)
    jsonschema.validate(log, SCHEMA)
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == [
        "customerio-track-key-pair",
        "customerio-track-api-key",
    ]
    location = results[1]["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "my%20file.txt"}, "region": {"startLine": 1}}
    assert results[0]["properties"]["fingerprint"] == PAIR
    assert PAIR not in json.dumps(results[0]["partialFingerprints"])


def test_sarif_for_archive_members_and_dangling_blobs(run_cli: CliHarness, tmp_path: Path) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.env", ENV_PAIR)
    repo = make_repo(tmp_path)
    repo.commit("zip", {"env.zip": buffer.getvalue()})
    repo.write("loose.env", f"CUSTOMERIO_APP_API_KEY={APP_KEY}\n")
    repo.git("add", "loose.env")
    repo.git("reset", "-q")
    outcome = run_cli(
        "scan-repo",
        str(repo.path),
        "--include-unreachable",
        "-f",
        "sarif",
        expect=ExitCode.CHECK_FAILED,
    )
    log = json.loads(outcome.stdout)
    jsonschema.validate(log, SCHEMA)
    gz, dangling = log["runs"][0]["results"]
    assert gz["locations"] == [
        {"physicalLocation": {"artifactLocation": {"uri": "env.zip"}, "region": {"startLine": 1}}}
    ]
    assert dangling["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": "."}
    assert "unreachable blob" in dangling["message"]["text"]


def test_a_baseline_accepts_known_findings(
    run_cli: CliHarness, leaky: Path, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.json"
    written = run_cli("scan-repo", str(leaky), "--baseline", str(baseline), "--write-baseline")
    assert "baseline written to" in written.stderr
    entries = json.loads(baseline.read_text())["fingerprints"]
    assert [e["fingerprint"] for e in entries] == sorted([PAIR, fingerprint(TRACK_KEY)])
    document = run_cli("scan-repo", str(leaky), "--baseline", str(baseline), "-f", "json").json
    assert document["ok"] is True
    assert [f["baselined"] for f in document["findings"]] == [True, True]
    text = run_cli("scan-repo", str(leaky), "--baseline", str(baseline))
    assert "(baseline)" in text.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "baseline file not found"),
        ("{not json", "baseline.json:1: not valid JSON"),
        ("[]", 'expected an object with a "fingerprints" list'),
        ('{"fingerprints": ["nope"]}', "not a fingerprint"),
        (b"\xff\xfe", "cannot read the baseline"),
    ],
)
def test_a_bad_baseline_is_a_usage_error(
    run_cli: CliHarness, leaky: Path, tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    baseline = tmp_path / "baseline.json"
    if isinstance(content, bytes):
        baseline.write_bytes(content)
    elif content is not None:
        baseline.write_text(content)
    outcome = run_cli("scan-repo", str(leaky), "--baseline", str(baseline), expect=ExitCode.USAGE)
    assert message in outcome.stderr


def test_an_unwritable_baseline_is_a_usage_error(run_cli: CliHarness, leaky: Path) -> None:
    target = leaky / "missing-dir" / "b.json"
    outcome = run_cli(
        "scan-repo",
        str(leaky),
        "--baseline",
        str(target),
        "--write-baseline",
        expect=ExitCode.USAGE,
    )
    assert "cannot write the baseline" in outcome.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--staged", "--no-history"],
        ["--staged", "--since", "HEAD"],
        ["--include-unreachable", "--branch", "main"],
        ["--write-baseline"],
    ],
)
def test_conflicting_options_are_usage_errors(
    run_cli: CliHarness, leaky: Path, args: list[str]
) -> None:
    run_cli("scan-repo", str(leaky), *args, expect=ExitCode.USAGE)


def test_not_a_repository_exits_2(run_cli: CliHarness, tmp_path: Path) -> None:
    outcome = run_cli("scan-repo", str(tmp_path), "-f", "json", expect=ExitCode.USAGE)
    assert outcome.json["error"]["message"].endswith("not a git repository")


def test_staged_scans_only_what_the_next_commit_adds(
    run_cli: CliHarness, tmp_path: Path, watched_secrets: set[str]
) -> None:
    watched_secrets.add(TRACK_KEY)
    repo = make_repo(tmp_path)
    repo.write("first.env", ENV_PAIR)
    repo.git("add", "first.env")
    document = run_cli(
        "scan-repo", str(repo.path), "--staged", "-f", "json", expect=ExitCode.CHECK_FAILED
    ).json
    assert [(f["path"], f["line"], f["commit"]) for f in document["findings"]] == [
        ("first.env", 2, None)
    ]
    repo.git("commit", "-q", "-m", "first")
    repo.write("other.txt", "nothing\n")
    repo.git("rm", "-q", "first.env")
    repo.git("add", "other.txt")
    assert run_cli("scan-repo", str(repo.path), "--staged", "-f", "json").json["findings"] == []


def test_no_history_scans_files_on_disk(
    run_cli: CliHarness, tmp_path: Path, watched_secrets: set[str]
) -> None:
    watched_secrets.add(TRACK_KEY)
    repo = make_repo(tmp_path)
    repo.write(".gitignore", "ignored.env\n")
    repo.write("ignored.env", ENV_PAIR)
    repo.write("sub/untracked.env", ENV_PAIR)
    repo.commit("init")
    document = run_cli(
        "scan-repo", str(repo.path), "--no-history", "-f", "json", expect=ExitCode.CHECK_FAILED
    ).json
    assert document["source"] == "working-tree"
    assert [(f["path"], f["line"]) for f in document["findings"]] == [("sub/untracked.env", 2)]
    plain = tmp_path / "plain"
    (plain / ".git").mkdir(parents=True)
    (plain / ".git" / "config.env").write_text(ENV_PAIR)
    (plain / "a" / "b").mkdir(parents=True)
    (plain / "a" / "b" / "c.env").write_text(ENV_PAIR)
    document = run_cli(
        "scan-repo", str(plain), "--no-history", "-f", "json", expect=ExitCode.CHECK_FAILED
    ).json
    assert [f["path"] for f in document["findings"]] == [os.path.join("a", "b", "c.env")]
    outcome = run_cli(
        "scan-repo", str(plain / "a" / "b" / "c.env"), "--no-history", expect=ExitCode.USAGE
    )
    assert "not a directory" in outcome.stderr


def test_verify_reports_live_and_revoked_with_read_only_requests(
    run_cli: CliHarness, sandbox: Sandbox, tmp_path: Path, watched_secrets: set[str]
) -> None:
    live = sandbox.add_track_keys()
    revoked = sandbox.add_track_keys()
    sandbox.revoke_track_keys(revoked.site_id)
    app_key = sandbox.add_app_key()
    watched_secrets.update({live.track_api_key, revoked.track_api_key, app_key})
    repo = make_repo(tmp_path)
    repo.commit(
        "keys",
        {
            "live.env": f"CUSTOMERIO_SITE_ID={live.site_id}\n"
            f"CUSTOMERIO_TRACK_API_KEY={live.track_api_key}\n",
            "old.env": f"CUSTOMERIO_SITE_ID={revoked.site_id}\n"
            f"CUSTOMERIO_TRACK_API_KEY={revoked.track_api_key}\n",
            "app.env": f"CUSTOMERIO_APP_API_KEY={app_key}\n",
            "hook.env": "CUSTOMERIO_WEBHOOK_SECRET=whk8f3b2c1d0e9a8b7c6d5\n",
        },
    )
    sandbox.clear_requests()
    document = run_cli(
        "scan-repo",
        str(repo.path),
        "--verify",
        "--yes",
        "-f",
        "json",
        expect=ExitCode.CHECK_FAILED,
    ).json
    assert document["verified"] is True
    liveness = {f["path"]: f["liveness"] for f in document["findings"]}
    assert liveness == {
        "app.env": "live",
        "hook.env": "unknown",
        "live.env": "live",
        "old.env": "revoked",
    }
    assert sorted((r.method, r.path) for r in sandbox.requests()) == [
        ("GET", "/api/v1/accounts/region"),
        ("GET", "/api/v1/accounts/region"),
        ("GET", "/v1/workspaces"),
    ]
    text = run_cli("scan-repo", str(repo.path), "--verify", "--yes", expect=ExitCode.CHECK_FAILED)
    assert "live?" in text.stdout
    assert "no read-only check exists" in text.stderr
    assert {r.method for r in sandbox.requests()} == {"GET"}


def test_verify_says_unknown_when_customerio_is_unreachable(
    run_cli: CliHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, watched_secrets: set[str]
) -> None:
    watched_secrets.add(TRACK_KEY)
    monkeypatch.setenv("CIO_SEC_TRACK_URL", "http://127.0.0.1:9")
    repo = make_repo(tmp_path)
    repo.commit("keys", {".env": ENV_PAIR})
    document = run_cli(
        "scan-repo", str(repo.path), "--verify", "-y", "-f", "json", expect=ExitCode.CHECK_FAILED
    ).json
    assert document["findings"][0]["liveness"] == "unknown"


def _on_a_terminal(*args: str, answer: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """Run cio-sec with stdin and stderr on a pseudo-terminal, stdout on a pipe."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer)
        return subprocess.run(
            [sys.executable, "-m", "cio_sec", *args],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=terminal,
            env={**os.environ, "COLUMNS": "100"},
            timeout=60,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)


def test_verify_asks_first(run_cli: CliHarness, leaky: Path, sandbox: Sandbox) -> None:
    declined = _on_a_terminal("scan-repo", str(leaky), "--verify", answer=b"n\n")
    assert declined.returncode == ExitCode.INTERRUPTED
    assert declined.stdout.strip() == b""
    assert sandbox.requests() == []
    refused = run_cli("scan-repo", str(leaky), "--verify", expect=ExitCode.CONFIG)
    assert "add --yes" in refused.stderr


def test_a_progress_bar_appears_on_a_terminal(leaky: Path) -> None:
    result = _on_a_terminal("scan-repo", str(leaky), "-f", "json")
    assert result.returncode == ExitCode.CHECK_FAILED
    assert parse_document(result.stdout)["summary"]["findings"] == 2


def test_a_baseline_entry_accepts_its_own_rule_only(
    run_cli: CliHarness, leaky: Path, tmp_path: Path
) -> None:
    """Four hex digits are shared by one key in 65,536: another kind of leak must show."""
    baseline = tmp_path / "baseline.json"
    run_cli("scan-repo", str(leaky), "--baseline", str(baseline), "--write-baseline")
    entries = json.loads(baseline.read_text())["fingerprints"]
    assert all(entry["rule"] for entry in entries)
    for entry in entries:
        entry["rule"] = "some-other-rule"
    baseline.write_text(json.dumps({"schema_version": 1, "fingerprints": entries}))
    document = run_cli(
        "scan-repo",
        str(leaky),
        "--baseline",
        str(baseline),
        "-f",
        "json",
        expect=ExitCode.CHECK_FAILED,
    ).json
    assert [f["baselined"] for f in document["findings"]] == [False, False]
    for entry in entries:
        del entry["rule"]  # an entry without a rule accepts its fingerprint under any rule
    baseline.write_text(json.dumps({"schema_version": 1, "fingerprints": entries}))
    document = run_cli("scan-repo", str(leaky), "--baseline", str(baseline), "-f", "json").json
    assert [f["baselined"] for f in document["findings"]] == [True, True]


def test_a_baseline_rule_that_is_not_text_is_a_usage_error(
    run_cli: CliHarness, leaky: Path, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text('{"fingerprints": [{"fingerprint": "abcd", "rule": 7}]}')
    outcome = run_cli("scan-repo", str(leaky), "--baseline", str(baseline), expect=ExitCode.USAGE)
    assert 'a "rule" that is not text' in outcome.stderr
