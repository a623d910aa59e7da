"""The console-script entry point: completion and ``--version`` before the full CLI loads.

A TAB press runs the program once; loading Typer, Click and Rich costs about twenty times a
bare Python start. Completion requests and ``cio-sec --version`` are answered here from
the standard library alone; everything else goes on to `cio_sec.cli.main`.
"""

from __future__ import annotations

import os
import sys

COMPLETE_VAR = "_CIO_SEC_COMPLETE"


def main() -> None:
    """Answer a completion request or ``--version`` quickly; run the CLI otherwise."""
    shell = os.environ.get(COMPLETE_VAR, "")
    if shell in ("bash", "zsh", "fish"):
        _answer_completion(shell)
        return
    if sys.argv[1:] == ["--version"] and _write(_version()):
        return
    # NOTE: other values of _CIO_SEC_COMPLETE (Click's ``complete_bash``, ``source_zsh``)
    # come from scripts installed before this fast path and still reach Typer's handler.
    from cio_sec.cli import main as cli_main

    cli_main()


def _answer_completion(shell: str) -> None:
    from cio_sec.completion.protocol import respond

    try:
        cwd = os.getcwd()
    except OSError:  # the directory was removed under the shell
        cwd = "/"
    _write(respond(shell, sys.argv[1:], environ=os.environ, cwd=cwd))


def _version() -> str:
    from cio_sec import __version__

    return f"cio-sec {__version__}\n"


def _write(text: str) -> bool:
    """Write to stdout unbuffered; False when it cannot be written (closed, full pipe)."""
    data = text.encode("utf-8", "surrogateescape")
    try:
        while data:
            data = data[os.write(1, data) :]
    except OSError:
        return False
    return True
