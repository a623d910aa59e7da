"""``cio-sec erase status [JOB]`` and its documented alias ``erase --status [JOB]``.

Both spellings must print the same bytes on both streams and exit with the same code, in
text and JSON, for erasure jobs and for attribute purges (``--attributes``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from cio_sec.cli.erase import STATUS_WORD, ApiChoice
from cio_sec.erase import Api
from cio_sec.errors import ExitCode
from cio_sec.sandbox import Sandbox
from tests.support.cli import CliHarness, CliOutcome

FAST = ("--verify-rate", "1000", "--rate", "2000")


def _jobs() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "cio-sec" / "jobs"


def _suppressed(sandbox: Sandbox) -> set[str]:
    people: dict[str, Any] = sandbox.people()
    return set(people["suppressed"])


def _both(run_cli: CliHarness, *args: str, expect: int = ExitCode.OK) -> CliOutcome:
    """Run ``erase status ARGS`` and ``erase --status ARGS``; they must agree byte for byte."""
    word = run_cli("erase", STATUS_WORD, *args, expect=expect)
    flag = run_cli("erase", "--status", *args, expect=expect)
    assert (word.stdout, word.stderr) == (flag.stdout, flag.stderr)
    return word


def test_the_subcommand_and_the_flag_list_the_same_jobs(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    assert _both(run_cli, "-f", "json").json["jobs"] == []
    first = run_cli("erase", "--id", "s1", "--yes", "--ticket", "T-1", "-f", "json").json["job"]
    second = run_cli("erase", "--id", "s2", "--yes", "--ticket", "T-2", "-f", "json").json["job"]

    listed = _both(run_cli, "-f", "json").json["jobs"]
    assert sorted((job["job"], job["ticket"]) for job in listed) == sorted(
        [(first, "T-1"), (second, "T-2")]
    )
    text = _both(run_cli).stdout
    assert first in text
    assert second in text

    (one,) = _both(run_cli, first, "-f", "json").json["jobs"]
    assert (one["job"], one["status"], one["counts"]["erased"]) == (first, "completed", 1)
    only = _both(run_cli, first).stdout
    assert first in only
    assert second not in only


def test_both_spellings_refuse_the_same_way(run_cli: CliHarness, sandbox: Sandbox) -> None:
    job = run_cli("erase", "--id", "s1", "--yes", "-f", "json").json["job"]
    unknown = _both(run_cli, "0123456789abcdef", expect=ExitCode.USAGE)
    assert "no erasure job '0123456789abcdef'" in unknown.stderr
    extra = _both(run_cli, job, "extra", expect=ExitCode.USAGE)
    assert "--status takes at most one JOB" in extra.stderr


def test_a_damaged_journal_exits_3_in_both_spellings(run_cli: CliHarness, sandbox: Sandbox) -> None:
    run_cli("erase", "--id", "s1", "--yes")
    damaged = _jobs() / "notes.sqlite"
    damaged.write_text("not a journal\n" * 50)
    doc = _both(run_cli, "-f", "json", expect=ExitCode.CONFIG).json
    assert doc["ok"] is False
    assert {job["status"] for job in doc["jobs"]} == {"completed", "damaged"}
    text = _both(run_cli, expect=ExitCode.CONFIG)
    assert "notes" in text.stdout


def test_the_subcommand_lists_attribute_purges_as_the_flag_does(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    sandbox.add_person("p1", {"ssn": "900-00-0001"})
    run_cli("erase", "--attributes", "ssn", "--all-matching", "--yes", "--ticket", "T-7", *FAST)
    (job,) = _both(run_cli, "--attributes", "ssn", "-f", "json").json["jobs"]
    assert (job["status"], job["ticket"], job["attributes"]) == ("completed", "T-7", ["ssn"])
    assert "ticket T-7" in _both(run_cli, "--attributes", "ssn").stdout
    assert _both(run_cli, "--attributes", "card_number", "-f", "json").json["jobs"] == []


def test_a_file_named_status_is_erased_with_file(run_cli: CliHarness, sandbox: Sandbox) -> None:
    """The input file is always ``--file``: a file called "status" is never the subcommand."""
    sandbox.add_person("in-the-file")
    Path(STATUS_WORD).write_text("in-the-file\n", encoding="utf-8")
    doc = run_cli("erase", "--file", STATUS_WORD, "--yes", "-f", "json").json
    assert doc["status"] == "completed"
    assert doc["counts"]["erased"] == 1
    assert "in-the-file" in _suppressed(sandbox)
    (listed,) = run_cli("erase", STATUS_WORD, "-f", "json").json["jobs"]
    assert listed["job"] == doc["job"]


def test_the_word_status_erases_nobody(run_cli: CliHarness, sandbox: Sandbox) -> None:
    sandbox.add_person("status")
    run_cli("erase", STATUS_WORD, "-f", "json")
    assert "status" not in _suppressed(sandbox)
    assert sandbox.requests() == []


def test_the_flag_still_takes_any_word_as_its_job(run_cli: CliHarness) -> None:
    """``erase --status status`` looks up a job named "status", as it always did."""
    out = run_cli("erase", "--status", STATUS_WORD, expect=ExitCode.USAGE)
    assert "no erasure job 'status'" in out.stderr


def test_help_documents_both_spellings(run_cli: CliHarness) -> None:
    help_text = run_cli("erase", "--help").stdout
    assert "cio-sec erase status 3f2a9c0e1d2b4a58" in help_text
    assert "cio-sec erase --status" in help_text
    assert "   or: cio-sec erase status [OPTIONS] [JOB]\n" in help_text


@pytest.mark.parametrize("member", list(Api))
def test_the_api_choice_mirrors_the_core_enum(member: Api) -> None:
    """The CLI keeps its own copy so that start-up never imports the erase core."""
    assert ApiChoice(member.value).value == member.value
    assert [choice.value for choice in ApiChoice] == [api.value for api in Api]
