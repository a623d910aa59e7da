"""``cio-sec erase --attributes`` and ``audit --online`` end to end against the sandbox."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

import pytest

from cio_sec.errors import ExitCode
from cio_sec.sandbox import Sandbox
from cio_sec.trail import read_lines
from tests.support.cli import CliHarness

pytestmark = pytest.mark.slow

PEOPLE = 1000
HOLDERS = 137
FAST = ("--verify-rate", "1000", "--rate", "2000")


def _state() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "cio-sec"


def _trail() -> list[dict[str, Any]]:
    return [line.record for line in read_lines(_state() / "audit.jsonl") if line.record]


def _ssn(n: int) -> str:
    return f"900-{n % 100:02d}-{n:04d}"


def _populate(sandbox: Sandbox) -> list[str]:
    """1,000 people; every 7th-ish one (137 in all) carries an ``ssn``."""
    holders: list[str] = []
    for n in range(PEOPLE):
        attributes: dict[str, object] = {"first_name": f"Person {n}", "plan": "basic"}
        if len(holders) < HOLDERS and n % 7 == 3:
            attributes["ssn"] = _ssn(n)
            holders.append(f"p-{n:04d}")
        sandbox.add_person(f"p-{n:04d}", attributes)
    assert len(holders) == HOLDERS
    return holders


def _by_id(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    people = cast("list[dict[str, Any]]", sandbox.people()["people"])
    return {person["id"]: person for person in people}


def _audit_never_send(run_cli: CliHarness, expect: int) -> dict[str, Any]:
    document = run_cli("audit", "--online", "-f", "json", expect=expect).json
    (check,) = [c for c in document["checks"] if c["id"] == "online-never-send"]
    return cast("dict[str, Any]", check)


def test_find_purge_and_prove_137_ssns_among_1000_people(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    holders = _populate(sandbox)
    before = _by_id(sandbox)

    check = _audit_never_send(run_cli, ExitCode.CHECK_FAILED)
    assert check["status"] == "FAIL"
    assert check["evidence"] == "people hold never-send attributes: ssn (137)"
    assert [f["message"].split(" (")[0] for f in check["findings"]] == ["ssn: 137 people"]
    assert _ssn(3) not in str(check)

    dry = run_cli(
        "erase", "--attributes", "ssn", "--all-matching", "--dry-run", "--ticket", "INC-7",
        "-f", "json", *FAST,
    )  # fmt: skip
    assert dry.json["status"] == "dry-run"
    assert dry.json["plan"]["per_attribute"] == {"ssn": HOLDERS}
    assert "plan: would remove ssn (137) from 137 people" in dry.stderr
    assert _by_id(sandbox) == before  # a dry run sends nothing

    out = run_cli(
        "erase", "--attributes", "ssn", "--all-matching", "--yes", "--ticket", "INC-7",
        "-f", "json", *FAST,
    )  # fmt: skip
    doc = out.json
    assert doc["status"] == "completed"
    assert doc["counts"] == {
        "people": HOLDERS,
        "purged": HOLDERS,
        "failed": 0,
        "left": 0,
        "verified": HOLDERS,
        "still_present": 0,
        "unverified": 0,
        "to_verify": 0,
    }
    after = _by_id(sandbox)
    assert set(after) == set(before)  # nobody deleted
    people = sandbox.people()
    assert people["suppressed"] == []
    assert people["deleted"] == []
    for person_id, person in after.items():
        expected = dict(before[person_id]["attributes"])
        if person_id in holders:
            del expected["ssn"]
        assert person["attributes"] == expected  # everyone else untouched

    assert _audit_never_send(run_cli, ExitCode.OK)["status"] == "PASS"
    run_cli("audit", "log", "verify")

    records = [r for r in _trail() if r.get("job") == doc["job"]]
    actions = [r for r in records if r["type"] == "action"]
    checks = [r for r in records if r["type"] == "verification"]
    assert len(actions) == len(checks) == HOLDERS
    assert {r["action"] for r in actions + checks} == {"attribute-purge"}
    assert all(r["attributes"] == ["ssn"] and r["outcome"] == "done" for r in actions)
    assert all(r["outcome"] == "verified" for r in checks)
    trail_text = (_state() / "audit.jsonl").read_text()
    assert _ssn(3) not in trail_text
    assert "p-0003" not in trail_text

    evidence = run_cli("audit", "log", "export", "--ticket", "INC-7", "-f", "json").json
    subjects = evidence["subjects"]
    assert len(subjects) == HOLDERS
    assert {s["outcome"] for s in subjects} == {"attributes-purged"}
    assert {s["verification"] for s in subjects} == {"verified"}


def test_a_file_of_people_purges_only_those_holding_the_attributes(
    run_cli: CliHarness, sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.add_person("a", {"ssn": "900-00-0001", "card_number": "4111", "city": "Oslo"})
    sandbox.add_person("b", {"card_number": "4242"})
    sandbox.add_person("c", {"city": "Rome"})
    sandbox.add_person("d", {"ssn": "900-00-0002"})  # not in the file: kept
    ids = tmp_path / "ids.csv"
    ids.write_text("id\na\nb\nc\nnobody\n")
    doc = run_cli(
        "erase", "--attributes", "ssn,card_number", "--file", str(ids), "--yes", "-f", "json",
        *FAST,
    ).json  # fmt: skip
    assert doc["plan"]["per_attribute"] == {"ssn": 1, "card_number": 2}
    assert doc["plan"]["holding_none"] == 2
    assert doc["counts"]["verified"] == 2
    people = _by_id(sandbox)
    assert people["a"]["attributes"] == {"city": "Oslo"}
    assert people["b"]["attributes"] == {}
    assert people["c"]["attributes"] == {"city": "Rome"}
    assert people["d"]["attributes"] == {"ssn": "900-00-0002"}
    assert "nobody" not in people  # no identify call created anyone
    puts = [r for r in sandbox.requests() if r.method == "PUT"]
    assert len(puts) == 2
