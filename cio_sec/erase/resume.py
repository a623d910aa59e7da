"""What carries over from one run of an erasure job to the next: ticket, reach answer, hint."""

from __future__ import annotations

import contextlib
from pathlib import Path

from cio_sec.erase.journal import Journal
from cio_sec.erase.reach import kept_answer
from cio_sec.errors import CioSecError, InputError


def resumed_ticket(job: str, journal: Journal, given: str | None) -> str | None:
    """The ticket a resumed job was started with; the trail keeps recording under it.

    Raises:
        InputError: ``--ticket`` names a different ticket.
    """
    stored = journal.meta().get("ticket") or None
    if given is not None and given != stored:
        started = f"ticket {stored}" if stored else "no ticket"
        raise InputError(
            f"job {job} was started with {started}; a resumed job keeps its ticket",
            hint="leave --ticket out (or give the same one) to resume, "
            "or add --restart to start the job over under the new ticket",
        )
    return stored


def kept_reach(path: Path, app_key_id: str) -> dict[str, str]:
    """The reach answer of a journal about to be replaced; none when it cannot be read."""
    if not app_key_id or not path.exists():
        return {}
    try:
        old = Journal.open_readonly(path)
    except CioSecError:
        return {}
    try:
        return kept_answer(old.meta(), app_key_id)
    except CioSecError:
        return {}
    finally:
        old.close()


def remove_journal(path: Path) -> None:
    """Delete a journal and its WAL files (``--restart``)."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def resumable(error: CioSecError, job: str) -> CioSecError:
    """The error, its hint saying the job is saved and resumes."""
    error.hint = (
        f"{error.hint + '; ' if error.hint else ''}job {job} is saved: run the same command "
        "again to resume"
    )
    return error
