"""Regenerate completions/ from the installed cio-sec (tests fail when these drift).

Uses Click's ``_CIO_SEC_COMPLETE=source_<shell>`` protocol rather than Typer's
``--show-completion``, which prints the script for the detected shell, not the one asked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"bash": "cio-sec.bash", "zsh": "_cio-sec", "fish": "cio-sec.fish"}


def completion_script(shell: str) -> str:
    """Return the completion script cio-sec generates for one shell."""
    env = {**os.environ, "_CIO_SEC_COMPLETE": f"source_{shell}"}
    program = Path(sys.executable).parent / "cio-sec"
    # The program is our own console script in this virtualenv, not untrusted input.
    return subprocess.run(  # noqa: S603
        [str(program)], env=env, capture_output=True, text=True, check=True
    ).stdout


def main() -> None:
    """Write one script per shell into completions/."""
    for shell, name in TARGETS.items():
        (ROOT / "completions" / name).write_text(completion_script(shell))
        sys.stdout.write(f"wrote completions/{name}\n")


if __name__ == "__main__":
    main()
