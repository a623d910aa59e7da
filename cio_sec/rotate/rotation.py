"""One rotation of one kind in one profile: what every step reads, asks for and saves.

The state of the attempt is not part of it: it exists only once preflight has passed, so
each step after preflight is handed the `RotationState` it works on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

from cio_sec.errors import InputError
from cio_sec.redact import fingerprint, register
from cio_sec.rotate.kinds import LABELS, check_new_value, clean_input
from cio_sec.rotate.state import RotationState, save_state, state_path
from cio_sec.rotate.steps import CREDENTIALS, STEPS, Kind, Step
from cio_sec.rotate.ui import RotationUi
from cio_sec.settings import Settings
from cio_sec.stores import SecretRef, SecretStore
from cio_sec.stores.chain import StoreOpener, require
from cio_sec.trail.records import utc_now


@dataclass
class Rotation:
    """The settings, stores and operator of one rotation, and the keys entered so far."""

    settings: Settings
    opener: StoreOpener
    kind: Kind
    ui: RotationUi
    now: Callable[[], datetime] = utc_now
    new_values: dict[str, str] = field(default_factory=dict)
    """Credential → the new value entered in this run (memory only, never saved)."""
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
    def state_file(self) -> Path:
        """Where this rotation's state lives."""
        return state_path(self.settings.state_dir, self.settings.profile, self.kind.value)

    def command(self, *flags: str) -> str:
        """The command line that continues this rotation."""
        profile = (
            "" if self.settings.profile == "default" else f"--profile {self.settings.profile} "
        )
        return " ".join(f"cio-sec {profile}rotate {self.kind.value} {' '.join(flags)}".split())

    def save(self, state: RotationState) -> None:
        """Write the state file (fingerprints only).

        Raises:
            ConfigError: the state directory is not writable.
        """
        save_state(self.state_file, state)

    def warn(self, warning: str) -> None:
        """Show a warning now and list it in the report."""
        self.ui.warn(warning)
        self.warnings.append(warning)

    def open(self, reference: str) -> SecretStore:
        """The store a credential is rotated in (a reference the state recorded)."""
        return self.opener(SecretRef.parse(reference, internal=True))

    def current(self, name: str) -> tuple[str, str]:
        """The credential's current value and the reference it comes from.

        Raises:
            SecretMissingError, SecretStoreUnavailableError: as `credentials.require`.
        """
        resolved = require(self.settings, name, self.opener)
        # `require` returns found credentials only, and those have a value and a source.
        return cast(str, resolved.value), str(resolved.source)

    def new_value(self, state: RotationState, name: str) -> str:
        """The new value of a credential: entered earlier in this run, or asked for now.

        Raises:
            InputError: malformed, the current key again, or not the key entered before.
            InteractionRequiredError: no way to ask.
        """
        if name in self.new_values:
            return self.new_values[name]
        value = clean_input(self.ui.read_new_key(LABELS[name]))
        register(value)
        for warning in check_new_value(name, value):
            self.warn(warning)
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
