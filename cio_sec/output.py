"""Rendering results: JSON documents on stdout, Rich text on stdout, messages on stderr.

Rich is imported inside the functions that draw, never at module import, because the CLI
imports this module on every invocation and shell completion must stay cheap.
"""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass
from enum import Enum
from functools import cache, singledispatch
from typing import IO, TYPE_CHECKING, Any, Protocol

from cio_sec.redact import redact

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from rich.console import Console

    from cio_sec.credentials import CheckReport, CredentialsReport, StoredCredential
    from cio_sec.erase import ErasureReport, JobsReport
    from cio_sec.erase.journal import PresentPerson
    from cio_sec.erase.recheck import RecheckReport
    from cio_sec.rotate import RotationReport
    from cio_sec.sanitize import SanitizeReport
    from cio_sec.scan_repo import ScanReport

#: Bumped when any command's JSON changes incompatibly (docs/reference/json-output.md).
SCHEMA_VERSION = 2
_PIPED_WIDTH = 160


def _is_terminal(stream: IO[str]) -> bool:
    return stream.isatty()


class OutputFormat(str, Enum):
    """The ``--format`` choices every command accepts."""

    TEXT = "text"
    JSON = "json"


class Result(Protocol):
    """What every command's core function returns."""

    @property
    def ok(self) -> bool:
        """Whether the answer is "yes"."""

    def to_json(self) -> dict[str, object]:
        """The command-specific part of the JSON document."""


@cache
def _console_class() -> type[Console]:
    """Rich's console, except that a closed stdout is left to the CLI's error boundary.

    Rich would exit 1 by itself, silently, which a script cannot tell from a finding.
    """
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    return _Console


@dataclass(frozen=True)
class Streams:
    """Where data (``out``) and messages (``err``) go, and whether colour is allowed."""

    out: IO[str]
    err: IO[str]
    color: bool = True
    quiet: bool = False
    """``--quiet``: notes and progress bars are left out; errors and results still print."""

    @classmethod
    def system(cls, *, color: bool, quiet: bool = False) -> Streams:
        """The process's stdout and stderr, looked up now (test runners swap them)."""
        return cls(out=sys.stdout, err=sys.stderr, color=color, quiet=quiet)

    @property
    def shows_progress(self) -> bool:
        """Whether a progress bar belongs on stderr: a terminal, and not ``--quiet``."""
        return not self.quiet and _is_terminal(self.err)

    def console(self, *, stderr: bool = False) -> Console:
        """A Rich console on one of the streams; colour follows the TTY and NO_COLOR."""
        stream = self.err if stderr else self.out
        # Piped into a file or CI log, 80 columns would fold every reference in two.
        width = None if _is_terminal(stream) or "COLUMNS" in os.environ else _PIPED_WIDTH
        return _console_class()(
            file=stream,
            width=width,
            no_color=not self.color,
            highlight=False,
            soft_wrap=False,
            emoji=False,
        )

    def message(self, text: str) -> None:
        """Write one redacted line to stderr."""
        self.err.write(redact(text) + "\n")
        self.err.flush()

    def note(self, text: str) -> None:
        """Write one redacted line of chatter to stderr, unless ``--quiet``."""
        if not self.quiet:
            self.message(text)


#: What a failed result says when it cannot say more: its exit code's name and meaning.
_DEFAULT_FAILURE: dict[int, tuple[str, str]] = {
    1: ("CheckFailed", "the check failed; the results in this document say why"),
    2: ("InputError", "the input was refused; the results in this document say why"),
    3: ("ConfigError", "a setting or credential needs fixing; the results say which"),
    4: ("RemoteError", "a remote service failed; the results say which call"),
    5: ("PartialFailureError", "stopped midway; run the same command again to resume"),
    130: ("Interrupted", "interrupted; run the same command again to resume"),
}


def json_document(command: str, result: Result) -> dict[str, Any]:
    """Wrap a result in the stable envelope: ``schema_version``, ``command``, ``ok``.

    A failed result carries the same ``error`` object as a failure that raised, next to
    its partial results.
    """
    if result.ok:
        return _envelope(command, ok=True, **result.to_json())
    return _envelope(command, ok=False, **result.to_json(), error=result_error(result))


def result_error(result: Result) -> dict[str, object]:
    """The ``error`` object of a result that is not ok."""
    code = int(getattr(result, "exit_code", 1))
    default_kind, message = _DEFAULT_FAILURE.get(code, ("CheckFailed", "the command failed"))
    kind: str | None = None
    hint = None
    # A result may say why in ``failure() -> (type or None, message, hint)``.
    describe = getattr(result, "failure", None)
    if callable(describe):
        kind, message, hint = describe()
    return _error(code, kind or default_kind, message, hint)


def _error(exit_code: int, kind: str, message: str, hint: str | None) -> dict[str, object]:
    return {"exit_code": exit_code, "type": kind, "message": message, "hint": hint}


def _envelope(command: str, *, ok: bool, **fields: object) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "command": command, "ok": ok, **fields}


def _write_json(document: dict[str, Any], streams: Streams) -> None:
    """One JSON object on stdout, stdlib-encoded (never through Rich), redacted."""
    import json

    streams.out.write(redact(json.dumps(document, indent=2, sort_keys=True)) + "\n")
    streams.out.flush()


def emit(command: str, result: Result, fmt: OutputFormat, streams: Streams) -> None:
    """Write the result to stdout in the chosen format (redacted either way)."""
    if fmt is OutputFormat.JSON:
        _write_json(json_document(command, result), streams)
        return
    register_renderers(result)
    render_text(result, streams)
    streams.out.flush()  # a closed stdout shows now, not as a stray error at exit


def emit_sarif(result: ScanReport, streams: Streams) -> None:
    """Write a report's SARIF 2.1.0 log on stdout (redacted, like every document)."""
    _write_json(result.to_sarif(), streams)


def emit_error(
    command: str, exit_code: int, kind: str, message: str, hint: str | None, streams: Streams
) -> None:
    """Write a failure as the JSON envelope with ``ok: false`` and an ``error`` object."""
    _write_json(error_document(command, exit_code, kind, message, hint), streams)


def error_document(
    command: str | None, exit_code: int, kind: str, message: str, hint: str | None
) -> dict[str, Any]:
    """The envelope of a failure that left no result: ``ok: false`` and an ``error``."""
    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "ok": False,
        "error": _error(exit_code, kind, message, hint),
    }


@singledispatch
def render_text(result: object, streams: Streams) -> None:
    """Draw a result for people; one registered function per result type."""
    raise NotImplementedError(type(result).__name__)


def register_renderers(result: object | None = None) -> None:
    """Register the text renderers a result needs (all of them without one), once each.

    Only the result's own capability is imported: `scan-repo` must not pay for loading
    erase, its HTTP client and asyncio just to print a table.
    """
    module = type(result).__module__.split(".") if result is not None else []
    package = module[1] if len(module) > 1 and module[0] == "cio_sec" else None
    for name in [package] if package in _RENDERERS else _RENDERERS:
        _register(name)


@cache
def _register(package: str) -> None:
    _RENDERERS[package]()


def _register_credentials() -> None:
    from cio_sec.credentials import CheckReport, CredentialsReport, StoredCredential

    render_text.register(CredentialsReport, _render_credentials_report)
    render_text.register(StoredCredential, _render_stored_credential)
    render_text.register(CheckReport, _render_check_report)


def _register_sanitize() -> None:
    from cio_sec.sanitize import SanitizeReport

    render_text.register(SanitizeReport, _render_sanitize_report)


def _register_scan_repo() -> None:
    from cio_sec.scan_repo import ScanReport

    render_text.register(ScanReport, _render_scan_report)


def _register_webhook() -> None:
    from cio_sec.webhook.render import register as register_webhook

    register_webhook(render_text)


def _register_rotate() -> None:
    from cio_sec.rotate import RotationReport

    render_text.register(RotationReport, _render_rotation_report)


def _register_erase() -> None:
    from cio_sec.erase import ErasureReport, JobsReport
    from cio_sec.erase.recheck import RecheckReport

    render_text.register(ErasureReport, _render_erasure_report)
    render_text.register(JobsReport, _render_jobs_report)
    render_text.register(RecheckReport, _render_recheck_report)


def _register_purge() -> None:
    from cio_sec.purge.render import register as register_purge

    register_purge(render_text)


#: Per capability package (``cio_sec.<name>``), how its result types are drawn.
_RENDERERS: dict[str, Callable[[], None]] = {
    "credentials": _register_credentials,
    "sanitize": _register_sanitize,
    "scan_repo": _register_scan_repo,
    "webhook": _register_webhook,
    "rotate": _register_rotate,
    "erase": _register_erase,
    "purge": _register_purge,
}


_NO_WRAP = frozenset({"credential", "value", "fingerprint", "status", "job", "created"})


def _table(title: str, columns: list[str]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for column in columns:
        # Short identifying columns never wrap; free text folds.
        table.add_column(column, overflow="fold", no_wrap=column in _NO_WRAP)
    return table


def _cell(text: object) -> Any:
    """Untrusted text (paths, references) as a Rich Text, so markup is never interpreted."""
    from rich.text import Text

    return Text(redact("" if text is None else str(text)))


def _print(streams: Streams, renderable: Any, *, stderr: bool = False) -> None:
    streams.console(stderr=stderr).print(renderable)


def _render_credentials_report(result: CredentialsReport, streams: Streams) -> None:
    where = result.config_path or "no config file: environment, .env, keyring"
    table = _table(
        f"Credentials — profile {result.profile}, region {result.region} ({where})",
        ["credential", "source", "version", "value", "fingerprint"],
    )
    for credential in result.credentials:
        data = credential.to_json()
        table.add_row(
            _cell(credential.name),
            _cell(data["source"] or "not found"),
            _cell(data["version"] or "—"),
            _cell(data["masked"] or "—"),
            _cell(data["fingerprint"] or "—"),
        )
    _print(streams, table)
    for credential in result.credentials:
        if not credential.found:
            looked = ", ".join(str(ref) for ref in credential.chain)
            streams.message(f"{credential.name}: not found; looked in {looked}")
    _render_store_problems(result, streams)


def _render_store_problems(result: CredentialsReport, streams: Streams) -> None:
    """One note per unreadable store and reason, naming every credential it affected."""
    affected: dict[tuple[str, str], list[str]] = {}
    hints: list[str] = []
    for credential in result.credentials:
        for problem in credential.problems:
            affected.setdefault((problem.store, problem.reason), []).append(credential.name)
            if problem.hint and problem.hint not in hints:
                hints.append(problem.hint)
    for (store, reason), names in affected.items():
        streams.message(
            f"note: the {store} store could not be read for {', '.join(names)}: {reason}"
        )
    for hint in hints:
        streams.message(f"hint: {hint}")


def _render_stored_credential(result: StoredCredential, streams: Streams) -> None:
    for warning in result.warnings:
        streams.message(f"warning: {warning}")
    kept = " (previous value kept for rollback)" if result.previous_kept else ""
    version = f" as version {result.version}" if result.version else ""
    streams.out.write(
        redact(
            f"stored {result.name} in {result.description}{version}: {result.masked}, "
            f"fingerprint {result.fingerprint}{kept}\n"
        )
    )


_STATUS_STYLE: dict[str, str] = {
    "ok": "green",
    "skipped": "dim",
    "region-mismatch": "yellow",
    "other-workspace": "yellow",
}


def _render_check_report(result: CheckReport, streams: Streams) -> None:
    from rich.text import Text

    table = _table(
        f"Credential check (configured region {result.configured_region})",
        ["credential", "status", "detail"],
    )
    for check in result.checks:
        style = _STATUS_STYLE.get(check.status, "red")
        table.add_row(_cell(check.name), Text(check.status, style=style), _cell(check.detail))
    _print(streams, table)
    hinted: dict[str, list[str]] = {}  # one hint once, however many checks it applies to
    for check in result.checks:
        if check.hint and check.status != "ok":
            hinted.setdefault(check.hint, []).append(check.name)
    for hint, names in hinted.items():
        streams.message(f"hint ({', '.join(names)}): {hint}")


def _render_rotation_report(result: RotationReport, streams: Streams) -> None:
    """The outcome on stdout; the checklist was drawn on stderr as the steps ran."""
    lines = [f"rotate {result.kind} (profile {result.profile}): {result.outcome}"]
    lines += [f"  {name}: new fingerprint {fp}" for name, fp in result.fingerprints.items()]
    if result.old_key_works is not None:
        lines.append(f"  old key works: {'yes' if result.old_key_works else 'no'}")
    streams.out.write(redact("\n".join(lines)) + "\n")
    # Warnings were said on stderr as they arose; JSON lists them again.
    label = "note" if result.ok else ("stopped" if result.exit_code == 5 else "error")
    streams.message(f"{label}: {result.message}")
    if result.hint:
        streams.message(f"hint: {result.hint}")


_LIVENESS_STYLE: dict[str | None, str] = {
    "live": "bold red",
    "revoked": "green",
    "unknown": "yellow",
}


def _render_scan_report(result: ScanReport, streams: Streams) -> None:
    from rich.text import Text

    from cio_sec.scan_repo.report import printable

    columns = ["rule", "location", "commit", "date", "refs", "in HEAD", "fingerprint", "preview"]
    title = f"Customer.io credentials found ({result.source}: {printable(result.root)})"
    table = _table(title, columns)
    if result.verified:
        table.add_column("live?", no_wrap=True)
    history = result.source == "history"
    for finding in result.findings:
        row = [
            _cell(finding.rule),
            _cell(printable(finding.location)),
            _cell(finding.commit[:10] if finding.commit else "—"),
            _cell(finding.author_date[:10] if finding.author_date else "—"),
            _cell(printable(_short_refs(finding.refs)) if history else "—"),
            _cell({True: "yes", False: "no", None: "—"}[finding.in_head]),
            _cell(finding.fingerprint),
            _cell(finding.preview + (" (baseline)" if finding.baselined else "")),
        ]
        if result.verified:
            row.append(
                Text(finding.liveness or "", style=_LIVENESS_STYLE.get(finding.liveness, ""))
            )
        table.add_row(*row)
    if result.findings:
        _print(streams, table)
    summary = result.to_json()["summary"]
    assert isinstance(summary, dict)  # noqa: S101 - built just above, for mypy
    streams.message(
        f"{summary['findings']} finding(s), {summary['new']} new, {summary['baselined']} in the "
        f"baseline; {summary['blobs_scanned']} blob(s), {summary['bytes_scanned']} bytes scanned"
    )
    _render_skipped(result, streams)
    if result.baseline_written:
        streams.message(f"baseline written to {printable(str(result.baseline))}")
    for finding in result.findings:
        if finding.liveness_detail and finding.liveness != "revoked":
            streams.message(
                printable(f"{finding.location}: {finding.liveness}: {finding.liveness_detail}")
            )
    for step in result.next_steps:
        streams.message(step)


_REFS_SHOWN = 2
_REF_PREFIXES = ("refs/heads/", "refs/tags/", "refs/remotes/", "refs/")


def _short_refs(refs: tuple[str, ...]) -> str:
    """Refs as git abbreviates them, branches before tags: ``main, v1.2 +3``.

    ``unreachable`` when no ref reaches the commit (``--include-unreachable`` found it).
    """
    if not refs:
        return "unreachable"
    ranked = sorted(refs, key=lambda ref: (_ref_rank(ref), ref))
    names = [_short_ref(ref) for ref in ranked]
    shown = ", ".join(names[:_REFS_SHOWN])
    hidden = len(names) - _REFS_SHOWN
    return f"{shown} +{hidden}" if hidden > 0 else shown


def _ref_rank(ref: str) -> int:
    """Branches, then tags, then remote branches, then the rest (stash, HEAD)."""
    return next((rank for rank, prefix in enumerate(_REF_PREFIXES) if ref.startswith(prefix)), 3)


def _short_ref(ref: str) -> str:
    prefix = next((prefix for prefix in _REF_PREFIXES if ref.startswith(prefix)), "")
    return ref[len(prefix) :]


_SKIPPED_SHOWN = 5


def _render_skipped(result: ScanReport, streams: Streams) -> None:
    """How many items could not be read in full, and the first few of them."""
    from cio_sec.scan_repo.report import printable

    if not result.skipped:
        return
    streams.message(
        f"warning: {len(result.skipped)} item(s) not scanned in full (damaged, unreadable or "
        "too large); a credential in them would not be found:"
    )
    for item in result.skipped[:_SKIPPED_SHOWN]:
        streams.message(f"  {printable(item.location)}: {printable(item.reason)}")
    if len(result.skipped) > _SKIPPED_SHOWN:
        streams.message(f"  … and {len(result.skipped) - _SKIPPED_SHOWN} more")
    streams.message("hint: --format json lists every one, with its commit")


def _render_sanitize_report(result: SanitizeReport, streams: Streams) -> None:
    """Counts only, never values; stdout when the records went to a file or nowhere."""
    for warning in result.warnings:
        streams.message(f"warning: {warning}")
    if result.key_created:
        streams.note(
            f"note: generated a new pseudonym_key (key id {result.key_id}) in {result.key_source}"
        )
    counts = result.counts
    if counts.invalid:
        examples = "; ".join(result.invalid_examples)
        streams.message(f"warning: skipped {counts.invalid} invalid record(s): {examples}")
    changes = _changes_table(result)
    if result.request.check:
        if counts.changed:
            streams.out.write(
                f"would change {counts.changed_records} of {counts.records} record(s):\n"
            )
            _print(streams, changes)
        else:
            streams.out.write(f"nothing to change in {counts.records} record(s)\n")
        return
    summary = (
        f"sanitised {counts.records} record(s), {counts.changed_records} changed"
        + (f", {counts.invalid} skipped" if counts.invalid else "")
        + ("" if result.data_on_stdout else f" -> {result.request.output}")
    )
    if result.request.report:
        _print(streams, changes, stderr=True)
        streams.message(summary)
    elif not result.data_on_stdout:
        streams.out.write(redact(summary) + "\n")


def _changes_table(result: SanitizeReport) -> Any:
    table = _table(f"Changes (policy: {result.policy_source})", ["attribute", "action", "count"])
    for (path, action), count in sorted(result.counts.changes.items()):
        table.add_row(_cell(path), _cell(action), _cell(count))
    for detector, count in sorted(result.counts.detections.items()):
        table.add_row(_cell(f"(values: {detector})"), _cell("redact"), _cell(count))
    return table


_VERIFY_COLUMNS = ("verified", "still present", "unverified")
_JOB_COLUMNS = (
    "job", "status", "created", "ticket", "workspace", "people", "erased", "failed", "left",
)  # fmt: skip


def _render_erasure_report(result: ErasureReport, streams: Streams) -> None:
    counts = result.counts
    title = f"Erasure job {result.plan.job}: {result.status}"
    if result.plan.dry_run:
        title += " (nothing was sent)"
    table = _table(
        title,
        ["people", "erased", "failed", "invalid", "left", *_VERIFY_COLUMNS],
    )
    table.add_row(
        *(
            _cell(n)
            for n in (
                counts.people,
                counts.erased,
                counts.failed,
                counts.invalid,
                counts.left,
                counts.verified,
                counts.still_present,
                counts.unverified,
            )
        )
    )
    _print(streams, table)
    _render_still_present(result.still_present, streams)
    if result.failed:
        failed = _table("Failed (pseudonymised)", ["subject", "id_type", "action", "reason"])
        for person in result.failed:
            failed.add_row(
                _cell(person.subject),
                _cell(person.id_type),
                _cell(person.action),
                _cell(person.reason),
            )
        _print(streams, failed)
    for row in result.invalid_rows:
        streams.message(f"invalid: line {row.line}: {row.reason}")
    streams.message(f"audit trail: {result.audit_log} (head {result.chain_head or '-'})")
    if result.status == "stopped":
        streams.message("stopped: run the same command again to resume the job")


def _render_still_present(people: Sequence[PresentPerson], streams: Streams) -> None:
    """The erased people the App API still returned, with the likely cause and the fix."""
    from cio_sec.erase.report import still_present_cause

    if not people:
        return
    table = _table("Still present after erasure (pseudonymised)", ["subject", "id_type", "checks"])
    for person in people:
        table.add_row(_cell(person.subject), _cell(person.id_type), _cell(person.checks))
    _print(streams, table)
    for id_type in dict.fromkeys(person.id_type for person in people):
        cause, fix = still_present_cause(id_type)
        streams.message(f"still present ({id_type}): likely cause: {cause}; fix: {fix}")


def _render_recheck_report(result: RecheckReport, streams: Streams) -> None:
    table = _table(
        f"Read-back of erasure job {result.job}", ["erased", "checked", *result.outcomes]
    )
    table.add_row(*(_cell(n) for n in (result.erased, result.checked, *result.outcomes.values())))
    _print(streams, table)
    _render_still_present(result.still_present, streams)
    streams.message(result.summary)
    if result.stopped:
        streams.message("stopped: run the same command again to read the people back")


def _render_jobs_report(result: JobsReport, streams: Streams) -> None:
    table = _table(
        f"Erasure jobs in {result.directory}",
        [*_JOB_COLUMNS, *_VERIFY_COLUMNS],
    )
    for job in result.jobs:
        counts = job.counts
        table.add_row(
            *(
                _cell(value)
                for value in (
                    job.job,
                    job.status,
                    job.created,
                    job.ticket or "-",
                    job.workspace,
                    counts.people,
                    counts.erased,
                    counts.failed,
                    counts.left,
                    counts.verified,
                    counts.still_present,
                    counts.unverified,
                )
            )
        )
    _print(streams, table)
    for job in result.jobs:
        if job.problem is not None:
            streams.message(f"error: {job.problem}")
