"""``cio-sec audit``: a passing and a failing application end to end, SARIF, routing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from cio_sec.errors import ExitCode
from cio_sec.pseudonym import PseudonymKey
from cio_sec.sandbox import Sandbox
from cio_sec.settings import CREDENTIAL_NAMES
from tests.conftest import CANARY
from tests.support.apps import (
    BAD_PYTHON_HANDLER,
    BAD_TS_HANDLER,
    CREDENTIAL_VALUES,
    FULL_POLICY,
    GOOD_JS_HANDLER,
    GOOD_PYTHON_HANDLER,
    make_repo,
    record_rotations,
    write_config,
)
from tests.support.cli import CliHarness
from tests.support.memory_keyring import MemoryKeyring
from tests.support.trails import Person, erase_trail

pytestmark = pytest.mark.slow

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "support" / "sarif-schema-2.1.0.json").read_text()
)


def statuses(document: dict[str, Any]) -> dict[str, str]:
    return {check["id"]: check["status"] for check in document["checks"]}


@pytest.fixture
def good_app(tmp_path: Path, memory_keyring: MemoryKeyring, watched_secrets: set[str]) -> Path:
    """A production profile in the keyring, fresh keys, a good policy, handlers and trail."""
    home = Path(os.environ["HOME"])
    policy = tmp_path / "policy.toml"
    policy.write_text(FULL_POLICY)
    trail = tmp_path / "trail" / "audit.jsonl"
    refs = "\n".join(f'{name} = "keyring:cio-sec/prod/{name}"' for name in CREDENTIAL_NAMES)
    write_config(
        home,
        f'default_profile = "prod"\n[profiles.prod]\nproduction = true\n{refs}\n'
        f'sanitize_policy = "{policy}"\naudit_log = "{trail}"\n',
    )
    for name, value in CREDENTIAL_VALUES.items():
        memory_keyring.set_password("cio-sec", f"prod/{name}", value)
    memory_keyring.set_password("cio-sec", "prod/pseudonym_key", CANARY)
    watched_secrets.update(CREDENTIAL_VALUES.values())
    record_rotations("prod", list(CREDENTIAL_NAMES), days_ago=20)
    erase_trail(trail, PseudonymKey(CANARY.encode()), [Person("a@example.com")])
    root = tmp_path / "app"
    make_repo(
        root,
        {
            ".gitignore": ".env*\n!.env.example\n",
            ".env.example": "CUSTOMERIO_TRACK_API_KEY=\n",
            "app/webhooks.py": GOOD_PYTHON_HANDLER,
            "web/cio.js": GOOD_JS_HANDLER,
        },
    )
    (root / ".env").write_text("CUSTOMERIO_TRACK_API_KEY=x\n")
    (root / ".env").chmod(0o600)
    return root


@pytest.fixture
def bad_app(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    watched_secrets: set[str],
    memory_keyring: MemoryKeyring,
) -> Path:
    """A production profile on env vars, old keys, a thin policy, bad handlers, a broken trail."""
    home = Path(os.environ["HOME"])
    policy = tmp_path / "policy.toml"
    policy.write_text('extends = "none"\n[rules]\nssn = "drop"\n')
    trail = tmp_path / "audit.jsonl"
    write_config(
        home,
        'default_profile = "prod"\n[profiles.prod]\nproduction = true\n'
        'track_api_key = "env:TRACK_KEY"\n'
        f'site_id = "env:SITE"\nsanitize_policy = "{policy}"\naudit_log = "{trail}"\n'
        'webhook_signing_key = "env:NO_SUCH_VARIABLE"\n',
    )
    monkeypatch.setenv("TRACK_KEY", CREDENTIAL_VALUES["track_api_key"])
    monkeypatch.setenv("SITE", CREDENTIAL_VALUES["site_id"])
    memory_keyring.set_password("cio-sec", "prod/pseudonym_key", CANARY)
    watched_secrets.update(CREDENTIAL_VALUES.values())
    record_rotations("prod", ["track_api_key"], days_ago=200)
    erase_trail(trail, PseudonymKey(CANARY.encode()), [Person("a@example.com")])
    trail.write_text(trail.read_text().replace('"done"', '"DONE"', 1))
    root = tmp_path / "app"
    repo = make_repo(
        root,
        {
            ".env": "A=1\n",
            "hooks.py": BAD_PYTHON_HANDLER,
            "src/hook.ts": BAD_TS_HANDLER,
            "config.py": f"CUSTOMERIO_TRACK_API_KEY = '{CREDENTIAL_VALUES['track_api_key']}'\n",
        },
    )
    (root / ".env.old").write_text("B=2\n")
    repo.index.add([".env.old"])
    repo.index.commit("add old env")
    (root / ".env").chmod(0o644)
    return root


GOOD = {
    "credential-stores": "PASS",
    "key-age": "PASS",
    "webhook-signing-key": "PASS",
    "webhook-handler": "PASS",
    "sanitize-policy": "PASS",
    "dotenv-ignored": "PASS",
    "dotenv-history": "PASS",
    "file-permissions": "PASS",
    "working-tree-credentials": "PASS",
    "audit-trail": "PASS",
}


def test_a_well_kept_application_passes(run_cli: CliHarness, good_app: Path) -> None:
    document = run_cli("audit", str(good_app), "-f", "json").json
    assert document["command"] == "audit"
    assert document["ok"] is True
    assert statuses(document) == GOOD
    assert document["counts"] == {"PASS": 10, "MANUAL": 0, "WARN": 0, "FAIL": 0}
    text = run_cli("audit", str(good_app))
    assert "Credentials come from a secret store" in text.stdout
    assert "audit passed: 10 PASS, 0 MANUAL, 0 WARN, 0 FAIL" in text.stderr
    assert "\x1b[" not in text.stdout  # no colour off a TTY


def test_every_check_fails_on_a_neglected_application(run_cli: CliHarness, bad_app: Path) -> None:
    document = run_cli("audit", str(bad_app), "-f", "json", expect=ExitCode.CHECK_FAILED).json
    assert document["ok"] is False
    assert statuses(document) == dict.fromkeys(GOOD, "FAIL")
    checks = {check["id"]: check for check in document["checks"]}
    assert checks["credential-stores"]["evidence"] == (
        "production profile 'prod' reads site_id from env:SITE, track_api_key from env:TRACK_KEY"
    )
    assert (
        checks["dotenv-history"]["evidence"]
        == f".env: committed in {_first_commit(bad_app)} (+1 more)"
    )
    assert checks["audit-trail"]["evidence"].endswith(
        ":2: record 2 was altered (its hash does not match its content)"
    )
    for check in document["checks"]:
        assert check["remediation"]


def _first_commit(root: Path) -> str:
    import git

    return str(git.Repo(root).git.rev_list("--max-parents=0", "HEAD", "--abbrev-commit"))


def test_sarif_output_validates_and_locates_findings(run_cli: CliHarness, bad_app: Path) -> None:
    outcome = run_cli("audit", str(bad_app), "--format", "sarif", expect=ExitCode.CHECK_FAILED)
    log = json.loads(outcome.stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    (run,) = log["runs"]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == list(GOOD)
    located = {
        (
            result["ruleId"],
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            result["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for result in run["results"]
    }
    assert ("webhook-handler", "hooks.py", 15) in located
    assert ("dotenv-ignored", ".env", 1) in located
    assert ("credential-stores", ".", 1) in located
    assert ("working-tree-credentials", "config.py", 1) in located
    levels = {result["ruleId"]: result["level"] for result in run["results"]}
    assert levels["credential-stores"] == "error"
    assert levels["working-tree-credentials"] == "error"
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == bad_app.resolve().as_uri() + "/"


def test_sarif_of_a_passing_audit_validates(run_cli: CliHarness, good_app: Path) -> None:
    log = json.loads(run_cli("audit", str(good_app), "-f", "sarif").stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    assert log["runs"][0]["results"] == []


def test_strict_makes_warnings_fail(run_cli: CliHarness, good_app: Path) -> None:
    (good_app / "README.md").write_text("see X-CIO-Signature handling in app/\n")
    (good_app / "web" / "cio.js").write_text(
        GOOD_JS_HANDLER.replace("signature.length !== expected.length || ", "")
    )
    document = run_cli("audit", str(good_app), "-f", "json").json
    assert statuses(document)["webhook-handler"] == "WARN"
    strict = run_cli("audit", str(good_app), "--strict", "-f", "json", expect=1).json
    assert strict["ok"] is False
    assert strict["strict"] is True


def test_a_dangling_dotenv_symlink_is_a_warning_not_a_crash(
    run_cli: CliHarness, good_app: Path, tmp_path: Path
) -> None:
    (good_app / "config").mkdir()
    (good_app / "config" / ".env.local").symlink_to(good_app / "config" / "gone")
    outside = tmp_path / "secrets.env"
    outside.write_text("CUSTOMERIO_TRACK_API_KEY=x\n")
    outside.chmod(0o600)
    (good_app / ".env.production").symlink_to(outside)  # git ignores the link by its name
    document = run_cli("audit", str(good_app), "-f", "json").json
    assert statuses(document) == {**GOOD, "file-permissions": "WARN"}
    (check,) = (c for c in document["checks"] if c["id"] == "file-permissions")
    assert check["findings"] == [
        {
            "status": "WARN",
            "message": "cannot read its mode: No such file or directory",
            "path": "config/.env.local",
            "line": None,
        }
    ]


def test_max_key_age_is_configurable(run_cli: CliHarness, good_app: Path) -> None:
    document = run_cli("audit", str(good_app), "--max-key-age", "7", "-f", "json", expect=1).json
    assert statuses(document)["key-age"] == "FAIL"


def test_audit_defaults_to_the_current_directory(
    run_cli: CliHarness, good_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(good_app)
    assert run_cli("audit", "-f", "json").json["path"] == "."


def test_a_directory_named_log_is_audited_as_a_path(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "work" / "log").mkdir()
    outcome = run_cli("audit", "./log", "-f", "json")
    assert outcome.json["path"] == "log"
    help_text = run_cli("audit", "log", "--help").stdout
    assert "verify" in help_text
    assert "export" in help_text


def test_a_path_that_is_not_a_directory_is_a_usage_error(run_cli: CliHarness) -> None:
    outcome = run_cli("audit", "missing-dir", expect=ExitCode.USAGE)
    assert "missing-dir: not a directory" in outcome.stderr


def test_online_adds_connectivity_checks(run_cli: CliHarness, sandbox: Sandbox) -> None:
    document = run_cli("audit", "--online", "-f", "json").json
    checks = statuses(document)
    assert checks["online-track"] == "PASS"
    assert checks["online-app"] == "PASS"
    assert checks["online-never-send"] == "PASS"
    # Read-only: lookups, and the App API search (a POST that changes nothing).
    assert all(
        request.method == "GET" or (request.method, request.path) == ("POST", "/v1/customers")
        for request in sandbox.requests()
    )


def test_online_checks_in_the_wrong_region_fail_with_the_region_fix(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    eu = sandbox.add_workspace("eu", region="eu")
    eu_key = sandbox.add_app_key(workspace_id=eu.workspace_id)
    run_cli.watched.update({eu.track_api_key, eu_key})
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", eu.site_id)
    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", eu.track_api_key)
    monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", eu_key)
    document = run_cli("audit", "--online", "-f", "json", expect=ExitCode.CHECK_FAILED).json
    online = {c["id"]: c for c in document["checks"] if c["id"].startswith("online-")}
    assert {name: check["status"] for name, check in online.items()} == {
        "online-track": "FAIL",
        "online-app": "FAIL",
        "online-never-send": "WARN",  # nothing can be searched there
    }
    online.pop("online-never-send")
    assert online["online-track"]["evidence"] == (
        "Customer.io's region lookup: the account is in region 'eu', but the default says 'us'"
    )
    for check in online.values():
        assert "set CUSTOMERIO_REGION=eu" in check["remediation"]


def test_every_audit_command_has_help_with_an_example(run_cli: CliHarness) -> None:
    for command in (
        ["audit"],
        ["audit", "check"],
        ["audit", "log", "verify"],
        ["audit", "log", "show"],
        ["audit", "log", "export"],
    ):
        outcome = run_cli(*command, "--help")
        assert "Example" in outcome.stdout, command
        assert "--format" in outcome.stdout, command


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
@pytest.mark.parametrize(("app", "code"), [("good_app", ExitCode.OK), ("bad_app", 1)])
def test_audit_check_is_what_the_audit_alias_runs(
    run_cli: CliHarness, request: pytest.FixtureRequest, fmt: str, app: str, code: int
) -> None:
    path = str(request.getfixturevalue(app))
    checked = run_cli("audit", "check", path, "-f", fmt, expect=code)
    aliased = run_cli("audit", path, "-f", fmt, expect=code)
    assert (checked.stdout, checked.stderr) == (aliased.stdout, aliased.stderr)
    if fmt == "json":
        assert checked.json["command"] == "audit"


def test_options_before_the_alias_path_reach_the_checklist(
    run_cli: CliHarness, good_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aged = run_cli("audit", "--max-key-age", "7", "-f", "json", str(good_app), expect=1).json
    assert statuses(aged)["key-age"] == "FAIL"
    also = run_cli("audit", "--max-key-age", "7", "check", str(good_app), "-f", "json", expect=1)
    assert statuses(also.json)["key-age"] == "FAIL"
    after_check_wins = run_cli(
        "audit", "--max-key-age", "7", "check", str(good_app), "--max-key-age", "90", "-f", "json"
    ).json
    assert statuses(after_check_wins)["key-age"] == "PASS"
    monkeypatch.chdir(good_app)
    assert run_cli("audit", "--strict", "-f", "json").json["strict"] is True
    assert run_cli("audit", "check", "-f", "json").json["path"] == "."


def test_audit_check_audits_a_directory_named_log(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "work" / "log").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert run_cli("audit", "check", "log", "-f", "json").json["path"] == "log"


@pytest.mark.parametrize(
    ("before_log", "named"),
    [
        (["--strict"], "--strict"),
        (["--online", "--max-key-age", "3"], "--max-key-age, --online"),
        (["-f", "json"], "--format"),
    ],
)
def test_checklist_options_before_log_are_a_clear_usage_error(
    run_cli: CliHarness, before_log: list[str], named: str
) -> None:
    outcome = run_cli("audit", *before_log, "log", "show", "--ticket", "X", expect=ExitCode.USAGE)
    assert f"{named}: an option of `audit check`, not of `audit log`" in outcome.stderr
    assert "No such option" not in outcome.stderr


def test_cio_sec_format_in_the_environment_is_no_option_typed_before_log(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIO_SEC_FORMAT", "json")
    outcome = run_cli("audit", "log", "show", "--ticket", "X", expect=ExitCode.USAGE)
    assert outcome.json["command"] == "audit log show"
    assert "cannot read the audit trail" in outcome.json["error"]["message"]


def test_audit_help_names_path_and_both_subcommands(run_cli: CliHarness) -> None:
    help_text = run_cli("audit", "--help").stdout
    assert "  [PATH]  The application's repository (default: the current directory)." in (help_text)
    assert "  check  Run the security checklist" in help_text
    assert "  log    Verify, show and export the erasure audit trail." in help_text
    assert run_cli("audit", "check", "-h").stdout.startswith(
        "Usage: cio-sec audit check [OPTIONS] [PATH]\n"
    )
