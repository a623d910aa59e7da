"""The host of a store's address, for messages: never its user, password, path or query."""

from __future__ import annotations

from urllib.parse import urlsplit

#: Longest host name DNS allows; anything longer is not worth printing.
_MAX_HOST = 253


def host_of(url: str) -> str:
    """The host (and port) of a URL, with blanks and control characters dropped.

    The URL often comes from a server (a ``Location`` header), so it is treated as hostile:
    a password in it, or a terminal escape sequence, never reaches the message.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "an address that is not a URL"
    shown = "".join(c for c in host if c.isprintable() and not c.isspace())[:_MAX_HOST]
    if not shown:
        return "an address without a host"
    return f"{shown}:{port}" if port else shown
