"""Each audit check on purpose-built profiles and repositories: a passing and a failing one."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cio_sec.audit import credentials_checks, files, policy, trail_check, working_tree
from cio_sec.audit.report import Status
from cio_sec.pseudonym import PseudonymKey
from cio_sec.sandbox import Sandbox
from cio_sec.sanitize import Action, Policy
from cio_sec.scan_repo.detectors import scan_bytes
from cio_sec.settings import CREDENTIAL_NAMES, Settings
from cio_sec.stores.chain import ResolvedCredential, StoreOpener, resolve
from tests.conftest import CANARY
from tests.support.apps import (
    CREDENTIAL_VALUES,
    FULL_POLICY,
    load_profile,
    make_repo,
    record_rotations,
    write_config,
)
from tests.support.memory_keyring import MemoryKeyring
from tests.support.trails import Person, erase_trail


def home() -> Path:
    return Path(os.environ["HOME"])


def resolved_all(settings: Settings, opener: StoreOpener) -> dict[str, ResolvedCredential]:
    return {name: resolve(settings, name, opener) for name in CREDENTIAL_NAMES}


def keyring_profile(keyring: MemoryKeyring, *, production: bool = True, extra: str = "") -> None:
    refs = "\n".join(f'{name} = "keyring:cio-sec/prod/{name}"' for name in CREDENTIAL_NAMES)
    write_config(
        home(), f"[profiles.prod]\nproduction = {str(production).lower()}\n{refs}\n{extra}"
    )
    for name, value in CREDENTIAL_VALUES.items():
        keyring.set_password("cio-sec", f"prod/{name}", value)
    keyring.set_password("cio-sec", "prod/pseudonym_key", CANARY)


# --------------------------------------------------------------------------- credential stores


def test_credentials_from_the_keyring_pass(memory_keyring: MemoryKeyring) -> None:
    keyring_profile(memory_keyring)
    settings, opener = load_profile("prod")
    result = credentials_checks.check_credential_stores(settings, resolved_all(settings, opener))
    assert result.status is Status.PASS
    assert result.evidence == "all 5 credentials found come from a secret store (keyring)"


def test_a_production_profile_reading_env_and_dotenv_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_config(
        home(),
        '[profiles.prod]\nproduction = true\ntrack_api_key = "env:TRACK"\n'
        'site_id = "dotenv:/srv/app/.env#SITE"\n',
    )
    monkeypatch.setenv("TRACK", CREDENTIAL_VALUES["track_api_key"])
    settings, opener = load_profile("prod")
    result = credentials_checks.check_credential_stores(settings, resolved_all(settings, opener))
    assert result.status is Status.FAIL
    assert result.evidence == "production profile 'prod' reads track_api_key from env:TRACK"
    assert "keyring" in result.remediation


def test_plain_stores_outside_production_pass_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", CREDENTIAL_VALUES["site_id"])
    settings, opener = load_profile()
    result = credentials_checks.check_credential_stores(settings, resolved_all(settings, opener))
    assert result.status is Status.PASS
    assert "not marked production; plain stores used: site_id from env:CUSTOMERIO_SITE_ID" in (
        result.evidence
    )


def test_no_credential_at_all_is_a_warning(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.delete_password("cio-sec", "default/pseudonym_key")
    settings, opener = load_profile()
    resolved = resolved_all(settings, opener)
    assert credentials_checks.check_credential_stores(settings, resolved).status is Status.WARN
    age = credentials_checks.check_key_age(settings, resolved, max_age_days=90, now=_now())
    assert age.status is Status.MANUAL


# --------------------------------------------------------------------------- key age


def _now() -> datetime:
    return datetime.now(timezone.utc)


def test_recently_rotated_credentials_pass(memory_keyring: MemoryKeyring) -> None:
    keyring_profile(memory_keyring)
    record_rotations("prod", list(CREDENTIAL_NAMES), days_ago=10)
    record_rotations("prod", ["site_id"], days_ago=30)  # the latest rotation counts
    settings, opener = load_profile("prod")
    resolved = resolved_all(settings, opener)
    result = credentials_checks.check_key_age(settings, resolved, max_age_days=90, now=_now())
    assert result.status is Status.PASS
    assert result.evidence.startswith("5 credentials rotated within 90 days (oldest: ")


def test_old_and_unknown_key_ages(memory_keyring: MemoryKeyring) -> None:
    keyring_profile(memory_keyring)
    record_rotations("prod", ["track_api_key"], days_ago=120)
    record_rotations("prod", ["site_id", "app_api_key"], days_ago=5)
    settings, opener = load_profile("prod")
    resolved = resolved_all(settings, opener)
    result = credentials_checks.check_key_age(settings, resolved, max_age_days=90, now=_now())
    assert result.status is Status.FAIL
    assert result.evidence == "track_api_key was last rotated 120 days ago (+2 more)"
    assert [f.status for f in result.findings] == [Status.FAIL, Status.WARN, Status.WARN]
    record_rotations("prod", ["track_api_key"], days_ago=1)
    unknown = credentials_checks.check_key_age(settings, resolved, max_age_days=90, now=_now())
    assert unknown.status is Status.WARN
    assert "age unknown" in unknown.evidence


# --------------------------------------------------------------------------- online


def test_online_checks_against_the_sandbox(sandbox: Sandbox) -> None:
    settings, opener = load_profile()
    results = credentials_checks.check_online(settings, opener)
    assert [(r.id, r.status) for r in results] == [
        ("online-track", Status.PASS),
        ("online-app", Status.PASS),
    ]
    assert [(r.method, r.path) for r in sandbox.requests()] == [
        ("GET", "/api/v1/accounts/region"),
        ("GET", "/v1/workspaces"),
    ]


def test_online_rejected_and_missing_credentials(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", "0" * 20)
    monkeypatch.delenv("CUSTOMERIO_APP_API_KEY")
    settings, opener = load_profile()
    track, app = credentials_checks.check_online(settings, opener)
    assert track.status is Status.FAIL
    assert "rejected" in track.evidence
    assert app.status is Status.WARN
    assert app.evidence == "no App API key configured"


# --------------------------------------------------------------------------- sanitize policy


def test_no_policy_means_the_default_is_in_use() -> None:
    settings, _ = load_profile()
    result = policy.check_sanitize_policy(settings)
    assert result.status is Status.PASS
    assert "built-in default" in result.evidence


def test_the_built_in_default_drops_every_category() -> None:
    """The PASS for "no policy configured" is the check's own verdict on the default."""
    for category, names in policy.NEVER_SEND.items():
        for name in names:
            assert Policy.default().decide(name).action is Action.DROP, (category, name)


@pytest.mark.parametrize(
    "text",
    [
        FULL_POLICY,
        'extends = "none"\ndefault = "keep"\n[rules]\n'
        + "".join(f'"{n}" = "drop"\n' for ns in policy.NEVER_SEND.values() for n in ns),
        'extends = "none"\ndefault = "drop"\n[rules]\nemail = "keep"\n',
    ],
    ids=["on-the-default", "every-name", "drop-by-default"],
)
def test_a_policy_dropping_every_category_passes(tmp_path: Path, text: str) -> None:
    (tmp_path / "policy.toml").write_text(text)
    write_config(home(), f'[profiles.default]\nsanitize_policy = "{tmp_path}/policy.toml"\n')
    settings, _ = load_profile()
    result = policy.check_sanitize_policy(settings)
    assert result.status is Status.PASS, result.evidence
    assert result.evidence.endswith("drops all 10 categories")


def test_a_policy_missing_categories_fails(tmp_path: Path) -> None:
    text = FULL_POLICY.replace('cvv = "drop"', 'cvv = "keep"').replace('iban = "drop"\n', "")
    path = tmp_path / "policy.toml"
    path.write_text('extends = "none"\n' + text)
    write_config(home(), f'[profiles.default]\nsanitize_policy = "{path}"\n')
    settings, _ = load_profile()
    result = policy.check_sanitize_policy(settings)
    assert result.status is Status.FAIL
    assert "; cvv (cvv is keep, cvv2 is redact-values, cvc is redact-values); " in result.evidence
    assert "; iban (iban is redact-values); " in result.evidence
    assert "; password (passwd is redact-values); " in result.evidence  # the glob drops password


def test_an_exact_keep_beats_a_dropping_glob_as_in_sanitize(tmp_path: Path) -> None:
    """``"*password*" = "drop"`` does not cover ``password`` when ``password = "keep"``."""
    path = tmp_path / "policy.toml"
    path.write_text(FULL_POLICY + 'password = "keep"\n')
    assert Policy.load(path).decide("password").action is Action.KEEP
    write_config(home(), f'[profiles.default]\nsanitize_policy = "{path}"\n')
    settings, _ = load_profile()
    result = policy.check_sanitize_policy(settings)
    assert result.status is Status.FAIL
    assert result.evidence == f"{path} does not drop: password (password is keep)"


@pytest.mark.parametrize(
    ("content", "where", "reason"),
    [
        (None, "", "cannot read the policy: No such file"),
        ("[rules]\nssn = \nx = 1\n", ":2", "invalid TOML: Invalid value"),
        ('[rules]\nssn = "drop"\ncvv = "dorp"\n', ":3", "unknown action"),
        ('drop = ["ssn", "cvv"]\n', ":1", "unknown key 'drop'"),
    ],
    ids=["missing", "not-toml", "bad-action", "not-the-format"],
)
def test_a_policy_that_does_not_load_fails_naming_file_and_line(
    tmp_path: Path, content: str | None, where: str, reason: str
) -> None:
    path = tmp_path / "policy.toml"
    if content is not None:
        path.write_text(content)
    write_config(home(), f'[profiles.default]\nsanitize_policy = "{path}"\n')
    settings, _ = load_profile()
    result = policy.check_sanitize_policy(settings)
    assert result.status is Status.FAIL
    assert result.evidence == f"{path} does not load, so cio-sec sanitize refuses it too"
    (finding,) = result.findings
    assert finding.status is Status.FAIL
    assert finding.message.startswith(f"{path}{where}: {reason}")


# --------------------------------------------------------------------------- .env files and git


def test_ignored_never_committed_private_dotenv_files_pass(tmp_path: Path) -> None:
    root = tmp_path / "app"
    make_repo(root, {".gitignore": ".env*\n!.env.example\n", ".env.example": "KEY=\n"})
    (root / ".env").write_text("CUSTOMERIO_TRACK_API_KEY=x\n")
    (root / ".env").chmod(0o600)
    (root / "sub").mkdir()
    (root / "sub" / ".env.local").write_text("X=1\n")
    (root / "sub" / ".env.local").chmod(0o600)
    found = files.find_dotenv_files(root)
    assert [p.relative_to(root).as_posix() for p in found] == [
        ".env",
        ".env.example",
        "sub/.env.local",
    ]
    view = files.GitView.open(root)
    settings, _ = load_profile()
    assert (
        files.check_dotenv_ignored(root, found, view).evidence
        == "2 .env file(s), all ignored by git"
    )
    assert files.check_dotenv_history(root, view).status is Status.PASS
    permissions = files.check_permissions(root, found, settings)
    assert permissions.status is Status.PASS
    assert permissions.evidence == "2 file(s), none readable by group or others"


def test_tracked_committed_and_readable_dotenv_files_fail(tmp_path: Path) -> None:
    root = tmp_path / "repo" / "service"
    repo = make_repo(
        root.parent,
        {"service/.env": "A=1\n", "service/config/.env.production": "B=2\n", "other/.env": "C\n"},
    )
    (root / "config" / ".env.production").unlink()
    repo.index.remove(["service/config/.env.production"])
    repo.index.commit("remove the production env file")
    (root / ".env").chmod(0o644)
    found = files.find_dotenv_files(root)
    view = files.GitView.open(root)
    ignored = files.check_dotenv_ignored(root, found, view)
    assert ignored.status is Status.FAIL
    assert ignored.evidence == ".env: not ignored by git"
    history = files.check_dotenv_history(root, view)
    assert history.status is Status.FAIL
    first = repo.git.rev_list("--max-parents=0", "HEAD", "--abbrev-commit")
    assert [(f.path, f.message) for f in history.findings] == [
        (".env", f"committed in {first}"),
        ("config/.env.production", f"committed in {first}"),
    ]
    settings, _ = load_profile()
    permissions = files.check_permissions(root, found, settings)
    assert permissions.status is Status.FAIL
    assert permissions.evidence == ".env: mode 0644, readable by group or others"


def test_config_files_outside_the_directory_are_checked_too(tmp_path: Path) -> None:
    config = write_config(home(), "[profiles.default]\n")
    config.chmod(0o640)
    settings, _ = load_profile()
    (tmp_path / "app").mkdir()
    result = files.check_permissions(tmp_path / "app", [], settings)
    assert result.status is Status.FAIL
    assert result.evidence == f"{config}: mode 0640, readable by group or others"
    assert result.findings[0].path is None


def test_without_git_the_git_checks_are_manual(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=1\n")
    view = files.GitView.open(tmp_path)
    found = files.find_dotenv_files(tmp_path)
    assert files.check_dotenv_ignored(tmp_path, found, view).status is Status.MANUAL
    history = files.check_dotenv_history(tmp_path, view)
    assert history.status is Status.MANUAL
    assert "not inside a git work tree" in history.evidence
    assert files.check_dotenv_ignored(tmp_path, [], view).evidence == "no .env files"
    settings, _ = load_profile()
    (tmp_path / ".env").unlink()
    empty = files.check_permissions(tmp_path, [], settings)
    assert empty.evidence == "no dotenv or config files"


# --------------------------------------------------------------------------- working tree


def test_without_the_scan_repo_detectors_the_check_is_manual(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, working_tree.DETECTORS, None)  # import fails
    scanner = working_tree.load_scanner()
    assert scanner is None
    result = working_tree.check_working_tree(tmp_path, files.GitView.open(tmp_path), scanner)
    assert result.status is Status.MANUAL
    assert "gitleaks" in result.remediation


def test_the_scan_repo_detectors_are_used() -> None:
    assert working_tree.load_scanner() is scan_bytes


def test_credentials_in_files_git_does_not_ignore_fail(tmp_path: Path) -> None:
    key = CREDENTIAL_VALUES["track_api_key"]
    root = tmp_path / "app"
    make_repo(
        root, {".gitignore": ".env\n", "settings.py": f"# config\nCUSTOMERIO_TRACK_API_KEY={key}\n"}
    )
    (root / ".env").write_text(f"CUSTOMERIO_TRACK_API_KEY={key}\n")  # ignored: allowed
    (root / "notes.txt").write_text(f"\n\nCUSTOMERIO_TRACK_API_KEY={key}\n")  # untracked
    result = working_tree.check_working_tree(root, files.GitView.open(root), scan_bytes)
    assert result.status is Status.FAIL
    assert [(f.path, f.line) for f in result.findings] == [("notes.txt", 3), ("settings.py", 2)]
    assert key not in repr(result)
    (root / "notes.txt").unlink()
    (root / "settings.py").write_text("import os\n")
    clean = working_tree.check_working_tree(root, files.GitView.open(root), scan_bytes)
    assert clean.status is Status.PASS
    assert clean.evidence == "2 files scanned, no match"


def test_outside_git_every_file_is_scanned(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CUSTOMERIO_TRACK_API_KEY=9e8d7c6b5a4f3e2d1c0b\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x").write_text("CUSTOMERIO_TRACK_API_KEY=1a2b3c4d5e6f7a8b9c0d\n")
    result = working_tree.check_working_tree(tmp_path, files.GitView.open(tmp_path), scan_bytes)
    assert [f.path for f in result.findings] == [".env"]


# --------------------------------------------------------------------------- trail


def test_trail_check_statuses(memory_keyring: MemoryKeyring) -> None:
    settings, opener = load_profile()
    missing = trail_check.check_trail(settings, opener)
    assert missing.status is Status.WARN
    erase_trail(settings.audit_log, PseudonymKey(CANARY.encode()), [Person("a@example.com")])
    good = trail_check.check_trail(settings, opener)
    assert good.status is Status.PASS
    assert "4 records, chain verifies" in good.evidence
    text = settings.audit_log.read_text().replace('"done"', '"DONE"', 1)
    settings.audit_log.write_text(text)
    broken = trail_check.check_trail(settings, opener)
    assert broken.status is Status.FAIL
    assert (
        broken.evidence
        == f"{settings.audit_log}:2: record 2 was altered (its hash does not match its content)"
    )
    memory_keyring.delete_password("cio-sec", "default/pseudonym_key")
    keyless = trail_check.check_trail(settings, opener)
    assert keyless.status is Status.FAIL
    assert "cannot be verified: credential pseudonym_key not found" in keyless.evidence
