"""Rendering results: JSON documents on stdout, Rich text on stdout, messages on stderr.

Rich is imported inside the functions that draw, never at module import, because the CLI
imports this module on every invocation and shell completion must stay cheap.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from enum import Enum
from functools import cache, singledispatch
from typing import IO, TYPE_CHECKING, Any, Protocol

from cio_sec.redact import redact

if TYPE_CHECKING:
    from rich.console import Console

    from cio_sec.credentials import CheckReport, CredentialsReport, StoredCredential
    from cio_sec.erase import ErasureReport, JobsReport

SCHEMA_VERSION = 1
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


@dataclass(frozen=True)
class Streams:
    """Where data (``out``) and messages (``err``) go, and whether colour is allowed."""

    out: IO[str]
    err: IO[str]
    color: bool = True

    @classmethod
    def system(cls, *, color: bool) -> Streams:
        """The process's stdout and stderr, looked up now (test runners swap them)."""
        return cls(out=sys.stdout, err=sys.stderr, color=color)

    def console(self, *, stderr: bool = False) -> Console:
        """A Rich console on one of the streams; colour follows the TTY and NO_COLOR."""
        from rich.console import Console

        stream = self.err if stderr else self.out
        # Piped into a file or CI log, 80 columns would fold every reference in two.
        width = None if _is_terminal(stream) or "COLUMNS" in os.environ else _PIPED_WIDTH
        return Console(
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


def json_document(command: str, result: Result) -> dict[str, Any]:
    """Wrap a result in the stable envelope: ``schema_version``, ``command``, ``ok``."""
    return _envelope(command, ok=result.ok, **result.to_json())


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
    register_renderers()
    render_text(result, streams)


def emit_error(
    command: str, exit_code: int, kind: str, message: str, hint: str | None, streams: Streams
) -> None:
    """Write a failure as the JSON envelope with ``ok: false`` and an ``error`` object."""
    error = {"exit_code": exit_code, "type": kind, "message": message, "hint": hint}
    _write_json(_envelope(command, ok=False, error=error), streams)


@singledispatch
def render_text(result: object, streams: Streams) -> None:
    """Draw a result for people; one registered function per result type."""
    raise NotImplementedError(type(result).__name__)


@cache
def register_renderers() -> None:
    """Register the text renderers of the result types, once, on first use.

    Done lazily so that importing this module does not import every capability module.
    """
    from cio_sec.credentials import CheckReport, CredentialsReport, StoredCredential

    render_text.register(CredentialsReport, _render_credentials_report)
    render_text.register(StoredCredential, _render_stored_credential)
    render_text.register(CheckReport, _render_check_report)

    from cio_sec.erase import ErasureReport, JobsReport

    render_text.register(ErasureReport, _render_erasure_report)
    render_text.register(JobsReport, _render_jobs_report)


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
        ["credential", "source", "value", "fingerprint"],
    )
    for credential in result.credentials:
        data = credential.to_json()
        table.add_row(
            _cell(credential.name),
            _cell(data["source"] or "not found"),
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
    affected: dict[tuple[str, str, str | None], list[str]] = {}
    for credential in result.credentials:
        for problem in credential.problems:
            reason = problem.message.rsplit(": ", 1)[-1]
            key = (problem.ref.scheme, reason, problem.hint)
            affected.setdefault(key, []).append(credential.name)
    for (scheme, reason, hint), names in affected.items():
        streams.message(
            f"note: the {scheme} store could not be read for {', '.join(names)}: {reason}"
        )
        if hint:
            streams.message(f"hint: {hint}")


def _render_stored_credential(result: StoredCredential, streams: Streams) -> None:
    for warning in result.warnings:
        streams.message(f"warning: {warning}")
    kept = " (previous value kept for rollback)" if result.previous_kept else ""
    streams.out.write(
        redact(
            f"stored {result.name} in {result.description}: {result.masked}, "
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
    for check in result.checks:
        if check.hint and check.status != "ok":
            streams.message(f"hint ({check.name}): {check.hint}")


def _render_erasure_report(result: ErasureReport, streams: Streams) -> None:
    counts = result.counts
    title = f"Erasure job {result.plan.job}: {result.status}"
    if result.plan.dry_run:
        title += " (nothing was sent)"
    table = _table(title, ["people", "erased", "failed", "invalid", "left"])
    table.add_row(
        *(
            _cell(n)
            for n in (counts.people, counts.erased, counts.failed, counts.invalid, counts.left)
        )
    )
    _print(streams, table)
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


def _render_jobs_report(result: JobsReport, streams: Streams) -> None:
    table = _table(
        f"Erasure jobs in {result.directory}",
        ["job", "status", "created", "ticket", "workspace", "people", "erased", "failed", "left"],
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
                )
            )
        )
    _print(streams, table)
