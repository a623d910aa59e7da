r"""Text made safe for a terminal: control characters in remote or file-supplied text made visible.

A server's answer, a delivery's body or a file name can carry escape sequences that
retitle a window, clear the screen or hide text (``\x1b]0;...\x07``, ``\x1b[2J``), or bidi
overrides that make a line read differently from what it holds. `printable` shows each such
character as a visible escape (``\x1b``, ``\u202e``) so that what is printed is what was
received, and nothing in it acts on the terminal.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, the C1 controls (8-bit CSI, OSC ...), the bidi
# marks, embeddings, overrides and isolates, the Unicode line and paragraph separators,
# and lone surrogates (undecodable bytes kept by ``surrogateescape``).
_CONTROLS = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff"
)
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_IN_A_LINE = re.compile(f"[\n{_CONTROLS}]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, keep_newlines: bool = True) -> str:
    """Return ``text`` with every terminal control character shown as a visible escape.

    Tabs are kept; newlines too unless ``keep_newlines`` is False, for text that must stay
    on one line (a log line must not be able to forge the next one). Text without control
    characters is returned unchanged, and the result is unchanged by a second call.
    """
    pattern = _UNSAFE if keep_newlines else _UNSAFE_IN_A_LINE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_visible, text)


__all__ = ["printable"]
