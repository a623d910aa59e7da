"""`audit log` on a trail written by the real ``cio-sec erase`` against the sandbox.

The other trail tests use a fast synthetic trail (tests/support/trails.py); this module
checks that the synthetic records have the shape erase really writes, and runs every
tamper case on a trail erase wrote.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from cio_sec.errors import ExitCode
from cio_sec.pseudonym import IdentifierKind, PseudonymKey
from cio_sec.sandbox import Faults, Sandbox
from cio_sec.settings import default_state_dir
from cio_sec.trail import record_hash
from tests.conftest import CANARY
from tests.support.cli import CliHarness
from tests.support.memory_keyring import MemoryKeyring
from tests.support.trails import Person, erase_trail

pytestmark = pytest.mark.slow

KEY = PseudonymKey(CANARY.encode())
OTHER_KEY = PseudonymKey(b"another-pseudonym-key-entirely")
EMAILS = ["Jane@Example.com", "bob@example.com", "carol@example.com"]


def run_erase(
    run_cli: CliHarness, emails: list[str], ticket: str, *extra: str, expect: int = ExitCode.OK
) -> dict[str, Any]:
    ids = Path(f"ids-{ticket}.csv")
    ids.write_text("email\n" + "".join(f"{email}\n" for email in emails))
    return run_cli(
        "erase",
        "--file",
        str(ids),
        "--yes",
        "--ticket",
        ticket,
        *extra,
        "-f",
        "json",
        expect=expect,
    ).json


@pytest.fixture
def trail(run_cli: CliHarness, sandbox: Sandbox) -> Path:
    """The default trail after erase ran one job for three people (without read-backs)."""
    document = run_erase(run_cli, EMAILS, "GDPR-9", "--no-verify")
    assert document["counts"]["erased"] == 3
    path = default_state_dir(os.environ) / "audit.jsonl"
    assert document["audit_log"] == str(path)
    return path


def rows(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def first_break(run_cli: CliHarness, *args: str) -> dict[str, Any]:
    outcome = run_cli("audit", "log", "verify", *args, "-f", "json", expect=ExitCode.CHECK_FAILED)
    return dict(outcome.json["first_break"])


def _shapes(records: list[dict[str, Any]]) -> set[tuple[str, tuple[str, ...]]]:
    return {(record["type"], tuple(sorted(record))) for record in records}


def test_the_synthetic_trail_has_the_shape_erase_writes(trail: Path, tmp_path: Path) -> None:
    real = [json.loads(line) for line in rows(trail)]
    synthetic = erase_trail(tmp_path / "synthetic.jsonl", KEY, [Person(e) for e in EMAILS])
    assert _shapes(real) == _shapes(synthetic)
    assert [r["type"] for r in real] == [r["type"] for r in synthetic]


def test_the_real_trail_verifies_and_answers_for_each_person(
    run_cli: CliHarness, trail: Path
) -> None:
    head = json.loads(rows(trail)[-1])["hash"]
    verified = run_cli("audit", "log", "verify", "--expect-head", head, "-f", "json").json
    assert (verified["verified"], verified["records"], verified["head"]) == (True, 8, head)
    shown = run_cli("audit", "log", "show", "--subject", "JANE@example.com", "-f", "json").json
    assert {(r["action"], r["outcome"]) for r in shown["records"]} == {
        ("suppress", "done"),
        ("delete", "done"),
    }
    evidence = run_cli("audit", "log", "export", "--ticket", "GDPR-9", "-f", "json").json
    assert evidence["counts"] == {
        "erased": 3,
        "failed": 0,
        "incomplete": 0,
        "verified": 0,
        "still_present": 0,
        "unverified": 3,  # --no-verify: nothing was read back
    }
    assert {s["evidence"] for s in evidence["subjects"]} == {"erased, unverified"}
    assert {s["subject"] for s in evidence["subjects"]} == {
        KEY.pseudonym(email, IdentifierKind.EMAIL) for email in EMAILS
    }
    assert evidence["trail"]["verified"] is True
    for email in EMAILS:
        assert email.lower() not in trail.read_text().lower()


@pytest.mark.parametrize(
    ("damage", "line", "problem"),
    [
        ("byte", 4, "record 4 was altered"),
        ("delete", 3, "does not follow"),
        ("swap", 5, "does not follow"),
        ("forge", 9, "record 9 was altered"),
    ],
)
def test_tampering_with_the_real_trail_is_found_at_its_line(
    run_cli: CliHarness, trail: Path, damage: str, line: int, problem: str
) -> None:
    lines = rows(trail)
    if damage == "byte":
        lines[3] = lines[3].replace('"done"', '"dona"', 1)
    elif damage == "delete":
        del lines[2]
    elif damage == "swap":
        lines[4], lines[5] = lines[5], lines[4]
    else:  # a record appended by someone without the key
        last = json.loads(lines[-1])
        forged = {**json.loads(lines[-2]), "seq": last["seq"] + 1, "prev": last["hash"]}
        forged["hash"] = record_hash(forged, OTHER_KEY)
        lines.append(json.dumps(forged) + "\n")
    trail.write_text("".join(lines))
    broken = first_break(run_cli)
    assert broken["line"] == line
    assert problem in broken["problem"]


def test_a_truncated_real_trail_is_found_with_the_recorded_head(
    run_cli: CliHarness, trail: Path
) -> None:
    head = json.loads(rows(trail)[-1])["hash"]
    trail.write_text("".join(rows(trail)[:-2]))
    broken = first_break(run_cli, "--expect-head", head)
    assert broken["line"] == 7
    assert "no longer contains the expected head" in broken["problem"]


def test_a_real_trail_written_with_another_key_does_not_verify(
    run_cli: CliHarness, sandbox: Sandbox, memory_keyring: MemoryKeyring
) -> None:
    """Someone rewrote the whole trail by re-running erase with a key of their own."""
    memory_keyring.set_password("cio-sec", "default/pseudonym_key", "attacker-key-0123456789")
    run_erase(run_cli, EMAILS, "GDPR-9")
    memory_keyring.set_password("cio-sec", "default/pseudonym_key", CANARY)
    broken = first_break(run_cli)
    assert broken["line"] == 1
    assert "unknown key id" in broken["problem"]


def test_evidence_marks_a_job_that_was_only_dry_run(run_cli: CliHarness, sandbox: Sandbox) -> None:
    run_erase(run_cli, EMAILS, "GDPR-10", "--dry-run")
    dry = run_cli("audit", "log", "export", "--ticket", "GDPR-10").stdout
    assert "| completed (dry run: nothing sent) |" in dry
    assert run_cli("audit", "log", "export", "--ticket", "GDPR-10", "-f", "json").json["jobs"][0][
        "dry_run"
    ]
    run_erase(run_cli, EMAILS, "GDPR-10")
    real = run_cli("audit", "log", "export", "--ticket", "GDPR-10").stdout
    jobs, runs = real.split("## Runs")
    assert "dry run" not in jobs  # the job sent requests: it is no dry run any more
    assert "| completed |" in jobs
    # ... and its runs say which one sent nothing, earliest first
    assert runs.index("| 1 |") < runs.index("(dry run: nothing sent)") < runs.index("| 2 |")


def test_evidence_counts_a_person_erased_by_a_restart_after_a_failure(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    """The runbook path: the first run fails for everyone, ``erase --restart`` erases them."""
    # The region lookup gets through; the read-back before erasing and then every
    # person's suppress are refused.
    for email in EMAILS:
        sandbox.add_person(email)
    draws = 2 + len(EMAILS)
    seed = next(s for s in range(1000) if _draws(s, draws) == [True] + [False] * (draws - 1))
    sandbox.set_faults(Faults(error_rate=0.9, error_status=422, seed=seed))
    failed = run_erase(
        run_cli,
        EMAILS,
        "GDPR-11",
        "--max-attempts",
        "1",
        "--concurrency",
        "1",
        expect=ExitCode.CHECK_FAILED,
    )
    assert failed["counts"]["failed"] == len(EMAILS)
    sandbox.set_faults(Faults())
    assert run_erase(run_cli, EMAILS, "GDPR-11", "--restart")["counts"]["erased"] == len(EMAILS)
    evidence = run_cli("audit", "log", "export", "--ticket", "GDPR-11", "-f", "json").json
    assert evidence["counts"] == {
        "erased": len(EMAILS),
        "failed": 0,
        "incomplete": 0,
        "verified": len(EMAILS),
        "still_present": 0,
        "unverified": 0,
    }
    assert all(s["evidence"].startswith("erased, verified at 20") for s in evidence["subjects"])
    outcomes = [a["outcome"] for a in evidence["subjects"][0]["actions"]]
    assert outcomes == ["failed", "done", "done"]  # the failure stays in the evidence
    markdown = run_cli("audit", "log", "export", "--ticket", "GDPR-11").stdout
    assert f"## Subjects ({len(EMAILS)}: {len(EMAILS)} erased, 0 failed, 0 incomplete)" in markdown
    assert f"{len(EMAILS)} verified, 0 still present, 0 unverified" in markdown
    assert "| erased, verified at 20" in markdown


def _draws(seed: int, n: int) -> list[bool]:
    """Whether each of the sandbox's first ``n`` draws at a 0.9 error rate gets through."""
    rng = random.Random(seed)
    return [rng.random() >= 0.9 for _ in range(n)]


def test_show_finds_a_cio_id_given_with_or_without_its_prefix(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    ids = Path("cio-ids.csv")
    ids.write_text("cio_id\ncio_a1b2c3\n")
    run_cli("erase", "--file", str(ids), "--yes", "--ticket", "GDPR-12", "--no-verify")
    for subject in ("cio_a1b2c3", "a1b2c3"):
        shown = run_cli("audit", "log", "show", "--subject", subject, "-f", "json").json
        assert [(r["action"], r["outcome"]) for r in shown["records"]] == [
            ("suppress", "done"),
            ("delete", "done"),
        ], subject
