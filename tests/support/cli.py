"""`run_cli`: invoke cio-sec in-process and fail the test on surprises.

Like httpie's ``http()`` helper it fails on an unexpected exit code (showing stderr), and it
fails whenever a watched secret (the canary, the sandbox's keys) appears in stdout or
stderr, or a traceback appears without ``--debug``.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from typer.testing import CliRunner

from cio_sec.cli import app
from cio_sec.errors import ExitCode
from tests.support.schemas import parse_document


@dataclass
class CliOutcome:
    """What one invocation printed and returned."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        """Stdout parsed as the one JSON object every ``--format json`` command prints.

        Checked against the command's published schema.
        """
        return parse_document(self.stdout)


@dataclass
class CliHarness:
    """Callable that runs the CLI with the watched secrets checked on every run."""

    watched: set[str] = field(default_factory=set)

    def __call__(
        self,
        *args: str,
        input: str | bytes | None = None,
        expect: int = ExitCode.OK,
        reveal: Iterable[str] = (),
    ) -> CliOutcome:
        """Run ``cio-sec ARGS`` and check exit code, secrets, tracebacks and JSON shape."""
        runner = CliRunner()
        result = runner.invoke(app, list(args), input=input, catch_exceptions=False)
        outcome = CliOutcome(result.exit_code, result.stdout, result.stderr)
        assert outcome.exit_code == expect, (
            f"cio-sec {' '.join(args)} exited {outcome.exit_code}, expected {int(expect)}\n"
            f"--- stdout\n{outcome.stdout}\n--- stderr\n{outcome.stderr}"
        )
        allowed = set(reveal)
        for secret in self.watched - allowed:
            assert secret not in outcome.stdout, f"a watched secret leaked to stdout: {args}"
            assert secret not in outcome.stderr, f"a watched secret leaked to stderr: {args}"
        if "--debug" not in args:
            assert "Traceback" not in outcome.stderr, outcome.stderr
        if _wants_json(args) and outcome.stdout.strip():
            outcome.json  # noqa: B018 - parsed to check it against its schema
        return outcome


#: The one line every command prints when its stdout is closed (exit 141).
STDOUT_CLOSED = "error: stdout is closed, so the output stopped here; work already done is kept\n"


def run_with_closed_stdout(
    *args: str, input: str | None = None, fd_closed: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cio_sec ARGS`` with a stdout whose reader is already gone.

    With ``fd_closed`` there is no stdout at all, as after ``>&-`` in a shell.
    """
    command = [sys.executable, "-m", "cio_sec", *args]
    if fd_closed:
        return subprocess.run(
            ["sh", "-c", 'exec "$@" >&-', "sh", *command],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
            timeout=50,
            check=False,
        )
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            command,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
            timeout=50,
            check=False,
        )
    finally:
        os.close(writer)


def _wants_json(args: tuple[str, ...]) -> bool:
    pairs = itertools.pairwise(args)
    return (
        any(flag in ("-f", "--format") and value == "json" for flag, value in pairs)
        or bool({"--format=json", "-fjson"} & set(args))
        or os.environ.get("CIO_SEC_FORMAT", "").lower() == "json"
    )
