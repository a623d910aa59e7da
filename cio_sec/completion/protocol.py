"""The answer as each shell script reads it: a mode line, then one candidate a line.

The shipped scripts run ``_CIO_SEC_COMPLETE=<shell> cio-sec WORD...`` with the words after
the program name, the last one under the cursor. The first line says ``files`` (let the
shell complete file names) or ``words`` (offer the lines that follow).
"""

from __future__ import annotations

from cio_sec.completion.engine import complete
from cio_sec.completion.table import TABLE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

SHELLS = ("bash", "zsh", "fish")


def respond(shell: str, words: Sequence[str], *, environ: Mapping[str, str], cwd: str) -> str:
    """The text the ``shell`` script expects for a TAB after ``words``."""
    answer = complete(TABLE, words, environ=environ, cwd=cwd)
    lines = [answer.mode]
    for word, help_text in answer.candidates:
        summary = " ".join(help_text.split())
        if shell == "zsh":  # _describe reads word:description; a colon in the word is escaped
            lines.append(word.replace(":", r"\:") + (f":{summary}" if summary else ""))
        elif shell == "fish":
            lines.append(word + (f"\t{summary}" if summary else ""))
        else:
            lines.append(word)
    return "\n".join(lines) + "\n"
