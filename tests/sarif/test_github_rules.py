"""The SARIF of ``scan-repo`` and ``audit`` as GitHub code scanning reads it.

Each test holds one of the rules the SARIF Multitool checks with ``--rule-kind Gh``
(``scripts/sarif-validate.sh`` runs the Multitool itself in ``make test``): every result
located, every rule fully described with static help, a security severity and tags, and
fingerprints that tell results apart and stay the same from run to run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from cio_sec.render.sarif import sarif_log
from cio_sec.render.sarif_rules import AUDIT_RULES, DOCS_URI, SCAN_RULES
from cio_sec.scan_repo.rules import LEAK_RULES
from tests.support.cli import CliHarness
from tests.support.git_repos import ENV_PAIR, TRACK_KEY, make_repo

pytestmark = pytest.mark.slow

SCHEMA = json.loads((Path(__file__).parent.parent / "support/sarif-schema-2.1.0.json").read_text())
HANDLER = """\
from flask import request

def cio_webhook():
    signature = request.headers["X-CIO-Signature"]
    return "ok"
"""


@pytest.fixture
def leaky(tmp_path: Path, watched_secrets: set[str]) -> Path:
    """One Track key pair in two files, committed, with an unverified webhook handler."""
    watched_secrets.add(TRACK_KEY)
    repo = make_repo(tmp_path, "leaky")
    repo.commit("leak", {".env": ENV_PAIR, "deploy/prod.env": ENV_PAIR, "hooks.py": HANDLER})
    return repo.path


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path, "clean")
    repo.commit("init", {".gitignore": ".env*\n", "README.md": "hello\n"})
    return repo.path


def logs(run_cli: CliHarness, leaky: Path, clean: Path) -> dict[str, dict[str, Any]]:
    """The four logs ``scripts/sarif-validate.sh`` validates, each checked on the schema."""
    found = {
        "scan-findings": run_cli("scan-repo", str(leaky), "-f", "sarif", expect=1),
        "scan-clean": run_cli("scan-repo", str(clean), "-f", "sarif"),
        "audit-failing": run_cli("audit", str(leaky), "-f", "sarif", expect=1),
        "audit-passing": run_cli("audit", str(clean), "-f", "sarif"),
    }
    documents = {name: json.loads(outcome.stdout) for name, outcome in found.items()}
    for document in documents.values():
        jsonschema.validate(document, SCHEMA)
    return documents


def results(log: dict[str, Any]) -> list[dict[str, Any]]:
    return list(log["runs"][0]["results"])


def rules(log: dict[str, Any]) -> list[dict[str, Any]]:
    return list(log["runs"][0]["tool"]["driver"]["rules"])


def test_every_result_is_located_with_a_region(
    run_cli: CliHarness, leaky: Path, clean: Path
) -> None:
    every = [r for log in logs(run_cli, leaky, clean).values() for r in results(log)]
    assert any(r["ruleId"] == "audit-trail" for r in every)  # a check of no one file
    for result in every:
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"]
        assert location["physicalLocation"]["region"]["startLine"] >= 1


def test_a_check_of_no_file_is_located_at_the_repository_root(
    run_cli: CliHarness, leaky: Path, clean: Path
) -> None:
    log = logs(run_cli, leaky, clean)["audit-failing"]
    trail = next(r for r in results(log) if r["ruleId"] == "audit-trail")
    place = trail["locations"][0]["physicalLocation"]
    assert place["artifactLocation"] == {"uri": ".", "uriBaseId": "SRCROOT"}
    handler = next(r for r in results(log) if r["ruleId"] == "webhook-handler")
    assert handler["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "hooks.py"


def test_both_commands_are_one_tool_with_a_home_and_a_version(
    run_cli: CliHarness, leaky: Path, clean: Path
) -> None:
    from cio_sec import __version__

    for log in logs(run_cli, leaky, clean).values():
        driver = log["runs"][0]["tool"]["driver"]
        assert driver["name"] == "cio-sec"
        assert driver["version"] == __version__
        assert driver["informationUri"].startswith("https://")


def test_rules_are_static_and_fully_described(
    run_cli: CliHarness, leaky: Path, clean: Path, tmp_path: Path
) -> None:
    found = logs(run_cli, leaky, clean)
    assert rules(found["audit-failing"]) == rules(found["audit-passing"])
    assert rules(found["scan-findings"]) == rules(found["scan-clean"])
    for log in found.values():
        for rule in rules(log):
            assert rule["shortDescription"]["text"].endswith(".")
            assert rule["fullDescription"]["text"] != rule["shortDescription"]["text"]
            text = rule["help"]["text"]
            assert text
            assert "nothing to do" not in text
            assert str(tmp_path) not in json.dumps(rule)
            assert os.environ["HOME"] not in json.dumps(rule)
            assert rule["helpUri"] == f"{DOCS_URI}reference/sarif.md#{rule['id']}"


def test_every_rule_is_a_security_rule_with_a_severity(
    run_cli: CliHarness, leaky: Path, clean: Path
) -> None:
    for log in logs(run_cli, leaky, clean).values():
        for rule in rules(log):
            properties = rule["properties"]
            assert "security" in properties["tags"]
            severity = properties["security-severity"]
            assert isinstance(severity, str)
            assert 0.0 < float(severity) <= 10.0


def test_every_detector_and_check_has_a_rule() -> None:
    assert list(SCAN_RULES) == [rule.id for rule in LEAK_RULES]
    assert set(AUDIT_RULES) == {
        "credential-stores",
        "key-age",
        "webhook-signing-key",
        "webhook-handler",
        "sanitize-policy",
        "dotenv-ignored",
        "dotenv-history",
        "file-permissions",
        "working-tree-credentials",
        "audit-trail",
        "online-track",
        "online-app",
        "online-never-send",
    }


def test_a_check_without_a_rule_still_gets_a_full_rule() -> None:
    from cio_sec.audit.report import AuditReport, CheckResult, Status

    check = CheckResult("brand-new", "A new check", Status.FAIL, "e", "r")
    log = sarif_log(AuditReport(Path("/app"), "default", (check,)), "1")
    (rule,) = log["runs"][0]["tool"]["driver"]["rules"]
    assert rule["shortDescription"]["text"] == "A new check."
    assert rule["properties"]["security-severity"] == "5.0"


def test_the_same_key_in_two_files_is_two_alerts(
    run_cli: CliHarness, leaky: Path, clean: Path
) -> None:
    log = logs(run_cli, leaky, clean)["scan-findings"]
    pair = [r for r in results(log) if r["ruleId"] == "customerio-track-key-pair"]
    assert sorted(loc(r) for r in pair) == [".env", "deploy/prod.env"]
    assert pair[0]["properties"]["fingerprint"] == pair[1]["properties"]["fingerprint"]
    assert pair[0]["partialFingerprints"] != pair[1]["partialFingerprints"]


def test_fingerprints_are_stable_across_runs_and_machines(
    run_cli: CliHarness, leaky: Path, clean: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = logs(run_cli, leaky, clean)
    # Another runner: a state directory of its own, so another machine key.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "other-runner"))
    second = logs(run_cli, leaky, clean)
    for name in ("scan-findings", "audit-failing"):
        before = [r["partialFingerprints"] for r in results(first[name])]
        after = [r["partialFingerprints"] for r in results(second[name])]
        assert before == after
        assert len({json.dumps(f) for f in before}) == len(before)  # one alert each


def test_fingerprints_never_hold_the_secret(run_cli: CliHarness, leaky: Path, clean: Path) -> None:
    from cio_sec.redact import legacy_fingerprint

    log = logs(run_cli, leaky, clean)["scan-findings"]
    text = json.dumps([r["partialFingerprints"] for r in results(log)])
    assert TRACK_KEY not in text
    assert legacy_fingerprint(TRACK_KEY) not in text


def loc(result: dict[str, Any]) -> str:
    return str(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])


DOC = Path(__file__).resolve().parents[2] / "docs/reference/sarif.md"


def test_the_reference_lists_every_rule_with_its_severity() -> None:
    import re

    text = DOC.read_text()
    documented = dict(re.findall(r"^\| \[`([a-z-]+)`\]\(#[a-z-]+\) \| (\d+\.\d) ", text, re.M))
    metadata = {rule.id: rule.severity for rule in [*SCAN_RULES.values(), *AUDIT_RULES.values()]}
    assert documented == metadata
    for rule_id in metadata:  # the anchor each rule's helpUri points at
        assert f"\n### {rule_id}\n" in text
