"""What cio-sec prints and writes about a credential leaves at least 2^64 candidates.

Per credential kind, every command that shows something of the key runs (``credentials
set`` and ``show`` in text and JSON, ``scan-repo`` in JSON and SARIF with a written
baseline) and a rotation record is written as ``rotate`` writes it. Then everything they
printed and every file under the test's home is searched for what gives bits of the key
away: characters around an ellipsis (the mask and preview) and any prefix of an unkeyed
SHA-256 of the key (or of ``site_id:key``). The keyed fingerprint counts nothing: it is an
HMAC under a key the attacker does not have.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cio_sec.errors import ExitCode
from cio_sec.redact import ELLIPSIS, fingerprint
from cio_sec.rotate.key_ages import RotationRecord, record_rotation
from cio_sec.settings import default_state_dir
from tests.support.cli import CliHarness
from tests.support.git_repos import make_repo

pytestmark = pytest.mark.slow

SITE_ID = "5c0e7a9d1b3f2e4a6c8d"
TRACK_KEY = "b7e1d3c5a9f0e2d4c6b8"

#: name → (value, the bits of the kind's key space: length * log2(alphabet)), as in the README.
KINDS = {
    "site_id": (SITE_ID, 80.0),
    "track_api_key": (TRACK_KEY, 80.0),
    "app_api_key": ("9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b", 128.0),
    # the shortest key cio-sec takes without a warning, over letters and digits
    "webhook_signing_key": ("Qm9vYmFyYmF6cXV4", 16 * 5.954),
    "pseudonym_key": ("3f" * 32, 256.0),
}

#: Where each kind sits in a committed .env, so scan-repo finds it (with context).
_ENV_FILE = (
    f"CUSTOMERIO_SITE_ID={SITE_ID}\n"
    f"CUSTOMERIO_TRACK_API_KEY={TRACK_KEY}\n"
    f"CUSTOMERIO_APP_API_KEY={KINDS['app_api_key'][0]}\n"
    f"CUSTOMERIO_WEBHOOK_SIGNING_KEY={KINDS['webhook_signing_key'][0]}\n"
    f"CIO_SEC_PSEUDONYM_KEY={KINDS['pseudonym_key'][0]}\n"
)


def _everything_shown(run_cli: CliHarness, name: str, value: str, root: Path) -> str:
    outputs = []
    for fmt in ("text", "json"):
        stored = run_cli("credentials", "set", name, "--stdin", "-f", fmt, input=value)
        outputs += [stored.stdout, stored.stderr]
        shown = run_cli("credentials", "show", "-f", fmt)
        outputs += [shown.stdout, shown.stderr]
    repo = make_repo(root, "leaky")
    repo.commit("add", {".env": _ENV_FILE})
    baseline = root / "baseline.json"
    wrote = run_cli("scan-repo", str(repo.path), "--baseline", str(baseline), "--write-baseline")
    outputs += [wrote.stdout, wrote.stderr]
    for fmt in ("json", "sarif", "text"):
        scanned = run_cli("scan-repo", str(repo.path), "-f", fmt, expect=ExitCode.CHECK_FAILED)
        outputs += [scanned.stdout, scanned.stderr]
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc)
    record_rotation(
        default_state_dir(os.environ),
        RotationRecord("default", name, "track", moment, fingerprint(value)),
    )
    written = [baseline, *(root / "home").rglob("*")]  # what cio-sec wrote, not the repo
    files = [
        path.read_text(encoding="utf-8", errors="replace") for path in written if path.is_file()
    ]
    return "\n".join(outputs + files)


def _chars_shown(value: str, corpus: str) -> int:
    """Characters of the value shown next to an ellipsis (masks and previews)."""
    head = next((k for k in range(len(value), 0, -1) if value[:k] + ELLIPSIS in corpus), 0)
    tail = next((k for k in range(len(value), 0, -1) if ELLIPSIS + value[-k:] in corpus), 0)
    return head + tail


def _hash_digits_shown(forms: list[str], corpus: str) -> int:
    """The longest prefix of an unkeyed SHA-256 of the value that appears anywhere."""
    digits = 0
    for form in forms:
        digest = hashlib.sha256(form.encode()).hexdigest()
        shown = next((k for k in range(64, 3, -1) if digest[:k] in corpus), 0)
        digits = max(digits, shown)
    return digits


@pytest.mark.parametrize("name", KINDS)
def test_at_least_64_bits_of_each_credential_stay_unknown(
    run_cli: CliHarness, watched_secrets: set[str], hermetic_env: Path, name: str
) -> None:
    value, bits = KINDS[name]
    watched_secrets.update(value for value, _ in KINDS.values())
    corpus = _everything_shown(run_cli, name, value, hermetic_env.parent)
    assert value not in corpus
    forms = [value, f"{SITE_ID}:{TRACK_KEY}"] if name in ("site_id", "track_api_key") else [value]
    per_char = bits / len(value)
    revealed = _chars_shown(value, corpus) * per_char + _hash_digits_shown(forms, corpus) * 4
    assert bits - revealed >= 64, (name, bits, revealed)
    assert fingerprint(value) in corpus  # the keyed fingerprint is shown, and counts nothing


def test_the_app_key_still_shows_enough_to_tell_keys_apart(run_cli: CliHarness) -> None:
    value = KINDS["app_api_key"][0]
    run_cli("credentials", "set", "app_api_key", "--stdin", input=value)
    rows = run_cli("credentials", "show", "-f", "json").json["credentials"]
    shown = {row["name"]: row["masked"] for row in rows}
    assert shown["app_api_key"] == f"{value[:4]}{ELLIPSIS}{value[-4:]}"  # 128 - 32 - 16 = 80


def test_a_baseline_from_an_earlier_version_still_applies_and_is_migrated(
    run_cli: CliHarness, watched_secrets: set[str], tmp_path: Path
) -> None:
    watched_secrets.update({SITE_ID, TRACK_KEY})
    repo = make_repo(tmp_path, "leaky")
    repo.commit(
        "add",
        {".env": _ENV_FILE.splitlines(keepends=True)[0] + _ENV_FILE.splitlines(keepends=True)[1]},
    )
    old = hashlib.sha256(f"{SITE_ID}:{TRACK_KEY}".encode()).hexdigest()[:16]
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"schema_version": 1, "fingerprints": [{"fingerprint": old}]}))
    document = run_cli("scan-repo", str(repo.path), "--baseline", str(baseline), "-f", "json").json
    assert [f["baselined"] for f in document["findings"]] == [True]
    run_cli("scan-repo", str(repo.path), "--baseline", str(baseline), "--write-baseline")
    entries = json.loads(baseline.read_text())["fingerprints"]
    assert [entry["fingerprint"] for entry in entries] == [old[:4]]


def test_a_key_pasted_into_a_baseline_is_not_echoed(
    run_cli: CliHarness, watched_secrets: set[str], tmp_path: Path
) -> None:
    repo = make_repo(tmp_path, "clean")
    repo.commit("add", {"README": "nothing here\n"})
    baseline = tmp_path / "baseline.json"
    canary = next(iter(watched_secrets))
    baseline.write_text(json.dumps({"fingerprints": [canary]}))
    outcome = run_cli(
        "scan-repo", str(repo.path), "--baseline", str(baseline), expect=ExitCode.USAGE
    )
    assert "not a fingerprint" in outcome.stderr


def test_two_keys_with_the_same_public_fingerprint_stay_two_findings(
    run_cli: CliHarness, watched_secrets: set[str], tmp_path: Path
) -> None:
    from cio_sec.redact import public_fingerprint

    first = "a" * 12 + "0123abcd"
    wanted = public_fingerprint(first)
    second = next(
        candidate
        for number in range(1, 1 << 24)
        if (candidate := f"{number:020x}".replace("0", "e", 1)) != first
        and public_fingerprint(candidate) == wanted
    )
    watched_secrets.update({first, second})
    repo = make_repo(tmp_path, "twins")
    repo.commit(
        "add",
        {"a.txt": f"customer.io api_key={first}\n", "b.txt": f"customer.io api_key={second}\n"},
    )
    document = run_cli("scan-repo", str(repo.path), "-f", "json", expect=ExitCode.CHECK_FAILED).json
    assert [(f["path"], f["fingerprint"]) for f in document["findings"]] == [
        ("a.txt", wanted),
        ("b.txt", wanted),
    ]
