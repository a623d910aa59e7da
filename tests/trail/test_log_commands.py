"""The erasure trail: tampering detected at the right line, show filters, evidence export."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from cio_sec.errors import ExitCode
from cio_sec.pseudonym import PseudonymKey
from cio_sec.settings import default_state_dir
from cio_sec.trail import canonical, record_hash
from tests.conftest import CANARY
from tests.support.apps import write_config
from tests.support.cli import CliHarness
from tests.support.trails import Person, erase_trail

pytestmark = pytest.mark.slow

#: The key the hermetic keyring holds as the default profile's pseudonym_key.
KEY = PseudonymKey(CANARY.encode())
OTHER_KEY = PseudonymKey(b"another-pseudonym-key-entirely")
PEOPLE = [Person("Jane@Example.com"), Person("cust-42", id_type="id"), Person("bob@example.com")]


@pytest.fixture
def trail() -> Path:
    """The default profile's trail with one job for three people (8 records)."""
    path = default_state_dir(os.environ) / "audit.jsonl"
    erase_trail(path, KEY, PEOPLE)
    return path


def rows(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def first_break(run_cli: CliHarness, *args: str) -> dict[str, Any]:
    outcome = run_cli("audit", "log", "verify", *args, "-f", "json", expect=ExitCode.CHECK_FAILED)
    document = outcome.json
    assert document["ok"] is False
    assert document["verified"] is False
    return dict(document["first_break"])


def test_an_intact_trail_verifies_and_prints_its_head(run_cli: CliHarness, trail: Path) -> None:
    head = json.loads(rows(trail)[-1])["hash"]
    outcome = run_cli("audit", "log", "verify")
    assert f"head {head}" in outcome.stdout
    assert "8 records, chain verifies" in outcome.stdout
    document = run_cli(
        "audit", "log", "verify", str(trail), "--expect-head", head, "-f", "json"
    ).json
    assert document["head"] == head
    assert document["records"] == 8


def test_changing_one_byte_of_one_record_is_detected_at_its_line(
    run_cli: CliHarness, trail: Path
) -> None:
    lines = rows(trail)
    lines[3] = lines[3].replace('"outcome":"done"', '"outcome":"dona"')
    trail.write_text("".join(lines))
    broken = first_break(run_cli)
    assert broken == {
        "line": 4,
        "problem": "record 4 was altered (its hash does not match its content)",
    }


def test_a_deleted_record_is_detected(run_cli: CliHarness, trail: Path) -> None:
    lines = rows(trail)
    del lines[2]
    trail.write_text("".join(lines))
    assert first_break(run_cli)["line"] == 3


def test_two_swapped_records_are_detected(run_cli: CliHarness, trail: Path) -> None:
    lines = rows(trail)
    lines[4], lines[5] = lines[5], lines[4]
    trail.write_text("".join(lines))
    broken = first_break(run_cli)
    assert broken["line"] == 5
    assert "does not follow" in broken["problem"]


def test_a_truncated_end_is_detected_with_the_recorded_head(
    run_cli: CliHarness, trail: Path
) -> None:
    lines = rows(trail)
    head = json.loads(lines[-1])["hash"]
    trail.write_text("".join(lines[:-2]))
    run_cli("audit", "log", "verify")  # a shorter chain is still a chain ...
    broken = first_break(run_cli, "--expect-head", head)  # ... but not the one recorded
    assert broken["line"] == 7
    assert "no longer contains the expected head" in broken["problem"]
    text = run_cli("audit", "log", "verify", "--expect-head", head, expect=1).stdout
    assert f"{trail}:7: the trail no longer contains" in text
    assert "last good record: 6" in text


def test_an_appended_record_forged_without_the_key_is_detected(
    run_cli: CliHarness, trail: Path
) -> None:
    last = json.loads(rows(trail)[-1])
    forged = {
        "type": "action",
        "job": "job-1",
        "ticket": "GDPR-123",
        "subject": f"{KEY.key_id}:{'0' * 64}",
        "action": "delete",
        "outcome": "done",
        "seq": last["seq"] + 1,
        "ts": last["ts"],
        "key_id": KEY.key_id,
        "prev": last["hash"],
    }
    forged["hash"] = hashlib.sha256(canonical(forged)).hexdigest()
    with trail.open("a") as handle:
        handle.write(json.dumps(forged) + "\n")
    broken = first_break(run_cli)
    assert broken == {
        "line": 9,
        "problem": "record 9 was altered (its hash does not match its content)",
    }


def test_a_chain_rewritten_with_another_key_is_detected_at_line_1(
    run_cli: CliHarness, trail: Path
) -> None:
    trail.unlink()
    erase_trail(trail, OTHER_KEY, PEOPLE)
    assert first_break(run_cli)["line"] == 1
    # the same rewrite claiming our key id fails on the hash instead
    lines = [json.loads(line) for line in rows(trail)]
    prev = "0" * 64
    for record in lines:
        record["key_id"], record["prev"] = KEY.key_id, prev
        record["hash"] = prev = record_hash(record, OTHER_KEY)
    trail.write_text("".join(json.dumps(record) + "\n" for record in lines))
    assert "was altered" in first_break(run_cli)["problem"]


def test_verify_needs_the_pseudonym_key(run_cli: CliHarness, trail: Path) -> None:
    write_config(Path(os.environ["HOME"]), "[profiles.other]\n")
    outcome = run_cli("--profile", "other", "audit", "log", "verify", str(trail), expect=3)
    assert "pseudonym_key not found" in outcome.stderr


# --------------------------------------------------------------------------- show


def test_show_filters_by_subject_pseudonymised_on_the_fly(run_cli: CliHarness, trail: Path) -> None:
    document = run_cli("audit", "log", "show", "--subject", "JANE@example.com ", "-f", "json").json
    assert document["count"] == 2
    assert {record["action"] for record in document["records"]} == {"suppress", "delete"}
    assert {record["subject"] for record in document["records"]} == {PEOPLE[0].subject(KEY)}
    assert "jane" not in json.dumps(document).lower()
    by_id = run_cli("audit", "log", "show", "--subject", "cust-42", "-f", "json").json
    assert by_id["count"] == 2
    nobody = run_cli("audit", "log", "show", "--subject", "nobody@example.com", "-f", "json").json
    assert nobody["count"] == 0
    assert nobody["ok"] is True


def test_show_filters_by_ticket_job_and_time(run_cli: CliHarness, trail: Path) -> None:
    erase_trail(trail, KEY, [Person("x@example.com")], ticket="GDPR-124", job="job-2")
    assert run_cli("audit", "log", "show", "-f", "json").json["count"] == 12
    assert run_cli("audit", "log", "show", "--ticket", "GDPR-124", "-f", "json").json["count"] == 4
    assert run_cli("audit", "log", "show", "--job", "job-1", "-f", "json").json["count"] == 8
    later = run_cli("audit", "log", "show", "--since", "2099-01-01", "-f", "json").json
    assert later["count"] == 0
    text = run_cli("audit", "log", "show", "--ticket", "GDPR-124", "--since", "2026-11-29T12:00Z")
    assert "job-2" in text.stdout
    assert "4 matching record(s)" in text.stderr


def test_show_rejects_a_since_that_is_not_a_date(run_cli: CliHarness, trail: Path) -> None:
    outcome = run_cli("audit", "log", "show", "--since", "yesterday", expect=ExitCode.USAGE)
    assert "is not an ISO 8601 date" in outcome.stderr


def test_show_on_a_broken_chain_exits_1_and_says_so(run_cli: CliHarness, trail: Path) -> None:
    lines = rows(trail)
    trail.write_text("".join(lines[:2] + lines[3:]))
    outcome = run_cli("audit", "log", "show", expect=ExitCode.CHECK_FAILED)
    assert "the trail does not verify: line 3" in outcome.stderr
    with trail.open("a") as handle:
        handle.write("not a record\n")
    document = run_cli("audit", "log", "show", "-f", "json", expect=1).json
    assert document["count"] == 7  # the damaged line is reported by verify, not shown


# --------------------------------------------------------------------------- export


def test_export_is_markdown_evidence_without_identifiers(run_cli: CliHarness, trail: Path) -> None:
    head = json.loads(rows(trail)[-1])["hash"]
    text = run_cli("audit", "log", "export", "--ticket", "GDPR-123").stdout
    assert text.startswith("# Erasure evidence: ticket GDPR-123\n")
    assert f"- Chain head: `{head}`" in text
    assert "- Chain verified: yes" in text
    assert "| job-1 | 42 | eu | oncall@host |" in text
    assert "## Subjects (3: 3 erased, 0 failed, 0 incomplete)" in text
    for person in PEOPLE:
        assert f"| `{person.subject(KEY)}` | {person.id_type} | suppress done at" in text
    assert "jane" not in text.lower()
    assert "cust-42" not in text


def test_export_json_lists_subjects_actions_and_the_chain(run_cli: CliHarness, trail: Path) -> None:
    erase_trail(trail, KEY, [Person("x@example.com", fails=True)], ticket="GDPR-124", job="j2")
    document = run_cli("audit", "log", "export", "--ticket", "GDPR-124", "-f", "json").json
    assert document["ok"] is True
    assert document["workspaces"] == [42]
    assert document["operators"] == ["oncall@host"]
    assert document["counts"] == {
        "erased": 0,
        "failed": 1,
        "incomplete": 0,
        "verified": 0,
        "still_present": 0,
        "unverified": 0,
    }
    (subject,) = document["subjects"]
    assert subject["outcome"] == "failed"
    assert [(a["action"], a["outcome"], a["status"]) for a in subject["actions"]] == [
        ("suppress", "done", 200),
        ("delete", "failed", 500),
    ]
    (job,) = document["jobs"]
    assert job["status"] == "completed"
    assert job["counts"] == {"erased": 0, "failed": 1, "invalid": 0}
    assert document["trail"]["verified"] is True
    assert document["trail"]["records"] == 12
    markdown = run_cli("audit", "log", "export", "--ticket", "GDPR-124").stdout
    assert "delete failed at" in markdown
    assert "(HTTP 500): server error after 5 attempts" in markdown


def test_export_of_an_unknown_ticket_is_a_no(run_cli: CliHarness, trail: Path) -> None:
    outcome = run_cli("audit", "log", "export", "--ticket", "NOPE-1", expect=1)
    assert "No record in the trail names ticket NOPE-1." in outcome.stdout


def test_export_from_a_broken_trail_says_it_does_not_verify(
    run_cli: CliHarness, trail: Path
) -> None:
    lines = rows(trail)
    lines[1] = lines[1].replace('"done"', '"DONE"')
    trail.write_text("".join(lines))
    outcome = run_cli("audit", "log", "export", "--ticket", "GDPR-123", expect=1)
    assert "- Chain verified: NO: line 2, record 2 was altered" in outcome.stdout
    assert "warning: the trail does not verify: line 2" in outcome.stderr


def test_export_incomplete_subject_and_a_trail_option(run_cli: CliHarness, tmp_path: Path) -> None:
    from cio_sec.trail import TrailWriter

    path = tmp_path / "elsewhere.jsonl"
    subject = KEY.pseudonym("half@example.com")
    TrailWriter(path, KEY).append(
        [
            {"type": "action", "job": "j", "ticket": "T|1", "subject": subject, "id_type": "id",
             "action": "suppress", "outcome": "done", "status": None, "reason": None,
             "attempts": 1},
            {"type": "note", "ticket": "T|1", "text": "not part of an erase job"},
        ]
    )  # fmt: skip
    document = run_cli(
        "audit", "log", "export", "--ticket", "T|1", "--trail", str(path), "-f", "json"
    ).json
    assert document["counts"]["incomplete"] == 1
    assert [job["job"] for job in document["jobs"]] == ["j"]
    markdown = run_cli("audit", "log", "export", "--ticket", "T|1", "--trail", str(path)).stdout
    assert "ticket T\\|1" in markdown


def test_export_runs_without_an_end_or_without_a_start(run_cli: CliHarness, tmp_path: Path) -> None:
    from cio_sec.trail import TrailWriter

    path = tmp_path / "runs.jsonl"
    common = {"ticket": "T-9", "workspace": 1, "region": "us", "operator": "op"}
    TrailWriter(path, KEY).append(
        [
            # a trail cut before this job's start (rotated away): its end still counts
            {"type": "job-end", "job": "old", **common, "status": "completed",
             "counts": {"erased": 1, "failed": 0, "invalid": 0}, "duration_s": 1.0},
            {"type": "job-start", "job": "new", **common, "dry_run": True, "resumed": False},
            {"type": "job-start", "job": "new", **common, "dry_run": False, "resumed": True},
        ]
    )  # fmt: skip
    document = run_cli(
        "audit", "log", "export", "--ticket", "T-9", "--trail", str(path), "-f", "json"
    ).json
    old, new = document["jobs"]
    assert [(r["started"], r["status"]) for r in old["runs"]] == [(None, "completed")]
    assert [(r["dry_run"], r["status"], r["ended"]) for r in new["runs"]] == [
        (True, "interrupted", None),
        (False, "unfinished", None),
    ]
    markdown = run_cli("audit", "log", "export", "--ticket", "T-9", "--trail", str(path)).stdout
    assert "| new | 1 |" in markdown
    assert "interrupted (dry run: nothing sent)" in markdown
    assert "| new | 2 |" in markdown
