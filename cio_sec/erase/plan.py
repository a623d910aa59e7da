"""What an erasure will do, before it does it: the request, the job id, the plan, consent."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Final, Protocol

from cio_sec.bounds import DEFAULT_VERIFY_WINDOW
from cio_sec.erase.inputs import InputSpec, InputSummary
from cio_sec.erase.journal import ACTIONS
from cio_sec.errors import ConfigError, InteractionRequiredError


class Api(str, Enum):
    """Which Track API erases: one request per action, or v2 batches."""

    AUTO = "auto"
    V1 = "v1"
    BATCH = "batch"


@dataclass(frozen=True)
class ErasureRequest:
    """Everything the operator asked for."""

    spec: InputSpec
    ticket: str | None = None
    api: Api = Api.AUTO
    """`choose_api` settles ``auto`` before the plan."""
    api_reason: str = ""
    """Why this API: shown in the plan and the dry run."""
    rate: float = 100.0
    concurrency: int = 16
    max_attempts: int = 8
    batch_size: int = 100
    dry_run: bool = False
    yes: bool = False
    restart: bool = False
    skip_invalid: bool = False
    verify: bool = True
    """Read every erased person back through the App API (``--no-verify``: False)."""
    verify_rate: float = 10.0
    verify_window: float = DEFAULT_VERIFY_WINDOW
    """Seconds a person still there is read back again for."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "api", Api(self.api))  # the enum, also when given its text


@dataclass(frozen=True)
class Plan:
    """The job about to run, as shown to the operator for confirmation."""

    job: str
    workspace: str
    region: str
    people: int
    invalid: int
    ticket: str | None
    api: Api
    rate: float
    input_sha256: str
    source: str
    """The input file (or ``--id``), and the column read."""
    dry_run: bool = False
    resumed: bool = False
    done: int = 0
    """People with a final outcome already (on resume)."""
    api_reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "api", Api(self.api))  # the enum, also when given its text

    @property
    def actions(self) -> tuple[str, ...]:
        """Per person, in order."""
        return ACTIONS

    @property
    def left(self) -> int:
        """People still to erase."""
        return self.people - self.done

    def to_json(self) -> dict[str, object]:
        """The plan as JSON."""
        return {
            "job": self.job,
            "workspace": self.workspace,
            "region": self.region,
            "people": self.people,
            "invalid": self.invalid,
            "ticket": self.ticket,
            "actions": list(self.actions),
            "api": self.api.value,
            "api_reason": self.api_reason,
            "rate": self.rate,
            "input_sha256": self.input_sha256,
            "source": self.source,
            "dry_run": self.dry_run,
            "resumed": self.resumed,
        }


class ErasureUi(Protocol):
    """What the command line provides: showing, asking and progress (the core draws nothing)."""

    def note(self, text: str) -> None:
        """Tell the operator something (stderr)."""

    def show_plan(self, plan: Plan) -> None:
        """Show the plan before anything is sent."""

    def confirm(self, plan: Plan) -> bool:
        """Ask the operator to type the number of people; True when they did."""

    def progress_start(self, total: int, done: int) -> None:
        """The run starts: ``done`` of ``total`` people already have an outcome."""

    def progress(self, erased: int, failed: int) -> None:
        """People erased and failed so far in this run."""

    def progress_stop(self) -> None:
        """The run ended."""


#: ``--api auto`` erases a file of more people than this with v2 batches.
AUTO_BATCH_ABOVE: Final = 100


def choose_api(
    request: ErasureRequest, spec: InputSpec, read: Callable[[InputSpec], InputSummary]
) -> tuple[ErasureRequest, InputSpec, InputSummary]:
    """Settle ``--api auto``; read the input (``spec``: stdin's copy) as that API needs it.

    Bulk work goes in batches (one request per 100 people instead of two per person); a
    few people go one request per action. A v1 path is also ruled out when it would
    misread some identifiers (an ``@`` or a ``cio_`` prefix), since batch names the type.
    """
    if request.api is not Api.AUTO:
        chosen = replace(spec, v1_paths=request.api is Api.V1)
        reason = f"--api {request.api.value} given"
        return replace(request, api_reason=reason), chosen, read(chosen)
    as_batch = replace(spec, v1_paths=False)
    batch_summary = read(as_batch)
    if spec.path is not None and batch_summary.rows > AUTO_BATCH_ABOVE:
        reason = f"auto: {batch_summary.rows} people in a file, more than {AUTO_BATCH_ABOVE}"
        return replace(request, api=Api.BATCH, api_reason=reason), as_batch, batch_summary
    as_v1 = replace(spec, v1_paths=True)
    v1_summary = read(as_v1)
    if v1_summary.invalid > batch_summary.invalid:
        reason = "auto: some ids have @ or a cio_ prefix, which a v1 path would misread"
        return replace(request, api=Api.BATCH, api_reason=reason), as_batch, batch_summary
    reason = f"auto: {v1_summary.rows} people, at most {AUTO_BATCH_ABOVE}: a request per action"
    return replace(request, api=Api.V1, api_reason=reason), as_v1, v1_summary


def job_id(workspace: str, summary: InputSummary) -> str:
    """The job's name: the same workspace, input and reading of it give the same job.

    Running the same command again therefore resumes the job rather than starting another.
    """
    # NOTE: a numeric workspace id is hashed as the integer it was before ids became text,
    # so a job started by an earlier version keeps its name and resumes.
    canonical: int | str = int(workspace) if _plain_integer(workspace) else workspace
    material = json.dumps(
        [canonical, summary.sha256, list(ACTIONS), summary.column, summary.id_type.value]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _plain_integer(text: str) -> bool:
    return text.isascii() and text.isdigit() and str(int(text)) == text


def source_label(spec: InputSpec, summary: InputSummary) -> str:
    """``ids.csv (column email)`` and the like."""
    reading = f"column {summary.column}" if summary.column else "one per line"
    if spec.path is None:
        reading = "--id values"
    return f"{spec.label} ({reading}, type {summary.id_type.value})"


def require_consent(
    plan: Plan, request: ErasureRequest, ui: ErasureUi, *, non_interactive: bool
) -> None:
    """Ask for confirmation unless ``--yes`` or a dry run.

    Raises:
        InteractionRequiredError: non-interactive without ``--yes``; nothing was sent.
        ConfigError: the operator did not confirm; nothing was sent.
    """
    if request.yes or request.dry_run:
        return
    if non_interactive:
        raise InteractionRequiredError(
            "erasing needs confirmation but the session is non-interactive; nothing was sent",
            hint="pass --yes to confirm in advance (cron), after a --dry-run",
        )
    if not ui.confirm(plan):
        raise ConfigError(
            "not confirmed; nothing was sent",
            hint=f"type the number of people ({plan.left}) to confirm",
        )
