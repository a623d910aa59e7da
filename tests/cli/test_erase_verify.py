"""``cio-sec erase`` proves every erased person is gone: read-backs through the App API.

Against the sandbox over HTTP: outcomes, ``--no-verify``, no App key, a rejected App key,
``erase verify JOB`` (everyone and ``--sample``), ``--status`` and the evidence.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from cio_sec.errors import ExitCode
from cio_sec.pseudonym import PseudonymKey
from cio_sec.sandbox import Faults, Sandbox
from cio_sec.trail import read_lines, verify_chain
from tests.conftest import CANARY
from tests.support.cli import CliHarness

pytestmark = pytest.mark.slow

KEY = PseudonymKey.from_text(CANARY)


def _ids(path: Path, values: list[str], sandbox: Sandbox) -> Path:
    """Write an ids file of people who exist: a read-back of no one proves nothing."""
    for value in values:
        sandbox.add_person(value)
    path.write_text("id\n" + "".join(f"{value}\n" for value in values))
    return path


def _state() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "cio-sec"


def _trail(kind: str) -> list[dict[str, Any]]:
    lines = read_lines(_state() / "audit.jsonl")
    return [line.record for line in lines if line.record and line.record["type"] == kind]


def _read_backs(sandbox: Sandbox) -> list[str]:
    return [r.identifier or "" for r in sandbox.requests() if r.path.endswith("/attributes")]


def _come_back(sandbox: Sandbox, value: str) -> None:
    """Someone unsuppresses a person and an application re-creates them by id."""
    info = sandbox.info
    auth = (info.site_id, info.track_api_key)
    base = f"{info.track_url}/api/v1/customers/{value}"
    assert httpx.post(f"{base}/unsuppress", json={}, auth=auth).status_code == 200
    assert httpx.put(base, json={"plan": "pro"}, auth=auth).status_code == 200


def _erase(run_cli: CliHarness, ids: Path, *extra: str, expect: int = ExitCode.OK) -> Any:
    return run_cli(
        "erase", "--file", str(ids), "--yes", "--ticket", "DSR-7", *extra, "-f", "json",
        expect=expect,
    )  # fmt: skip


def test_every_erased_person_is_read_back_and_proved_gone(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    values = [f"v-{n}" for n in range(8)] + ["a b/c?d"]
    ids = _ids(Path("ids.csv"), values, sandbox)
    out = _erase(run_cli, ids)
    doc = out.json
    assert doc["counts"]["verified"] == len(values)
    assert doc["still_present"] == []
    assert "verifying: reading" in out.stderr
    # the first person is read once before erasing too: the key is shown to see them
    assert sorted(_read_backs(sandbox)) == sorted([*values, values[0]])
    queries = {r.path for r in sandbox.requests() if r.path.endswith("/attributes")}
    assert "/v1/customers/a%20b%2Fc%3Fd/attributes" in queries
    checks = _trail("verification")
    assert {c["subject"] for c in checks} == {KEY.pseudonym(v) for v in values}
    assert {(c["outcome"], c["run"] is not None) for c in checks} == {("verified", True)}
    status = run_cli("erase", "--status", doc["job"], "-f", "json").json["jobs"][0]["counts"]
    assert (status["verified"], status["still_present"], status["unverified"]) == (9, 0, 0)
    text = run_cli("erase", "--status").stdout
    assert "verified" in text
    assert "still present" in text
    evidence = run_cli("audit", "log", "export", "--ticket", "DSR-7", "-f", "json").json
    assert evidence["counts"]["verified"] == len(values)
    assert {s["evidence"][:20] for s in evidence["subjects"]} == {"erased, verified at "}


def test_no_verify_reads_nobody_back(run_cli: CliHarness, sandbox: Sandbox) -> None:
    ids = _ids(Path("ids.csv"), ["n-1", "n-2"], sandbox)
    doc = _erase(run_cli, ids, "--no-verify").json
    assert (doc["counts"]["verified"], doc["counts"]["unverified"]) == (0, 2)
    assert doc["status"] == "completed"
    assert _read_backs(sandbox) == []
    assert _trail("verification") == []
    evidence = run_cli("audit", "log", "export", "--ticket", "DSR-7").stdout
    assert "erased, unverified" in evidence


def test_without_an_app_key_it_warns_once_and_records_unverified(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUSTOMERIO_APP_API_KEY")
    ids = _ids(Path("ids.csv"), [f"k-{n}" for n in range(30)], sandbox)
    out = _erase(run_cli, ids)
    assert out.stderr.count("no App API key") == 1
    assert out.json["counts"]["unverified"] == 30
    assert out.json["status"] == "completed"
    assert _read_backs(sandbox) == []
    checks = _trail("verification")
    assert len(checks) == 30
    assert {(c["outcome"], c["reason"]) for c in checks} == {
        ("unverified", "no App API key: the erasure could not be read back")
    }


def test_a_rejected_app_key_stops_the_read_backs_and_leaves_people_unverified(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", "0" * 32)
    ids = _ids(Path("ids.csv"), [f"r-{n}" for n in range(20)], sandbox)
    out = _erase(run_cli, ids)
    assert out.json["counts"]["unverified"] == 20
    assert "read-backs stopped" in out.stderr
    assert len(_read_backs(sandbox)) < 20  # no point asking again after a 401


def test_a_failing_app_api_is_retried_until_the_window_ends_then_unverified(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    ids = _ids(Path("ids.csv"), ["f-1"], sandbox)
    _erase(run_cli, ids, "--no-verify")
    job = run_cli("erase", "--status", "-f", "json").json["jobs"][0]["job"]
    sandbox.set_faults(Faults(error_rate=1.0, error_status=503, retry_after=0))
    out = run_cli(
        "erase", "verify", job, "--file", str(ids), "--verify-window", "3", "-f", "json",
        expect=ExitCode.REMOTE,
    )  # fmt: skip
    assert out.json["counts"] == {"verified": 0, "still_present": 0, "unverified": 1}
    (check,) = [c for c in _trail("verification") if c["outcome"] == "unverified"]
    assert "503" in check["reason"]
    assert check["checks"] >= 2  # asked again later in the window, never counted as gone
    assert len(_read_backs(sandbox)) >= 2 * 3


def test_erase_verify_finds_a_person_who_came_back(run_cli: CliHarness, sandbox: Sandbox) -> None:
    values = [f"b-{n}" for n in range(6)]
    ids = _ids(Path("ids.csv"), values, sandbox)
    job = _erase(run_cli, ids).json["job"]
    _come_back(sandbox, "b-3")
    sandbox.clear_requests()
    out = run_cli(
        "erase", "verify", job, "--file", str(ids), "--verify-window", "0", "-f", "json",
        expect=ExitCode.CHECK_FAILED,
    )  # fmt: skip
    doc = out.json
    assert doc["counts"] == {"verified": 5, "still_present": 1, "unverified": 0}
    assert [p["subject"] for p in doc["still_present"]] == [KEY.pseudonym("b-3")]
    assert "re-created" in doc["still_present"][0]["cause"]
    assert doc["bound"] is None
    assert sorted(_read_backs(sandbox)) == sorted(values)
    assert "b-3" not in out.stdout + out.stderr
    text = run_cli(
        "erase", "verify", job, "--file", str(ids), "--verify-window", "0",
        expect=ExitCode.CHECK_FAILED,
    )  # fmt: skip
    assert KEY.pseudonym("b-3") in text.stdout
    assert "likely cause" in text.stderr
    status = run_cli("erase", "--status", job, "-f", "json").json["jobs"][0]["counts"]
    assert status["still_present"] == 1
    evidence = run_cli("audit", "log", "export", "--ticket", "DSR-7", "-f", "json").json
    assert evidence["counts"]["still_present"] == 1
    assert verify_chain(_state() / "audit.jsonl", {KEY.key_id: KEY}).ok


def test_erase_verify_a_sample_reports_its_bound(run_cli: CliHarness, sandbox: Sandbox) -> None:
    values = [f"s-{n}" for n in range(40)]
    ids = _ids(Path("ids.csv"), values, sandbox)
    job = _erase(run_cli, ids, "--no-verify").json["job"]
    sandbox.clear_requests()
    doc = run_cli("erase", "verify", job, "--sample", "10", "--file", str(ids), "-f", "json").json
    assert (doc["checked"], doc["erased"], doc["sampled"]) == (10, 40, True)
    assert doc["counts"] == {"verified": 10, "still_present": 0, "unverified": 0}
    bound = doc["bound"]
    assert bound["confidence"] == 0.95
    assert math.isclose(bound["max_share_present"], 1 - 0.05 ** (1 / 10))
    assert "at most 25.89% of the job's people remain, at 95 % confidence" in doc["summary"]
    assert len(set(_read_backs(sandbox))) == 10
    assert set(_read_backs(sandbox)) <= set(values)
    text = run_cli("erase", "verify", job, "--sample", "10", "--file", str(ids))
    assert "95 % confidence" in text.stderr
    # Only the sample's outcomes changed: the other 30 stay unverified.
    counts = run_cli("erase", "--status", job, "-f", "json").json["jobs"][0]["counts"]
    assert counts["verified"] + counts["unverified"] == 40
    assert counts["unverified"] >= 20


def test_erase_verify_refuses_what_it_cannot_check(run_cli: CliHarness, sandbox: Sandbox) -> None:
    ids = _ids(Path("ids.csv"), ["x-1", "x-2"], sandbox)
    job = _erase(run_cli, ids).json["job"]
    missing = run_cli("erase", "verify", job, expect=ExitCode.USAGE)
    assert "removed its identifiers" in missing.stderr
    other = _ids(Path("other.csv"), ["x-1"], sandbox)
    wrong = run_cli("erase", "verify", job, "--file", str(other), expect=ExitCode.USAGE)
    assert "not the input of job" in wrong.stderr
    run_cli("erase", "verify", "0123456789abcdef", expect=ExitCode.USAGE)
    run_cli("erase", "verify", expect=ExitCode.USAGE)
    run_cli("erase", "--status", job, "extra", expect=ExitCode.USAGE)


def _existing(sandbox: Sandbox, prefix: str, count: int) -> list[str]:
    values = [f"{prefix}-{n:05d}" for n in range(count)]
    for value in values:
        sandbox.add_person(value, {"plan": "pro"})
    return values


def _present(sandbox: Sandbox) -> set[str]:
    people = sandbox.people()["people"]
    assert isinstance(people, list)
    return {str(person["id"]) for person in people}


def test_deletes_that_lie_end_exit_1_and_a_restart_verifies_everyone(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    """Issue 14's done-when: 5 % of deletes and suppresses answered 200 and not done."""
    values = _existing(sandbox, "gdpr", 2000)
    ids = _ids(Path("ids.csv"), values, sandbox)
    sandbox.set_faults(Faults(ignore_delete_rate=0.05, seed=14))
    fast = ("--api", "batch", "--rate", "5000", "--concurrency", "32", "--verify-rate", "1000")
    out = _erase(run_cli, ids, *fast, "--verify-window", "1", expect=ExitCode.CHECK_FAILED)
    doc = out.json
    left = _present(sandbox)
    assert left, "the fault should have left someone behind"
    assert doc["status"] == "completed"
    assert doc["counts"]["erased"] == 2000
    assert doc["counts"]["still_present"] == len(left)
    assert doc["counts"]["verified"] == 2000 - len(left)
    assert {p["subject"] for p in doc["still_present"]} == {KEY.pseudonym(v) for v in left}
    assert all(p["fix"] and p["cause"] for p in doc["still_present"])
    for value in left:
        assert value not in out.stdout + out.stderr
    sandbox.set_faults(Faults())
    again = _erase(run_cli, ids, *fast, "--restart").json
    assert again["counts"]["verified"] == 2000
    assert again["still_present"] == []
    assert _present(sandbox) == set()


def test_a_lagging_deletion_is_absorbed_within_the_window(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    values = _existing(sandbox, "lag", 20)
    ids = _ids(Path("ids.csv"), values, sandbox)
    sandbox.set_faults(Faults(delete_lag_ms=1500))
    doc = _erase(run_cli, ids, "--verify-rate", "200", "--verify-window", "30").json
    assert doc["counts"]["verified"] == 20
    checks = _trail("verification")
    assert {c["outcome"] for c in checks} == {"verified"}
    assert max(c["checks"] for c in checks) >= 2  # seen still there first, then gone
    assert len(_read_backs(sandbox)) > 20


def test_a_short_window_ends_a_lagging_person_still_present(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    values = _existing(sandbox, "slow", 3)
    ids = _ids(Path("ids.csv"), values, sandbox)
    sandbox.set_faults(Faults(delete_lag_ms=60_000))
    out = _erase(run_cli, ids, "--verify-window", "2", expect=ExitCode.CHECK_FAILED)
    assert out.json["counts"]["still_present"] == 3
    checks = _trail("verification")
    assert {(c["outcome"], c["checks"] >= 2) for c in checks} == {("still-present", True)}


def test_read_backs_keep_to_the_app_api_limit(run_cli: CliHarness, sandbox: Sandbox) -> None:
    values = _existing(sandbox, "rl", 30)
    ids = _ids(Path("ids.csv"), values, sandbox)
    sandbox.set_faults(Faults(app_rate_limit=20))
    doc = _erase(run_cli, ids, "--verify-rate", "20").json
    assert doc["counts"]["verified"] == 30
    statuses = [r.status for r in sandbox.requests() if r.path.endswith("/attributes")]
    assert statuses.count(429) <= 2


def test_an_app_key_of_another_workspace_cannot_make_anyone_verified(
    run_cli: CliHarness,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    watched_secrets: set[str],
) -> None:
    """Its 404s would say "gone" for everyone: the job says unverified, and why."""
    other = sandbox.add_workspace("staging")
    other_key = sandbox.add_app_key(workspace_id=other.workspace_id)
    watched_secrets.add(other_key)
    monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", other_key)
    values = [f"w-{n}" for n in range(5)]
    ids = _ids(Path("ids.csv"), values, sandbox)
    out = _erase(run_cli, ids)
    assert out.json["counts"]["verified"] == 0
    assert out.json["counts"]["unverified"] == len(values)
    assert out.stderr.count("may belong to another workspace") == 1
    assert sorted(_read_backs(sandbox)) == sorted(values)  # read once, before erasing
    checks = _trail("verification")
    assert {c["outcome"] for c in checks} == {"unverified"}
    assert all("none of the first 5 people" in c["reason"] for c in checks)
    job = out.json["job"]
    later = run_cli(
        "erase", "verify", job, "--file", str(ids), "-f", "json", expect=ExitCode.REMOTE
    )
    assert later.json["counts"] == {"verified": 0, "still_present": 0, "unverified": 5}


def test_a_restart_after_most_people_are_gone_keeps_the_proof_of_reach(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    """The restart's first people are gone already: the first run showed the key sees them."""
    values = [f"g-{n}" for n in range(30)]
    ids = _ids(Path("ids.csv"), values, sandbox)
    _erase(run_cli, ids)
    again = _erase(run_cli, ids, "--restart").json  # everyone reads back 404 already
    assert again["counts"]["verified"] == len(values)
    assert again["counts"]["unverified"] == 0


def test_erase_verify_with_another_app_key_proves_nothing(
    run_cli: CliHarness,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    watched_secrets: set[str],
) -> None:
    """The people are gone by then, so a new key cannot be shown to see their workspace."""
    values = [f"k2-{n}" for n in range(3)]
    ids = _ids(Path("ids.csv"), values, sandbox)
    job = _erase(run_cli, ids).json["job"]
    other = sandbox.add_workspace("staging")
    other_key = sandbox.add_app_key(workspace_id=other.workspace_id)
    watched_secrets.add(other_key)
    monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", other_key)
    later = run_cli(
        "erase", "verify", job, "--file", str(ids), "-f", "json", expect=ExitCode.REMOTE
    )
    assert later.json["counts"] == {"verified": 0, "still_present": 0, "unverified": 3}
