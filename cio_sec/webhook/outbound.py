"""Requests ``verify-webhook`` sends on (``probe``, ``serve --forward-to``): never redirected.

No request follows a redirect: a probe or a verified delivery goes to the URL given and
nowhere else. A redirect is reported with its status and the host it pointed to. Headers
are forwarded as the bytes that were received, so a value that is not ASCII reaches the
application unchanged instead of stopping the delivery.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

#: Answers that send a client elsewhere (`httpx.Response.has_redirect_location`).
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Hop-by-hop headers, and the framing of this hop: the client frames the forwarded body
# itself, so a duplicated or conflicting Content-Length cannot reach the app.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "host",
        "content-length",
        "expect",
    }
)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: A field value HTTP allows (RFC 9110 §5.5): visible ASCII, space, tab and obs-text.
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_OBSOLETE_FOLD = re.compile(r"\r?\n[ \t]+")


def is_redirect(response: httpx.Response) -> bool:
    """Whether ``response`` asks the client to go elsewhere."""
    return response.status_code in REDIRECT_STATUSES


def describe_redirect(response: httpx.Response) -> str:
    """``307 Temporary Redirect to host:port``: the status and where it pointed, no path."""
    import httpx

    from cio_sec.client.urls import _host

    status = f"{response.status_code} {httpx.codes.get_reason_phrase(response.status_code)}"
    location = response.headers.get("Location")
    # NOTE: httpx has already refused a Location it cannot parse (RemoteProtocolError).
    target = response.request.url.join(location) if location else None
    if target is None or not target.host:
        return f"{status.rstrip()} without a usable destination"
    return f"{status.rstrip()} to {_host(target)}"


def forwarded_headers(
    headers: Iterable[tuple[str, str]],
) -> tuple[list[tuple[bytes, bytes]], list[str]]:
    """The headers to forward, as the bytes received, and the names of those left out.

        ``headers`` are as `http.client` parsed them: values decoded as Latin-1, so encoding
    them back gives the bytes on the wire. Hop-by-hop and framing headers are dropped
    (the body sent gets its own Content-Length); so is a header HTTP does not allow (a
    control character in the value, a bad name), which no client can send on and which
    would otherwise stop the whole delivery.
    """
    kept: list[tuple[bytes, bytes]] = []
    dropped: list[str] = []
    for name, raw_value in headers:
        if name.lower() in _NOT_FORWARDED:
            continue
        value = _OBSOLETE_FOLD.sub(" ", raw_value)
        if not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
            dropped.append(name if _TOKEN.fullmatch(name) else "(a header with an invalid name)")
            continue
        kept.append((name.encode("latin-1"), value.encode("latin-1")))
    return kept, dropped


__all__ = ["REDIRECT_STATUSES", "describe_redirect", "forwarded_headers", "is_redirect"]
