"""``erase --attributes`` refusing bad input, and every way a purge can end short."""

from __future__ import annotations

import io
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from typer.testing import CliRunner

from cio_sec import purge
from cio_sec.cli.erase_ui import PurgeTerminalUi
from cio_sec.errors import ConfigError, ExitCode, InputError
from cio_sec.purge import PurgePlan, PurgeRequest
from cio_sec.purge.job import _Purge
from cio_sec.render import Streams
from cio_sec.sandbox import Faults, Sandbox
from tests.purge.test_purge_cli import FAST, _by_id
from tests.support.cli import CliHarness

pytestmark = pytest.mark.slow

PURGE = ("erase", "--attributes")


def _journals() -> list[Path]:
    directory = Path(os.environ["XDG_STATE_HOME"]) / "cio-sec" / "purges"
    return sorted(directory.glob("*.sqlite")) if directory.is_dir() else []


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ("", "--attributes names no attribute"),
        (" , ", "--attributes names no attribute"),
        ("ssn,,card_number", "an empty name"),
        ("ssn,", "an empty name"),
        ("id", "id is an identifier, not an attribute"),
        ("email", "email is an identifier"),
        ("_last_seen", "internal attribute"),
        ("ss\tn", "control characters"),
        ("x" * 151, "longer than 150 bytes"),
    ],
)
def test_bad_attribute_names_are_refused_before_anything_is_sent(
    run_cli: CliHarness, sandbox: Sandbox, names: str, message: str
) -> None:
    out = run_cli(*PURGE, names, "--all-matching", "--yes", expect=ExitCode.USAGE)
    assert message in out.stderr
    assert sandbox.requests() == []


@pytest.mark.parametrize(
    "args",
    [
        ("erase", "--all-matching", "--yes"),
        (*PURGE, "ssn", "--yes"),
        (*PURGE, "ssn", "--all-matching", "--id", "a", "--yes"),
        (*PURGE, "ssn", "--all-matching", "extra-word", "--yes"),
        (*PURGE, "ssn", "--file", "-", "--yes"),
    ],
)
def test_where_the_people_come_from_must_be_said_once(
    run_cli: CliHarness, sandbox: Sandbox, args: tuple[str, ...]
) -> None:
    out = run_cli(*args, expect=ExitCode.USAGE)
    assert out.stderr.startswith("error: ")
    assert sandbox.requests() == []


def test_a_name_the_policy_does_not_drop_is_purged_with_a_note(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    sandbox.add_person("a", {"favourite_colour": "teal", "ssn": "900-00-0001"})
    out = run_cli(*PURGE, "favourite_colour,ssn", "--all-matching", "--yes", "-f", "json", *FAST)
    assert "note: the sanitize policy does not drop favourite_colour" in out.stderr
    assert out.json["plan"]["outside_policy"] == ["favourite_colour"]
    assert _by_id(sandbox)["a"]["attributes"] == {}


def test_a_purge_that_did_not_take_is_still_present(run_cli: CliHarness, sandbox: Sandbox) -> None:
    sandbox.add_person("a", {"ssn": "900-00-0001"})
    sandbox.set_faults(Faults(ignore_update_rate=1.0))
    out = run_cli(
        *PURGE, "ssn", "--all-matching", "--yes", "--ticket", "INC-1", "-f", "json",
        "--verify-window", "0", *FAST, expect=ExitCode.CHECK_FAILED,
    )  # fmt: skip
    assert out.json["counts"]["still_present"] == 1
    error = out.json["error"]
    assert (error["exit_code"], error["type"]) == (1, "CheckFailed")
    assert error["message"].endswith(": 0 failed, 1 still holding the attributes after the purge")
    evidence = run_cli("audit", "log", "export", "--ticket", "INC-1", "-f", "json").json
    (subject,) = evidence["subjects"]
    assert subject["verification"] == "still-present"
    assert subject["evidence"].startswith("attributes ssn removed, but still present at ")
    markdown = run_cli("audit", "log", "export", "--ticket", "INC-1").stdout
    assert "1 attributes purged" in markdown


def test_nothing_is_sent_without_confirmation(run_cli: CliHarness, sandbox: Sandbox) -> None:
    sandbox.add_person("a", {"ssn": "900-00-0001"})
    out = run_cli(*PURGE, "ssn", "--all-matching", expect=ExitCode.CONFIG)
    assert "non-interactive" in out.stderr
    assert not [r for r in sandbox.requests() if r.method == "PUT"]


def test_the_confirmation_wants_the_number_typed() -> None:
    err = io.StringIO()
    ui = PurgeTerminalUi(Streams(io.StringIO(), err))
    plan = PurgePlan(
        job="j", workspace="1", region="us", attributes=("ssn",), per_attribute={"ssn": 3},
        people=3, source="all-matching", ticket=None, rate=10, dry_run=False, resumed=False,
    )  # fmt: skip
    ui.show_purge_plan(plan)
    assert "plan: remove ssn (3) from 3 people" in err.getvalue()
    runner = CliRunner()
    with runner.isolation(input="3\n"):
        assert ui.confirm_purge(plan)
    with runner.isolation(input="yes\n"):
        assert not ui.confirm_purge(plan)


def test_a_refused_confirmation_sends_nothing() -> None:
    class Refuses:
        def note(self, text: str) -> None:
            raise AssertionError(text)

        def show_purge_plan(self, plan: PurgePlan) -> None:
            raise AssertionError(plan)

        def confirm_purge(self, plan: PurgePlan) -> bool:
            return False

    settings = SimpleNamespace(non_interactive=False)
    run = _Purge(
        PurgeRequest(("ssn",), None), cast("Any", settings), cast("Any", None), Refuses(), None
    )
    plan = PurgePlan(
        job="j", workspace="1", region="us", attributes=("ssn",), per_attribute={"ssn": 1},
        people=1, source="all-matching", ticket=None, rate=10, dry_run=False, resumed=False,
    )  # fmt: skip
    with pytest.raises(ConfigError, match="not confirmed; nothing was sent"):
        run._consent(plan)
    Refuses.confirm_purge = lambda self, plan: True  # type: ignore[method-assign]
    run._consent(plan)  # confirmed: nothing to raise


def test_a_stopped_purge_keeps_its_ticket_and_resumes(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    for n in range(5):
        sandbox.add_person(f"p{n}", {"ssn": f"900-00-000{n}"})
    # Half the requests fail: lookups and searches retry through it, the identify calls
    # (one attempt each) stop the job at the first failure.
    sandbox.set_faults(Faults(error_rate=0.5, error_status=503, seed=1))
    args = (*PURGE, "ssn", "--all-matching", "--yes", "--max-attempts", "1", *FAST)
    out = run_cli(*args, "--ticket", "T-1", expect=ExitCode.REMOTE)
    assert "run the same command again to resume" in out.stderr
    sandbox.set_faults(Faults())
    status = run_cli("erase", "--status", "--attributes", "ssn", "-f", "json").json
    (job,) = status["jobs"]
    assert job["status"] == "stopped"
    assert job["ticket"] == "T-1"
    assert job["attributes"] == ["ssn"]
    out = run_cli(*args, "--ticket", "T-2", expect=ExitCode.USAGE)
    assert "was started with ticket T-1" in out.stderr
    doc = run_cli(*args, "-f", "json").json
    assert doc["plan"]["resumed"] is True
    assert doc["plan"]["ticket"] == "T-1"
    assert doc["counts"]["verified"] == 5
    text = run_cli("erase", "--status", "--attributes", "ssn").stdout
    assert "completed" in text
    assert "ticket T-1" in text
    # Run again once complete: a new run, which finds nobody left to purge.
    again = run_cli(*args, "-f", "json").json
    assert again["plan"]["resumed"] is False
    assert again["counts"]["people"] == 0
    assert (
        run_cli("erase", "--status", "--attributes", "card_number", "-f", "json").json["jobs"] == []
    )


def test_a_damaged_journal_is_listed_and_refused(run_cli: CliHarness, sandbox: Sandbox) -> None:
    sandbox.add_person("a", {"ssn": "900-00-0001"})
    run_cli(*PURGE, "ssn", "--all-matching", "--yes", *FAST)
    (journal,) = _journals()
    journal.write_bytes(b"not a database" * 100)
    status = run_cli("erase", "--status", "--attributes", "ssn", "-f", "json", expect=3).json
    (job,) = status["jobs"]
    assert job["status"] == "damaged"
    assert "damaged" in cast("str", job["problem"])
    out = run_cli("erase", "--status", "--attributes", "ssn", expect=3)
    assert "damaged" in out.stdout
    out = run_cli(*PURGE, "ssn", "--all-matching", "--yes", *FAST, expect=ExitCode.CONFIG)
    assert "damaged" in out.stderr
    run_cli(*PURGE, "ssn", "--all-matching", "--yes", "--restart", *FAST)


def test_no_app_api_key_stops_before_anything_is_sent(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUSTOMERIO_APP_API_KEY")
    out = run_cli(*PURGE, "ssn", "--all-matching", "--yes", expect=ExitCode.CONFIG)
    assert "app_api_key" in out.stderr
    assert not [r for r in sandbox.requests() if r.method == "PUT"]


def test_null_can_remove_instead_of_the_empty_string(
    run_cli: CliHarness, sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.add_person("a@example.com", {"ssn": "900-00-0001"})
    ids = tmp_path / "people.csv"
    ids.write_text("email\nA@Example.com\n")
    doc = run_cli(
        *PURGE, "ssn", "--file", str(ids), "--unset-with", "null", "--yes", "-f", "json", *FAST
    ).json
    assert doc["counts"]["verified"] == 1
    bodies = [r for r in sandbox.requests() if r.method == "PUT"]
    assert len(bodies) == 1
    people = cast("list[dict[str, Any]]", sandbox.people()["people"])
    assert people[0]["attributes"] == {}


def test_text_output_names_counts_per_attribute(run_cli: CliHarness, sandbox: Sandbox) -> None:
    sandbox.add_person("a", {"ssn": "900-00-0001"})
    out = run_cli(*PURGE, "ssn", "--all-matching", "--dry-run", *FAST)
    assert "Attribute purge" in out.stdout
    assert "(nothing was sent)" in out.stdout
    assert "  ssn: 1 people" in out.stdout
    assert "900-00-0001" not in out.stdout + out.stderr
    listing = run_cli("erase", "--status", "--attributes", "ssn").stdout
    assert "(none)" in listing


def test_a_ticket_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    request = PurgeRequest(attributes=("ssn",), spec=None, ticket="T-\udcff")
    with pytest.raises(InputError, match="not valid UTF-8"):
        purge.run(request, cast("Any", None), cast("Any", None), cast("Any", None))
