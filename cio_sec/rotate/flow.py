"""Running a rotation: start, resume, roll back or abort; one idempotent action per step.

The state file is saved after every step, so whatever kills the process, ``--resume``
starts again at the first step not recorded as done. Every step can run twice: writing a
value that is already current changes nothing, records are not repeated, and tests only
read. Keys are held in memory only; a resumed rotation that still needs the new key asks
for it again and checks it is the same one (by fingerprint).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Protocol

from cio_sec.errors import (
    CioSecError,
    ConfigError,
    ExitCode,
    InputError,
    InteractionRequiredError,
    error_type_name,
)
from cio_sec.redact import fingerprint, register
from cio_sec.rotate import actions
from cio_sec.rotate.report import RotationReport, StepReport
from cio_sec.rotate.state import (
    RotationState,
    clear_state,
    load_state,
    rotation_lock,
    save_state,
    state_path,
)
from cio_sec.rotate.steps import CREDENTIALS, STEPS, Kind, Needs, Step, operator_run
from cio_sec.settings import Settings
from cio_sec.stores.chain import StoreOpener, require
from cio_sec.trail.records import format_ts, utc_now


class Action(str, Enum):
    """What ``cio-sec rotate`` was asked to do."""

    RUN = "run"
    RESUME = "resume"
    ROLLBACK = "rollback"
    ABORT = "abort"


class Operator(Protocol):
    """The person at the keyboard, as the CLI layer implements them."""

    @property
    def interactive(self) -> bool:
        """Whether prompts and "press Enter" confirmations can be answered."""

    def tick(self, number: int, total: int, step: Step, status: str, detail: str) -> None:
        """Show one checklist line (``done``, ``failed``, ``waiting``, ``pending``)."""

    def say(self, text: str) -> None:
        """Show an instruction."""

    def warn(self, text: str) -> None:
        """Show a warning."""

    def read_new_key(self, label: str) -> str:
        """Return the next new value (hidden prompt, or the next line of stdin).

        Raises:
            InteractionRequiredError: no prompt is possible and nothing was piped in.
            InputError: stdin is unreadable or has no more lines.
        """

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question (default no)."""

    def wait(self, instruction: str) -> None:
        """Show an instruction and wait until the operator says it is done."""


@dataclass
class Rotation:
    """One rotation of one kind in one profile; `Action`s are its public methods."""

    settings: Settings
    opener: StoreOpener
    kind: Kind
    operator: Operator
    now: Callable[[], datetime] = utc_now
    state: RotationState | None = None
    new_values: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def steps(self) -> tuple[Step, ...]:
        """This kind's steps, in order."""
        return STEPS[self.kind]

    @property
    def credentials(self) -> tuple[str, ...]:
        """The credentials this kind rotates."""
        return CREDENTIALS[self.kind]

    @property
    def path(self) -> str:
        """The state file, as text."""
        return str(state_path(self.settings.state_dir, self.settings.profile, self.kind.value))

    def command(self, *flags: str) -> str:
        """The command line that continues this rotation."""
        profile = (
            "" if self.settings.profile == "default" else f"--profile {self.settings.profile} "
        )
        return " ".join(f"cio-sec {profile}rotate {self.kind.value} {' '.join(flags)}".split())

    # ------------------------------------------------------------------ actions

    def perform(self, action: Action, *, yes: bool) -> RotationReport:
        """Run the action under the rotation's lock.

        Raises:
            ConfigError: another rotation holds the lock; no state where one is needed (or
                one where none may be); confirmation needed while non-interactive.
            InputError: a malformed new key (with the state saved, resumable).
        """
        path = state_path(self.settings.state_dir, self.settings.profile, self.kind.value)
        with rotation_lock(path):
            if action is Action.ABORT:
                return self._abort(path)
            self.state = load_state(path)
            if action is Action.ROLLBACK:
                self._confirm(yes, f"Roll back the {self.kind.value} rotation?")
                return actions.rollback(self)
            if action is Action.RESUME:
                if self.state is None:
                    raise ConfigError(
                        f"no {self.kind.value} rotation is in progress for profile "
                        f"{self.settings.profile!r}",
                        hint=f"start one with `{self.command()}`",
                    )
                self.state.done.extend(n for n in self.state.waiting if n not in self.state.done)
                self.state.waiting = []
                self.save()
            elif self.state is not None:
                raise ConfigError(
                    f"a {self.kind.value} rotation is already in progress for profile "
                    f"{self.settings.profile!r} ({len(self.state.done)} of "
                    f"{len(self.steps)} steps done)",
                    hint=f"continue it with `{self.command('--resume')}`, undo it with "
                    "--rollback, or forget it with --abort",
                )
            else:
                self._confirm(yes, f"Rotate the {self.kind.value} credentials?")
            return self._run(action)

    def _confirm(self, yes: bool, question: str) -> None:
        if yes:
            return
        if not self.operator.interactive:
            raise InteractionRequiredError(
                "rotate changes stored credentials and needs confirmation",
                hint="pass --yes to confirm when running non-interactively",
            )
        if not self.operator.confirm(question):
            raise InteractionRequiredError("not confirmed; nothing was changed")

    def _abort(self, path: Path) -> RotationReport:
        try:
            state = self.state = load_state(path)
        except ConfigError as exc:  # damaged: forgetting it is exactly what was asked
            clear_state(path)
            self.warnings.append(exc.message)
            return self.report(Action.ABORT, "aborted", "the damaged rotation state was removed")
        if state is None:
            return self.report(Action.ABORT, "aborted", "no rotation was in progress")
        warning = actions.abort_warning(self)
        clear_state(path)
        if warning is not None:
            self.operator.warn(warning)
            self.warnings.append(warning)
        return self.report(Action.ABORT, "aborted", "the rotation attempt was forgotten")

    def _run(self, action: Action) -> RotationReport:
        for step in self.steps:
            if self.state is not None and step.name in self.state.done:
                self._tick(step, "done", "earlier")
        for index, step in enumerate(self.steps):
            if self.state is not None and step.name in self.state.done:
                continue
            if step.needs is Needs.OPERATOR and not self.operator.interactive:
                return self._stop_for_operator(action, index)
            try:
                detail = self._perform_step(step)
            except CioSecError as exc:
                self._tick(step, "failed", exc.message)
                return self._failed(action, step, exc)
            except KeyboardInterrupt:
                self._tick(step, "failed", "interrupted")
                raise
            if self.state is None:  # pragma: no cover - preflight always creates the state
                raise RuntimeError("preflight did not create the rotation state")
            self.state.done.append(step.name)
            self.save()
            self._tick(step, "done", detail)
        clear_state(state_path(self.settings.state_dir, self.settings.profile, self.kind.value))
        return self.report(action, "completed", f"the {self.kind.value} rotation is complete")

    def _perform_step(self, step: Step) -> str:
        if step.needs is Needs.OPERATOR:
            self.operator.wait(actions.operator_instruction(self, step))
            return "confirmed by the operator"
        return actions.perform(self, step)

    def _stop_for_operator(self, action: Action, index: int) -> RotationReport:
        if self.state is None:  # pragma: no cover - an operator step never comes first
            raise RuntimeError("an operator step before preflight")
        waiting = operator_run(self.steps, index)
        self.state.waiting = [step.name for step in waiting]
        self.save()
        for step in waiting:
            self._tick(step, "waiting", actions.operator_instruction(self, step))
        todo = " ".join(actions.operator_instruction(self, step) for step in waiting)
        return self.report(
            action,
            "stopped",
            f"waiting for you: {todo}",
            exit_code=ExitCode.PARTIAL,
            hint=f"when done, run `{self.command('--resume', '--yes')}`",
        )

    def _failed(self, action: Action, step: Step, exc: CioSecError) -> RotationReport:
        if self.state is None:
            return self.report(
                action,
                "failed",
                exc.message,
                exit_code=exc.exit_code,
                hint=exc.hint,
                failed=step,
                error_type=error_type_name(exc),
            )
        actions.after_failure(self, step, exc)
        self.save()
        resume = f"`{self.command('--resume')}` continues from step {step.name}"
        hint = f"{exc.hint}; then {resume}" if exc.hint else resume
        return self.report(
            action,
            "stopped",
            exc.message,
            exit_code=exc.exit_code,
            hint=hint,
            failed=step,
            error_type=error_type_name(exc),
        )

    # ------------------------------------------------------------------ helpers

    def save(self) -> None:
        """Write the state file (fingerprints only)."""
        save_state(
            state_path(self.settings.state_dir, self.settings.profile, self.kind.value),
            self.active_state(),
        )

    def start_state(self) -> RotationState:
        """Create the state of a new attempt (preflight calls this once it passes)."""
        self.state = RotationState(
            kind=self.kind.value, profile=self.settings.profile, started_at=format_ts(self.now())
        )
        return self.state

    def current(self, name: str) -> tuple[str, str]:
        """The credential's current value and the reference it comes from.

        Raises:
            SecretMissingError, SecretStoreUnavailableError: as `credentials.require`.
        """
        resolved = require(self.settings, name, self.opener)
        if resolved.value is None or resolved.source is None:  # pragma: no cover - require
            raise ConfigError(f"credential {name} not found")
        return resolved.value, str(resolved.source)

    def new_value(self, name: str) -> str:
        """The new value of a credential: entered earlier in this run, or asked for now.

        Raises:
            InputError: malformed, the current key again, or not the key entered before.
            InteractionRequiredError: no way to ask.
        """
        if name in self.new_values:
            return self.new_values[name]
        from cio_sec.rotate.kinds import LABELS, check_new_value, clean_input

        state = self.active_state()
        value = clean_input(self.operator.read_new_key(LABELS[name]))
        register(value)
        for warning in check_new_value(name, value):
            self.operator.warn(warning)
            self.warnings.append(warning)
        if fingerprint(value) == state.old.get(name):
            raise InputError(
                f"the {LABELS[name]} is the current one; enter the key you just created",
                path="<input>",
            )
        expected = state.new.get(name)
        if expected is not None and fingerprint(value) != expected:
            raise InputError(
                f"this is not the {LABELS[name]} entered before (fingerprint {expected})",
                path="<input>",
                hint=f"enter the same key, or start over with `{self.command('--abort')}`",
            )
        self.new_values[name] = value
        return value

    def active_state(self) -> RotationState:
        """The state of the attempt under way (steps after preflight run with one)."""
        if self.state is None:  # pragma: no cover - every caller runs after preflight
            raise RuntimeError("no rotation state")
        return self.state

    def _tick(self, step: Step, status: str, detail: str) -> None:
        self.operator.tick(self.steps.index(step) + 1, len(self.steps), step, status, detail)

    def report(
        self,
        action: Action,
        outcome: str,
        message: str,
        *,
        exit_code: ExitCode = ExitCode.OK,
        hint: str | None = None,
        failed: Step | None = None,
        old_key_works: bool | None = None,
        error_type: str | None = None,
    ) -> RotationReport:
        """The result, with every step's status as the state now says."""
        state = self.state
        done = set(state.done) if state else set()
        waiting = set(state.waiting) if state else set()
        if outcome == "completed":
            done = {step.name for step in self.steps}
        steps = tuple(
            StepReport(
                number,
                step.name,
                step.title,
                "done"
                if step.name in done
                else "failed"
                if step is failed
                else "waiting"
                if step.name in waiting
                else "pending",
            )
            for number, step in enumerate(self.steps, start=1)
        )
        return RotationReport(
            kind=self.kind.value,
            profile=self.settings.profile,
            action=action.value,
            outcome=outcome,
            steps=steps,
            message=message,
            exit_code=exit_code,
            hint=hint,
            fingerprints=dict(state.new) if state else {},
            old_key_works=old_key_works,
            error_type=error_type,
            warnings=tuple(self.warnings),
            state_file=self.path if outcome in ("stopped", "failed") and state else None,
        )


def rotate(
    settings: Settings,
    opener: StoreOpener,
    kind: Kind,
    action: Action,
    operator: Operator,
    *,
    yes: bool = False,
    now: Callable[[], datetime] = utc_now,
) -> RotationReport:
    """Rotate (or resume, roll back, abort the rotation of) one kind of credential.

    Raises:
        ConfigError: locked, nothing to resume, already in progress, not confirmed.
        SecretMissingError: the current credential does not exist.
    """
    rotation = Rotation(settings, opener, kind, operator, now)
    return rotation.perform(action, yes=yes)
