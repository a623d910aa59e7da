"""The operator a rotation talks to: the protocol the CLI's terminal implements."""

from __future__ import annotations

from typing import Protocol

from cio_sec.rotate.report import StepStatus
from cio_sec.rotate.steps import Step


class RotationUi(Protocol):
    """The person at the keyboard, as the CLI layer implements them."""

    @property
    def interactive(self) -> bool:
        """Whether prompts and "press Enter" confirmations can be answered."""

    def tick(self, number: int, total: int, step: Step, status: StepStatus, detail: str) -> None:
        """Show one checklist line."""

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
