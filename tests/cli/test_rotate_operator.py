"""The terminal operator: hidden prompts, confirmations, Enter to continue, stdin lines."""

from __future__ import annotations

import io

import pytest
from typer.testing import CliRunner

from cio_sec.cli.rotate import TerminalOperator
from cio_sec.errors import InputError, InteractionRequiredError
from cio_sec.redact import redact
from cio_sec.render import Streams
from cio_sec.rotate import StepStatus
from cio_sec.rotate.steps import DEPLOY


def _operator(*, interactive: bool = True, from_stdin: bool = False) -> TerminalOperator:
    err = io.StringIO()
    return TerminalOperator(
        Streams(out=io.StringIO(), err=err),
        interactive=interactive,
        from_stdin=from_stdin,
        kind="app",
    )


def test_prompts_confirmations_and_waits_go_through_the_terminal() -> None:
    operator = _operator()
    with CliRunner().isolation(input="0123456789abcdef0123456789abcdef\ny\n\n") as (_, err, *_):
        assert operator.read_new_key("new App API key") == "0123456789abcdef0123456789abcdef"
        assert operator.confirm("Rotate?") is True
        operator.wait("Deploy it.")
        shown = err.getvalue().decode()
    assert "new App API key (input hidden)" in shown
    assert "0123456789abcdef0123456789abcdef" not in shown
    assert "Press Enter when done" in shown
    assert redact("0123456789abcdef0123456789abcdef") == "0123…cdef"
    operator.tick(5, 9, DEPLOY, StepStatus.WAITING, "")
    assert isinstance(operator.streams.err, io.StringIO)
    assert operator.streams.err.getvalue().endswith(
        "[ ] 5/9 deploy the new key to every consumer\n"
    )


def test_stdin_lines_are_read_once_and_in_order() -> None:
    operator = _operator(interactive=False, from_stdin=True)
    with CliRunner().isolation(input="first-line\n\n  second-line  \n"):
        assert operator.read_new_key("a") == "first-line"
        assert operator.read_new_key("b") == "  second-line  "
        with pytest.raises(InputError, match="stdin has no line for the c"):
            operator.read_new_key("c")


def test_stdin_that_is_not_utf8_is_an_input_error() -> None:
    operator = _operator(interactive=False, from_stdin=True)
    with CliRunner().isolation(input=b"\xff\xfe"), pytest.raises(InputError, match="UTF-8"):
        operator.read_new_key("a")


def test_no_prompt_without_a_terminal() -> None:
    operator = _operator(interactive=False)
    with pytest.raises(InteractionRequiredError) as caught:
        operator.read_new_key("new App API key")
    assert "cio-sec rotate app --new-key-stdin --yes" in str(caught.value.hint)


def test_stdin_that_is_not_utf8_is_named_stdin() -> None:
    operator = _operator(interactive=False, from_stdin=True)
    with CliRunner().isolation(input=b"ok\n\xff\n"), pytest.raises(InputError) as caught:
        operator.read_new_key("a")
    assert caught.value.message == "<stdin>: stdin is not valid UTF-8"
