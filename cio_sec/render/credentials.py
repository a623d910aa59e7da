"""Text rendering of the ``credentials`` results: the table, store problems, the check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from cio_sec.credentials import CheckReport, CredentialsReport
from cio_sec.redact import redact
from cio_sec.render.tables import cell, draw, new_table
from cio_sec.stores.writing import StoredCredential

if TYPE_CHECKING:
    from cio_sec.render.streams import Renderers, Streams


def _render_credentials_report(result: CredentialsReport, streams: Streams) -> None:
    where = result.config_path or "no config file: environment, .env, keyring"
    table = new_table(
        f"Credentials — profile {result.profile}, region {result.region} ({where})",
        ["credential", "source", "version", "value", "fingerprint"],
    )
    for credential in result.credentials:
        data = credential.to_json()
        table.add_row(
            cell(credential.name),
            cell(data["source"] or "not found"),
            cell(data["version"] or "—"),
            cell(data["masked"] or "—"),
            cell(data["fingerprint"] or "—"),
        )
    draw(streams, table)
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
    table = new_table(
        f"Credential check (configured region {result.configured_region})",
        ["credential", "status", "detail"],
    )
    for check in result.checks:
        style = _STATUS_STYLE.get(check.status, "red")
        table.add_row(cell(check.name), Text(check.status, style=style), cell(check.detail))
    draw(streams, table)
    hinted: dict[str, list[str]] = {}  # one hint once, however many checks it applies to
    for check in result.checks:
        if check.hint and check.status != "ok":
            hinted.setdefault(check.hint, []).append(check.name)
    for hint, names in hinted.items():
        streams.message(f"hint ({', '.join(names)}): {hint}")


RENDERERS: Renderers = {
    CredentialsReport: _render_credentials_report,
    StoredCredential: _render_stored_credential,
    CheckReport: _render_check_report,
}
