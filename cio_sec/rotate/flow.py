"""Running a rotation: start, resume, roll back or abort; one idempotent action per step.

The state file is saved after every step, so whatever kills the process, ``--resume``
starts again at the first step not recorded as done. Every step can run twice: writing a
value that is already current changes nothing, records are not repeated, and tests only
read. Keys are held in memory only; a resumed rotation that still needs the new key asks
for it again and checks it is the same one (by fingerprint).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from cio_sec.errors import (
    CioSecError,
    ConfigError,
    ExitCode,
    InteractionRequiredError,
    error_type_name,
)
from cio_sec.rotate import actions
from cio_sec.rotate.report import Outcome, RotationReport, StepReport, StepStatus
from cio_sec.rotate.request import Action, RotationRequest
from cio_sec.rotate.rollback import abort_warning, rollback
from cio_sec.rotate.rotation import Rotation
from cio_sec.rotate.state import RotationState, clear_state, load_state, rotation_lock
from cio_sec.rotate.steps import Needs, Step, operator_run
from cio_sec.rotate.ui import RotationUi
from cio_sec.settings import Settings
from cio_sec.stores.chain import StoreOpener

_T = TypeVar("_T")


def run(
    request: RotationRequest, settings: Settings, opener: StoreOpener, ui: RotationUi
) -> RotationReport:
    """Rotate (or resume, roll back, abort the rotation of) one kind of credential.

    Raises:
        ConfigError: locked, nothing to resume, already in progress, not confirmed.
        InputError: a malformed new key (with the state saved, resumable).
        SecretMissingError: the current credential does not exist.
    """
    return perform(Rotation(settings, opener, request.kind, ui), request)


def perform(rotation: Rotation, request: RotationRequest) -> RotationReport:
    """Run the requested action under the rotation's lock.

    Raises:
        ConfigError: another rotation holds the lock; no state where one is needed (or
            one where none may be); confirmation needed while non-interactive.
        InputError: a malformed new key (with the state saved, resumable).
    """
    path = rotation.state_file
    kind = rotation.kind.value
    with rotation_lock(path):
        if request.action is Action.ABORT:
            return _abort(rotation, path)
        state = load_state(path)
        if request.action is Action.ROLLBACK:
            _confirm(rotation, request.yes, f"Roll back the {kind} rotation?")
            return _rollback(rotation, state)
        if request.action is Action.RESUME:
            if state is None:
                raise ConfigError(
                    f"no {kind} rotation is in progress for profile {rotation.settings.profile!r}",
                    hint=f"start one with `{rotation.command()}`",
                )
            state.done.extend(n for n in state.waiting if n not in state.done)
            state.waiting = []
            rotation.save(state)
        elif state is not None:
            raise ConfigError(
                f"a {kind} rotation is already in progress for profile "
                f"{rotation.settings.profile!r} ({len(state.done)} of "
                f"{len(rotation.steps)} steps done)",
                hint=f"continue it with `{rotation.command('--resume')}`, undo it with "
                "--rollback, or forget it with --abort",
            )
        else:
            _confirm(rotation, request.yes, f"Rotate the {kind} credentials?")
        return _run(rotation, request.action, state)


def _confirm(rotation: Rotation, yes: bool, question: str) -> None:
    if yes:
        return
    if not rotation.ui.interactive:
        raise InteractionRequiredError(
            "rotate changes stored credentials and needs confirmation",
            hint="pass --yes to confirm when running non-interactively",
        )
    if not rotation.ui.confirm(question):
        raise InteractionRequiredError("not confirmed; nothing was changed")


def _abort(rotation: Rotation, path: Path) -> RotationReport:
    try:
        state = load_state(path)
    except ConfigError as exc:  # damaged: forgetting it is exactly what was asked
        clear_state(path)
        rotation.warnings.append(exc.message)
        return _report(
            rotation, None, Action.ABORT, Outcome.ABORTED, "the damaged rotation state was removed"
        )
    if state is None:
        return _report(rotation, None, Action.ABORT, Outcome.ABORTED, "no rotation was in progress")
    warning = abort_warning(rotation, state)
    clear_state(path)
    if warning is not None:
        rotation.warn(warning)
    return _report(
        rotation, state, Action.ABORT, Outcome.ABORTED, "the rotation attempt was forgotten"
    )


def _rollback(rotation: Rotation, state: RotationState | None) -> RotationReport:
    if state is None:
        raise ConfigError(
            f"no {rotation.kind.value} rotation is in progress for profile "
            f"{rotation.settings.profile!r}; nothing to roll back",
            hint="`cio-sec credentials show` tells which values are current",
        )
    done = rollback(rotation, state)
    return _report(
        rotation,
        None,  # forgotten: every step is pending again
        Action.ROLLBACK,
        Outcome.ROLLED_BACK,
        done.message,
        exit_code=done.exit_code,
        old_key_works=done.old_key_works,
        hint=done.hint,
    )


def _run(rotation: Rotation, action: Action, state: RotationState | None) -> RotationReport:
    if state is not None:
        for step in rotation.steps:
            if step.name in state.done:
                _tick(rotation, step, StepStatus.DONE, "earlier")
    if state is None or rotation.steps[0].name not in state.done:
        started = _start(rotation, action, state)
        if isinstance(started, RotationReport):
            return started
        state = started
    for index, step in enumerate(rotation.steps):
        if step.name in state.done:
            continue
        if step.needs is Needs.OPERATOR and not rotation.ui.interactive:
            return _stop_for_operator(rotation, state, action, index)
        try:
            detail = _ticked(rotation, step, partial(_perform_step, rotation, state, step))
        except CioSecError as exc:
            return _stopped(rotation, state, action, step, exc)
        _done(rotation, state, step, detail)
    clear_state(rotation.state_file)
    return _report(
        rotation,
        state,
        action,
        Outcome.COMPLETED,
        f"the {rotation.kind.value} rotation is complete",
    )


def _start(
    rotation: Rotation, action: Action, earlier: RotationState | None
) -> RotationState | RotationReport:
    """Run preflight: the state of a new attempt, or the report of why it cannot start.

    ``earlier`` is a state file that does not record preflight (written by hand): it is
    replaced when preflight passes, and kept, resumable, when it fails.
    """
    step = rotation.steps[0]
    try:
        state, detail = _ticked(rotation, step, partial(actions.preflight, rotation))
    except CioSecError as exc:
        if earlier is not None:
            return _stopped(rotation, earlier, action, step, exc)
        return _report(
            rotation,
            None,
            action,
            Outcome.FAILED,
            exc.message,
            exit_code=exc.exit_code,
            hint=exc.hint,
            failed=step,
            error_type=error_type_name(exc),
        )
    _done(rotation, state, step, detail)
    return state


def _ticked(rotation: Rotation, step: Step, perform: Callable[[], _T]) -> _T:
    """Perform a step; a failure or Ctrl-C ticks it as failed on the checklist, and propagates."""
    try:
        return perform()
    except CioSecError as exc:
        _tick(rotation, step, StepStatus.FAILED, exc.message)
        raise
    except KeyboardInterrupt:
        _tick(rotation, step, StepStatus.FAILED, "interrupted")
        raise


def _done(rotation: Rotation, state: RotationState, step: Step, detail: str) -> None:
    state.done.append(step.name)
    rotation.save(state)
    _tick(rotation, step, StepStatus.DONE, detail)


def _perform_step(rotation: Rotation, state: RotationState, step: Step) -> str:
    if step.needs is Needs.OPERATOR:
        rotation.ui.wait(actions.operator_instruction(rotation, state, step))
        return "confirmed by the operator"
    return actions.perform(rotation, state, step)


def _stop_for_operator(
    rotation: Rotation, state: RotationState, action: Action, index: int
) -> RotationReport:
    waiting = operator_run(rotation.steps, index)
    state.waiting = [step.name for step in waiting]
    rotation.save(state)
    instructions = [actions.operator_instruction(rotation, state, step) for step in waiting]
    for step, instruction in zip(waiting, instructions, strict=True):
        _tick(rotation, step, StepStatus.WAITING, instruction)
    return _report(
        rotation,
        state,
        action,
        Outcome.STOPPED,
        f"waiting for you: {' '.join(instructions)}",
        exit_code=ExitCode.PARTIAL,
        hint=f"when done, run `{rotation.command('--resume', '--yes')}`",
    )


def _stopped(
    rotation: Rotation, state: RotationState, action: Action, step: Step, exc: CioSecError
) -> RotationReport:
    actions.after_failure(state, step, exc)
    rotation.save(state)
    resume = f"`{rotation.command('--resume')}` continues from step {step.name}"
    hint = f"{exc.hint}; then {resume}" if exc.hint else resume
    return _report(
        rotation,
        state,
        action,
        Outcome.STOPPED,
        exc.message,
        exit_code=exc.exit_code,
        hint=hint,
        failed=step,
        error_type=error_type_name(exc),
    )


def _tick(rotation: Rotation, step: Step, status: StepStatus, detail: str) -> None:
    steps = rotation.steps
    rotation.ui.tick(steps.index(step) + 1, len(steps), step, status, detail)


def _report(
    rotation: Rotation,
    state: RotationState | None,
    action: Action,
    outcome: Outcome,
    message: str,
    *,
    exit_code: ExitCode = ExitCode.OK,
    hint: str | None = None,
    failed: Step | None = None,
    old_key_works: bool | None = None,
    error_type: str | None = None,
) -> RotationReport:
    """The result, with every step's status as the state now says (None: no attempt)."""
    done = set(state.done) if state else set()
    waiting = set(state.waiting) if state else set()
    if outcome is Outcome.COMPLETED:
        done = {step.name for step in rotation.steps}
    steps = tuple(
        StepReport(number, step.name, step.title, _step_status(step, done, waiting, failed=failed))
        for number, step in enumerate(rotation.steps, start=1)
    )
    resumable = outcome in (Outcome.STOPPED, Outcome.FAILED) and state is not None
    return RotationReport(
        kind=rotation.kind.value,
        profile=rotation.settings.profile,
        action=action,
        outcome=outcome,
        steps=steps,
        message=message,
        exit_code=exit_code,
        hint=hint,
        fingerprints=dict(state.new) if state else {},
        old_key_works=old_key_works,
        error_type=error_type,
        warnings=tuple(rotation.warnings),
        state_file=str(rotation.state_file) if resumable else None,
    )


def _step_status(
    step: Step, done: set[str], waiting: set[str], *, failed: Step | None
) -> StepStatus:
    if step.name in done:
        return StepStatus.DONE
    if step is failed:
        return StepStatus.FAILED
    if step.name in waiting:
        return StepStatus.WAITING
    return StepStatus.PENDING
