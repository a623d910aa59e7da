"""``partialFingerprints`` in the core: one per secret and place, even when 4 digits collide."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cio_sec.audit.report import AuditReport, CheckFinding, CheckResult, Status
from cio_sec.render.sarif import sarif_log
from cio_sec.scan_repo.report import Leak, ScanReport

RULE = "customerio-track-api-key"


def scan_log_ids(*findings: Leak) -> list[str]:
    report = ScanReport("history", "/repo", findings, 1, 1)
    return [
        r["partialFingerprints"]["cioSecFinding/v2"]
        for r in sarif_log(report)["runs"][0]["results"]
    ]


def finding(path: str | None, identity: str, line: int = 1, fingerprint: str = "abcd") -> Leak:
    return Leak(RULE, path, line, fingerprint, "…", identity=identity, blob="b" * 40)


def test_two_keys_whose_public_fingerprints_collide_in_one_file_are_two_alerts() -> None:
    first, second = scan_log_ids(finding("a.env", "key-1", 1), finding("a.env", "key-2", 9))
    assert first != second


def test_one_key_twice_in_one_file_is_one_alert() -> None:
    first, second = scan_log_ids(finding("a.env", "key-1", 1), finding("a.env", "key-1", 9))
    assert first == second


def test_a_dangling_blob_is_told_apart_from_a_file() -> None:
    ids = scan_log_ids(finding(None, "key-1"), finding("b" * 40, "key-1"))
    assert len(set(ids)) == 2


@given(st.lists(st.sampled_from(["a.env", "b/c.py", "d e.txt"]), min_size=1, max_size=6))
def test_audit_results_have_distinct_fingerprints(paths: list[str]) -> None:
    findings = tuple(
        CheckFinding(Status.FAIL, "m", path, line) for line, path in enumerate(paths, 1)
    )
    check = CheckResult("dotenv-ignored", "t", Status.FAIL, "e", "r", findings)
    log = sarif_log(AuditReport(Path("/app"), "default", (check,)), "1")
    ids = [r["partialFingerprints"]["cioSecAuditResult/v1"] for r in log["runs"][0]["results"]]
    assert len(set(ids)) == len(paths)
