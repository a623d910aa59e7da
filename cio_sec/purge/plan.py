"""What a purge asks for, the names it may remove, its job id and its plan."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from cio_sec.errors import InputError

if TYPE_CHECKING:
    from cio_sec.erase.inputs import InputSpec

MAX_NAME_BYTES = 150
"""Customer.io's limit on an attribute name."""
IDENTIFIERS = frozenset({"id", "email", "cio_id", "anonymous_id"})
"""Identifiers, not attributes: removing them changes who a person is."""


@dataclass(frozen=True)
class PurgeRequest:
    """Everything ``erase --attributes`` was asked to do."""

    attributes: tuple[str, ...]
    spec: InputSpec | None
    """The people from a file or ``--id``; None with ``--all-matching``."""
    ticket: str | None = None
    rate: float = 100.0
    concurrency: int = 16
    max_attempts: int = 8
    dry_run: bool = False
    yes: bool = False
    restart: bool = False
    verify_rate: float = 10.0
    verify_window: float = 600.0
    empty: object = ""
    """The value an identify call sets to remove an attribute: ``""`` or None."""


@dataclass(frozen=True)
class PurgePlan:
    """What the purge will do, shown before anything is sent."""

    job: str
    workspace: str
    region: str
    attributes: tuple[str, ...]
    per_attribute: dict[str, int]
    """How many of the job's people hold each attribute."""
    people: int
    source: str
    ticket: str | None
    rate: float
    dry_run: bool
    resumed: bool
    done: int = 0
    holding_none: int = 0
    """People of the input who hold none of the attributes (nothing is sent for them)."""
    outside_policy: tuple[str, ...] = field(default=())
    """Names the sanitize policy does not drop (purged all the same)."""

    @property
    def left(self) -> int:
        """People still to purge."""
        return self.people - self.done

    def to_json(self) -> dict[str, object]:
        """The JSON form (names and counts, never a value)."""
        return {
            "job": self.job,
            "workspace": self.workspace,
            "region": self.region,
            "attributes": list(self.attributes),
            "per_attribute": dict(self.per_attribute),
            "people": self.people,
            "left": self.left,
            "holding_none": self.holding_none,
            "source": self.source,
            "ticket": self.ticket,
            "rate": self.rate,
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            "outside_policy": list(self.outside_policy),
        }


class PurgeUi(Protocol):
    """What the purge asks of the terminal."""

    def note(self, text: str) -> None:
        """One line on stderr."""

    def show_purge_plan(self, plan: PurgePlan) -> None:
        """The plan, on stderr."""

    def confirm_purge(self, plan: PurgePlan) -> bool:
        """Ask for the typed number of people."""


def parse_attributes(text: str) -> tuple[str, ...]:
    """The attribute names of ``--attributes a,b``: trimmed, once each, in order.

    Raises:
        InputError: no name, an empty name, a name over 150 bytes or with control
            characters, an identifier (``id``, ``email``…) or an internal ``_`` name.
    """
    names = [part.strip() for part in text.split(",")]
    if not any(names):
        raise InputError(
            "--attributes names no attribute",
            hint="give the attribute names separated by commas, e.g. --attributes ssn,card_number",
        )
    for name in names:
        _check_name(name)
    return tuple(dict.fromkeys(names))


def _check_name(name: str) -> None:
    if not name:
        raise InputError("--attributes has an empty name (two commas in a row, or a trailing one)")
    if not name.isprintable():
        raise InputError(f"--attributes: {name!r} has control characters")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise InputError(f"--attributes: a name is longer than {MAX_NAME_BYTES} bytes")
    if name in IDENTIFIERS:
        raise InputError(
            f"--attributes: {name} is an identifier, not an attribute; it is never purged",
            hint="to remove a person entirely, use cio-sec erase without --attributes",
        )
    if name.startswith("_"):
        raise InputError(
            f"--attributes: {name} is an internal attribute (leading _), which Customer.io "
            "does not let anyone search or set"
        )


def purge_job_id(workspace: str, attributes: tuple[str, ...], source: str) -> str:
    """The same workspace, attributes and input give the same job, so a re-run resumes."""
    material = json.dumps(["attribute-purge", workspace, sorted(attributes), source])
    return hashlib.sha256(material.encode()).hexdigest()[:16]
