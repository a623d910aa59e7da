"""``cio-sec erase`` end to end against the sandbox: plans, runs, resumes, evidence."""

from __future__ import annotations

import csv
import io
import os
import random
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cio_sec.cli.erase_ui import TerminalUi, typed_count
from cio_sec.erase import Plan
from cio_sec.errors import ExitCode
from cio_sec.pseudonym import IdentifierKind, PseudonymKey
from cio_sec.render import Streams
from cio_sec.sandbox import Faults, Sandbox
from cio_sec.trail import read_lines, verify_chain
from tests.conftest import CANARY
from tests.support.cli import CliHarness

pytestmark = pytest.mark.slow

KEY = PseudonymKey.from_text(CANARY)


def _csv(path: Path, header: str | None, values: list[str]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow([header])
    writer.writerows([value] for value in values)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _state() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "cio-sec"


def _trail() -> list[dict[str, Any]]:
    return [line.record for line in read_lines(_state() / "audit.jsonl") if line.record]


def _people(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.people()


def test_a_run_erases_everyone_and_leaves_evidence(run_cli: CliHarness, sandbox: Sandbox) -> None:
    values = ["u-1", "u-2", "u-2", "../x", "100%", "😀", "."]
    for value in values:  # suppressing nobody changes nothing
        sandbox.add_person(value)
    ids = _csv(Path("ids.csv"), "customer_id", values)
    out = run_cli("erase", "--file", str(ids), "--yes", "--ticket", "DSR-1", "-f", "json")
    doc = out.json
    assert doc["ok"] is True
    assert doc["status"] == "completed"
    assert doc["counts"] == {
        "people": 6,
        "erased": 6,
        "failed": 0,
        "invalid": 0,
        "left": 0,
        "verified": 6,
        "still_present": 0,
        "unverified": 0,
        "to_verify": 0,
    }
    assert doc["plan"]["workspace"] == "1001"
    assert doc["plan"]["ticket"] == "DSR-1"
    assert doc["audit_log"] == str(_state() / "audit.jsonl")
    assert set(values) <= set(_people(sandbox)["suppressed"])
    assert "plan: erase 6 people" in out.stderr
    records = _trail()
    start, *middle, end = records
    actions = [r for r in middle if r["type"] == "action"]
    checks = [r for r in middle if r["type"] == "verification"]
    assert start["type"] == "job-start"
    assert start["people"] == 6
    assert start["input_sha256"] == doc["plan"]["input_sha256"]
    assert start["operator"].count("@") == 1
    assert (start["dry_run"], start["resumed"], start["api"]) == (False, False, "v1")
    assert end["type"] == "job-end"
    assert end["status"] == "completed"
    assert end["counts"] == {
        "erased": 6,
        "failed": 0,
        "invalid": 0,
        "verified": 6,
        "still_present": 0,
        "unverified": 0,
    }
    assert end["hash"] == doc["chain_head"]
    assert len(actions) == 12
    assert len(middle) == 18
    # One read-back outcome per person, after that person's delete, never a plaintext id.
    assert sorted(c["subject"] for c in checks) == sorted({KEY.pseudonym(v) for v in values})
    assert all(c["outcome"] == "verified" and c["checks"] == 1 for c in checks)
    deleted_at = {a["subject"]: a["seq"] for a in actions if a["action"] == "delete"}
    assert all(c["seq"] > deleted_at[c["subject"]] for c in checks)
    read_back = [r for r in sandbox.requests() if r.method == "GET" and r.identifier]
    # The first read-back comes before erasing: it shows the key can see these people.
    assert read_back[0].identifier == values[0]
    assert sorted(r.identifier or "" for r in read_back[1:]) == sorted(set(values))
    assert {a["subject"] for a in actions} == {KEY.pseudonym(v) for v in values}
    assert all(a["ticket"] == "DSR-1" and a["outcome"] == "done" for a in actions)
    assert verify_chain(_state() / "audit.jsonl", {KEY.key_id: KEY}).ok
    evidence = (_state() / "audit.jsonl").read_bytes() + b"".join(
        path.read_bytes() for path in (_state() / "jobs").iterdir()
    )
    for value in ("u-1", "u-2", "100%", "😀"):
        assert value.encode() not in evidence
        assert value not in out.stdout
        assert value not in out.stderr


def test_batch_api_and_emails_case_insensitively(run_cli: CliHarness, sandbox: Sandbox) -> None:
    for value in ("Ann@Example.com", "a@b.co"):  # suppressing nobody changes nothing
        sandbox.add_person(value)
    ids = _csv(Path("e.csv"), "Email", ["Ann@Example.com", "ann@example.COM", "a@b.co"])
    doc = run_cli("erase", "--file", str(ids), "--yes", "--api", "batch", "-f", "json").json
    assert doc["counts"]["erased"] == 2
    assert {"ann@example.com", "a@b.co"} <= set(_people(sandbox)["suppressed"])
    subjects = {r["subject"] for r in _trail() if r["type"] == "action"}
    assert subjects == {
        KEY.pseudonym("ann@example.com", IdentifierKind.EMAIL),
        KEY.pseudonym("a@b.co", IdentifierKind.EMAIL),
    }


def test_id_values_and_text_output(run_cli: CliHarness, sandbox: Sandbox) -> None:
    for value in ("x1", "x2"):  # suppressing nobody changes nothing
        sandbox.add_person(value)
    out = run_cli("erase", "--id", "x1", "--id", "x2", "--yes")
    assert "Erasure job" in out.stdout
    assert "completed" in out.stdout
    assert "audit trail:" in out.stderr
    assert {"x1", "x2"} <= set(_people(sandbox)["suppressed"])


def test_stdin_input(run_cli: CliHarness, sandbox: Sandbox) -> None:
    doc = run_cli("erase", "--file", "-", "--yes", "-f", "json", input="id\ns1\ns2\n").json
    assert doc["counts"]["erased"] == 2
    assert not list((_state() / "jobs").glob("stdin-*"))
    run_cli("erase", "--file", "-", "--yes", input="email\nnot-an-email\n", expect=ExitCode.USAGE)
    assert not list((_state() / "jobs").glob("stdin-*"))


def test_dry_run_sends_nothing_but_the_region_lookup(run_cli: CliHarness, sandbox: Sandbox) -> None:
    ids = _csv(Path("ids.csv"), "id", ["a", "b"])
    out = run_cli("erase", "--file", str(ids), "--dry-run", "-f", "json")
    assert out.json["status"] == "dry-run"
    assert out.json["counts"]["people"] == 2
    assert [r.path for r in sandbox.requests()] == ["/api/v1/accounts/region"]
    assert not (_state() / "jobs").exists() or not list((_state() / "jobs").glob("*.sqlite"))
    start, end = _trail()
    assert start["dry_run"] is True
    assert end["counts"]["erased"] == 0
    text = run_cli("erase", "--file", str(ids), "--dry-run")
    assert "nothing was sent" in text.stdout
    assert "would erase 2 people" in text.stderr
    assert "api v1 (auto: 2 people, at most 100: a request per action)" in text.stderr


def test_a_bulk_file_is_erased_in_batches_by_default(run_cli: CliHarness, sandbox: Sandbox) -> None:
    values = [f"bulk-{n:03d}" for n in range(250)]
    ids = _csv(Path("ids.csv"), "id", values)
    plan = run_cli("erase", "--file", str(ids), "--dry-run", "-f", "json").json["plan"]
    assert (plan["api"], plan["api_reason"]) == (
        "batch",
        "auto: 250 people in a file, more than 100",
    )
    dry = run_cli("erase", "--file", str(ids), "--dry-run")
    assert "api batch (auto: 250 people in a file, more than 100)" in dry.stderr
    done = run_cli("erase", "--file", str(ids), "--yes", "--no-verify", "-f", "json").json
    assert done["counts"]["erased"] == 250
    erasing = [r.path for r in sandbox.requests() if r.method != "GET"]
    assert set(erasing) == {"/api/v2/batch"}
    assert len(erasing) == 6  # 3 batches of at most 100, to suppress then to delete
    assert set(values) <= set(_people(sandbox)["deleted"])
    explicit = run_cli("erase", "--id", "one", "--api", "batch", "--dry-run", "-f", "json").json
    assert explicit["plan"]["api_reason"] == "--api batch given"


@pytest.mark.parametrize("dry_run", [False, True])
def test_an_account_in_another_region_stops_erase_before_anything_is_sent(
    run_cli: CliHarness, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, dry_run: bool
) -> None:
    keys = sandbox.add_track_keys(workspace_id=2002, region="eu")
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", keys.site_id)
    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", keys.track_api_key)
    ids = _csv(Path("ids.csv"), "id", ["a", "b"])
    args = ["erase", "--file", str(ids), "--yes", *(["--dry-run"] if dry_run else [])]
    out = run_cli(*args, expect=ExitCode.CHECK_FAILED)
    assert (
        "error: Customer.io's region lookup: the account is in region 'eu', but the default "
        "says 'us'"
    ) in out.stderr
    assert "hint: the region defaults to 'us': set CUSTOMERIO_REGION=eu" in out.stderr
    assert [r.path for r in sandbox.requests()] == ["/api/v1/accounts/region"]
    assert sandbox.people(2002)["deleted"] == sandbox.people(2002)["suppressed"] == []
    assert not (_state() / "audit.jsonl").exists()
    assert not (_state() / "jobs").exists() or not list((_state() / "jobs").glob("*.sqlite"))


def test_a_region_lookup_redirected_to_the_other_region_stops_erase(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    sandbox.set_faults(Faults(redirect_rate=1.0))
    out = run_cli("erase", "--id", "a", "--yes", expect=ExitCode.CHECK_FAILED)
    eu_host = sandbox.info.track_url_eu.removeprefix("http://")
    assert f"error: Customer.io redirected the request to {eu_host}: the account is in" in (
        out.stderr
    )
    (lookup,) = sandbox.requests()  # the redirect was not followed; nothing else was sent
    assert (lookup.path, lookup.status in {301, 302}) == ("/api/v1/accounts/region", True)


def test_non_interactive_without_yes_sends_nothing(run_cli: CliHarness, sandbox: Sandbox) -> None:
    out = run_cli("erase", "--id", "a", expect=ExitCode.CONFIG)
    assert "non-interactive" in out.stderr
    assert [r.path for r in sandbox.requests()] == ["/api/v1/accounts/region"]


def test_invalid_input_is_refused_with_line_numbers(run_cli: CliHarness, sandbox: Sandbox) -> None:
    ids = Path("ids.csv")
    ids.write_bytes(b"email\nok@example.com\nnot-an-email\n\xff@x.io\n")
    out = run_cli("erase", "--file", str(ids), "--yes", expect=ExitCode.USAGE)
    assert (
        "ids.csv:3: 2 invalid rows: line 3: not an email address; line 4: not valid UTF-8"
        in out.stderr
    )
    assert sandbox.requests() == []
    doc = run_cli("erase", "--file", str(ids), "--yes", "--skip-invalid", "-f", "json").json
    assert doc["counts"]["invalid"] == 2
    assert doc["invalid_rows"] == [
        {"line": 3, "reason": "not an email address"},
        {"line": 4, "reason": "not valid UTF-8"},
    ]
    text = run_cli("erase", "--file", str(ids), "--yes", "--skip-invalid", "--restart")
    assert "invalid: line 3: not an email address" in text.stderr


@pytest.mark.parametrize(
    "args",
    [(), ("--id", "a", "--file", "x.csv"), ("somejob", "--id", "a")],
)
def test_usage_errors(run_cli: CliHarness, args: tuple[str, ...]) -> None:
    out = run_cli("erase", *args, expect=ExitCode.USAGE)
    assert "give either --file PATH or --id" in out.stderr


def test_a_ticket_that_is_not_utf8_is_refused(run_cli: CliHarness, sandbox: Sandbox) -> None:
    # A command line's bytes that are not UTF-8 reach Python as lone surrogates.
    out = run_cli("erase", "--id", "t1", "--yes", "--ticket", "T-\udcff", expect=ExitCode.USAGE)
    assert "--ticket is not valid UTF-8" in out.stderr
    assert sandbox.requests() == []
    assert not (_state() / "audit.jsonl").exists()


def test_failed_people_are_listed_by_pseudonym(run_cli: CliHarness, sandbox: Sandbox) -> None:
    seed = next(s for s in range(100) if random.Random(s).random() >= 0.5)
    sandbox.set_faults(Faults(error_rate=0.5, error_status=422, seed=seed))
    values = [f"f{n}" for n in range(20)]
    out = run_cli(
        "erase",
        *(a for v in values for a in ("--id", v)),
        "--yes",
        "-f",
        "json",
        expect=ExitCode.CHECK_FAILED,
    )
    doc = out.json
    assert doc["ok"] is False
    failed = doc["failed"]
    assert failed
    assert doc["counts"]["failed"] == len(failed)
    assert doc["error"]["exit_code"] == ExitCode.CHECK_FAILED
    assert doc["error"]["message"] == (
        f"job {doc['job']}: {len(failed)} failed, 0 still present after erasure"
    )
    pseudonyms = {KEY.pseudonym(v) for v in values}
    assert all(
        p["subject"] in pseudonyms and p["reason"] == "HTTP 422 Unprocessable Entity"
        for p in failed
    )
    sandbox.set_faults(Faults())
    rerun = run_cli(
        "erase", *(a for v in values for a in ("--id", v)), "--yes", expect=ExitCode.CHECK_FAILED
    )
    assert f"{len(failed)} person(s) of this job failed earlier" in rerun.stderr
    assert "add --restart" in rerun.stderr
    text = run_cli("erase", "--id", "g1", "--id", "g2", "--yes")
    assert "Failed" not in text.stdout
    sandbox.set_faults(Faults(error_rate=0.5, error_status=422, seed=seed))
    text = run_cli(
        "erase",
        "--id",
        "h1",
        "--id",
        "h2",
        "--id",
        "h3",
        "--id",
        "h4",
        "--yes",
        expect=ExitCode.CHECK_FAILED,
    )
    assert "Failed (pseudonymised)" in text.stdout


def _draws(seed: int, n: int) -> list[bool]:
    """Whether each of the sandbox's first ``n`` fault draws lets a request through."""
    rng = random.Random(seed)
    return [rng.random() >= 0.9 for _ in range(n)]


def test_unreachable_stops_and_the_same_command_resumes(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    ids = _csv(Path("ids.csv"), None, ["r1", "r2", "r3"])
    run_cli(
        "erase",
        "--file",
        str(ids),
        "--yes",
        expect=ExitCode.OK,
    )
    ids = _csv(Path("ids2.csv"), None, ["q1", "q2", "q3"])
    region_ok = next(s for s in range(1000) if _draws(s, 2) == [True, False])
    sandbox.set_faults(Faults(error_rate=0.9, seed=region_ok))
    out = run_cli(
        "erase",
        "--file",
        str(ids),
        "--yes",
        "--max-attempts",
        "1",
        "--concurrency",
        "1",
        expect=ExitCode.REMOTE,
    )
    assert "run the same command again to resume" in out.stderr
    sandbox.set_faults(Faults())
    status = run_cli("erase", "--status", "-f", "json").json["jobs"]
    assert sorted(job["status"] for job in status) == ["completed", "failed"]
    out = run_cli("erase", "--file", str(ids), "--yes", "-f", "json")
    assert "resuming job" in out.stderr
    assert "3 left" in out.stderr
    assert out.json["plan"]["resumed"] is True
    assert out.json["counts"]["erased"] == 3
    starts = [r for r in _trail() if r["type"] == "job-start"]
    assert [s["resumed"] for s in starts] == [False, False, True]
    ends = [r for r in _trail() if r["type"] == "job-end"]
    assert [e["status"] for e in ends] == ["completed", "failed", "completed"]


def _stopped_job(run_cli: CliHarness, sandbox: Sandbox, *args: str) -> None:
    """Start a job whose first erasing request fails for good: everyone stays pending."""
    region_ok = next(s for s in range(1000) if _draws(s, 2) == [True, False])
    sandbox.set_faults(Faults(error_rate=0.9, seed=region_ok))
    run_cli(
        "erase",
        *args,
        "--yes",
        "--max-attempts",
        "1",
        "--concurrency",
        "1",
        "--no-verify",  # no read-back before erasing either: the erasing request gets draw 2
        expect=ExitCode.REMOTE,
    )
    sandbox.set_faults(Faults())


def test_a_batch_job_resumed_with_v1_never_sends_ambiguous_ids(
    run_cli: CliHarness, sandbox: Sandbox
) -> None:
    ids = _csv(Path("ids.csv"), "id", ["plain", "x@y.com", "cio_abc1"])
    _stopped_job(run_cli, sandbox, "--file", str(ids), "--api", "batch")
    out = run_cli(
        "erase",
        "--file",
        str(ids),
        "--yes",
        "--api",
        "v1",
        "--skip-invalid",
        "-f",
        "json",
        expect=ExitCode.CHECK_FAILED,
    )
    assert "resuming job" in out.stderr
    sent = [r.identifier for r in sandbox.requests() if r.identifier and r.method != "GET"]
    assert sent == ["plain", "plain"]
    assert out.json["counts"]["erased"] == 1
    assert sorted((p["subject"], p["action"], p["reason"]) for p in out.json["failed"]) == sorted(
        (
            KEY.pseudonym(value),
            "suppress",
            "an id with @ or a cio_ prefix is ambiguous in v1 paths (use --api batch)",
        )
        for value in ("x@y.com", "cio_abc1")
    )


def test_a_resumed_job_keeps_its_ticket(run_cli: CliHarness, sandbox: Sandbox) -> None:
    ids = _csv(Path("ids.csv"), None, ["q1", "q2", "q3"])
    _stopped_job(run_cli, sandbox, "--file", str(ids), "--ticket", "GDPR-1")
    sent = len(sandbox.requests())
    out = run_cli("erase", "--file", str(ids), "--yes", "--ticket", "GDPR-2", expect=ExitCode.USAGE)
    assert "was started with ticket GDPR-1; a resumed job keeps its ticket" in out.stderr
    assert [r.path for r in sandbox.requests()[sent:]] == ["/api/v1/accounts/region"]
    doc = run_cli("erase", "--file", str(ids), "--yes", "-f", "json").json
    assert doc["plan"]["resumed"] is True
    assert doc["plan"]["ticket"] == "GDPR-1"
    tickets = [r["ticket"] for r in _trail() if r["type"] in ("action", "job-start", "job-end")]
    assert len(tickets) == 2 + 6 + 2
    assert set(tickets) == {"GDPR-1"}
    evidence = run_cli("audit", "log", "export", "--ticket", "GDPR-1", "-f", "json").json
    assert len(evidence["subjects"]) == 3


def test_status_lists_jobs_and_one_job(run_cli: CliHarness, sandbox: Sandbox) -> None:
    empty = run_cli("erase", "--status", "-f", "json").json
    assert empty["jobs"] == []
    doc = run_cli("erase", "--id", "s1", "--yes", "--ticket", "T-9", "-f", "json").json
    job = doc["job"]
    listed = run_cli("erase", "--status", job, "-f", "json").json["jobs"]
    assert [(j["job"], j["status"], j["ticket"], j["counts"]["erased"]) for j in listed] == [
        (job, "completed", "T-9", 1)
    ]
    text = run_cli("erase", "--status")
    assert job in text.stdout
    assert "T-9" in text.stdout
    out = run_cli("erase", "--status", "nope", expect=ExitCode.USAGE)
    assert "no erasure job 'nope'" in out.stderr


def test_restart_starts_over(run_cli: CliHarness, sandbox: Sandbox) -> None:
    run_cli("erase", "--id", "a1", "--yes")
    out = run_cli("erase", "--id", "a1", "--yes", "-f", "json")
    assert "resuming job" in out.stderr
    assert "1 done, 0 left" in out.stderr
    again = run_cli("erase", "--id", "a1", "--yes", "--restart", "-f", "json")
    assert again.json["plan"]["resumed"] is False
    actions = [r for r in _trail() if r["type"] == "action"]
    assert len(actions) == 4  # the restarted job erased again; the resumed one had nothing left
    runs = [a["run"] for a in actions]
    assert runs[0] == runs[1] != runs[2] == runs[3]  # --restart starts a new run
    assert all(isinstance(run, str) and len(run) == 16 for run in runs)


# --------------------------------------------------------------------------- the terminal UI


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _plan(**changes: Any) -> Plan:
    fields: dict[str, Any] = {
        "job": "j",
        "workspace": 1,
        "region": "us",
        "people": 3,
        "invalid": 0,
        "ticket": None,
        "api": "v1",
        "rate": 100.0,
        "input_sha256": "0" * 64,
        "source": "ids.csv",
    }
    return Plan(**{**fields, **changes})


def test_the_confirmation_wants_the_number_typed() -> None:
    ui = TerminalUi(Streams(io.StringIO(), io.StringIO()))
    runner = CliRunner()
    with runner.isolation(input="3\n"):
        assert ui.confirm(_plan())
    with runner.isolation(input="yes\n"):
        assert not ui.confirm(_plan())


def test_a_progress_bar_only_on_a_terminal() -> None:
    err = Tty()
    ui = TerminalUi(Streams(io.StringIO(), err, color=False))
    ui.progress_start(10, 2)
    ui.progress(3, 1)
    ui.progress(5, 1)
    ui.progress_stop()
    ui.progress_stop()
    assert "erasing" in err.getvalue()
    assert "8/10" in err.getvalue()
    piped = io.StringIO()
    quiet = TerminalUi(Streams(io.StringIO(), piped))
    quiet.progress_start(10, 0)
    quiet.progress(1, 0)
    quiet.progress_stop()
    assert piped.getvalue() == ""


def test_require_consent_refuses_a_wrong_answer() -> None:
    from cio_sec.erase.inputs import InputSpec
    from cio_sec.erase.plan import ErasureRequest, require_consent
    from cio_sec.errors import ConfigError

    class No:
        def confirm(self, plan: Plan) -> bool:
            return False

    with pytest.raises(ConfigError, match="not confirmed; nothing was sent"):
        require_consent(_plan(), ErasureRequest(InputSpec(ids=("a",))), No(), non_interactive=False)  # type: ignore[arg-type]


def test_require_consent_accepts_the_typed_number() -> None:
    from cio_sec.erase.inputs import InputSpec
    from cio_sec.erase.plan import ErasureRequest, require_consent

    class Yes:
        def confirm(self, plan: Plan) -> bool:
            return True

    request = ErasureRequest(InputSpec(ids=("a",)))
    require_consent(_plan(), request, Yes(), non_interactive=False)  # type: ignore[arg-type]


@pytest.mark.timeout(120)
def test_the_confirmation_prompt_on_a_terminal_reads_cleanly(sandbox: Sandbox) -> None:
    """A real pseudo-terminal: the prompt has no empty default ``[]``, and typing 1 erases."""
    import pty
    import subprocess
    import sys

    sandbox.add_person("p1")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "cio_sec", "erase", "--id", "p1"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "CIO_SEC_PSEUDONYM_KEY": "f" * 64},
    )
    os.close(terminal)
    seen = b""
    try:
        while b"to go ahead" not in seen:
            chunk = os.read(controller, 4096)
            assert chunk, seen
            seen += chunk
        while not seen.endswith(b": "):
            seen += os.read(controller, 4096)
        os.write(controller, b"1\n")
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        assert process.wait(timeout=50) == 0, seen
    finally:
        process.kill()
        process.wait()
        os.close(controller)
    assert b"Type the number of people to erase (1) to go ahead: " in seen
    assert b"[]" not in seen
    assert "p1" in _people(sandbox)["deleted"]


@pytest.mark.parametrize("verb", ["erase", "purge"])
def test_the_typed_confirmation_shows_no_empty_default(verb: str) -> None:
    runner = CliRunner()
    with runner.isolation(input="\n") as (_out, err, _mixed):
        assert not typed_count(verb, 3)  # Enter alone declines
        shown = err.getvalue().decode()
    assert shown == f"Type the number of people to {verb} (3) to go ahead:"
    with runner.isolation(input="3\n"):
        assert typed_count(verb, 3)
