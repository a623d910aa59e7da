"""The trail package: its reports' exit codes, and an import order that always works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cio_sec import trail
from cio_sec.errors import ExitCode

GOOD = trail.ChainReport(Path("audit.jsonl"), 3, "ab" * 32)
BROKEN = trail.ChainReport(Path("audit.jsonl"), 2, "cd" * 32, trail.ChainBreak(3, "altered"))


def test_a_broken_chain_exits_1_in_every_report_that_carries_it() -> None:
    assert (GOOD.exit_code, BROKEN.exit_code) == (ExitCode.OK, ExitCode.CHECK_FAILED)
    assert trail.TrailView(GOOD, ()).exit_code is ExitCode.OK
    assert trail.TrailView(BROKEN, ({"seq": 1},)).exit_code is ExitCode.CHECK_FAILED
    assert trail.EvidenceReport("T-1", "now", BROKEN, ({"job": "j"},), ()).exit_code == 1


def test_evidence_for_a_ticket_no_record_names_exits_1() -> None:
    assert trail.EvidenceReport("T-1", "now", GOOD, (), ()).exit_code is ExitCode.CHECK_FAILED
    assert trail.EvidenceReport("T-1", "now", GOOD, ({"job": "j"},), ()).exit_code == 0


@pytest.mark.parametrize(
    "first", ["cio_sec.trail", "cio_sec.erase", "cio_sec.purge", "cio_sec.rotate", "cio_sec.audit"]
)
def test_the_trail_and_its_writers_import_in_either_order(first: str) -> None:
    # trail.view reads erase's id types while erase writes through trail.writer.
    code = f"import {first}, cio_sec.trail; print(cio_sec.trail.show.__module__)"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown == "cio_sec.trail.view\n"
