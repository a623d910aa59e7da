"""The anchors: what a blob must hold before any detector looks at it, and which detectors.

Each anchor is a regular expression that starts with a literal, which ``re`` finds at the
speed of a substring search, and runs over lower-cased bytes. The anchors are shaped like
credentials, not like common words: real HTTP code says "basic" thousands of times, but
"Basic" followed by a base64 token of a Track key's length only where there is one.
`prefilter` spells the same anchors for Hyperscan's one-pass gate.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

# A lookbehind placed after "cio" keeps that literal first.
# Plain "customer" is not context: shops say it on every line.
CUSTOMER_IO: Final = re.compile(rb"customer[._-]?io")
CIO_WORD: Final = re.compile(rb"cio(?<![a-z0-9]cio)(?![a-z0-9])")
_BASIC_TOKEN: Final = re.compile(rb"basic\s+[a-z0-9+/_-]{54}[a-z0-9+/_=-]{2}")
_SERVICE_PREFIX: Final = re.compile(rb"sa_(?:live|sandbox)_")


class Anchors(NamedTuple):
    """Which anchors a blob holds: each one wakes up its own detectors."""

    context: bool
    """``customer.io`` (or ``customer_io``, ``customer-io``, ``customerio``) or ``cio`` as a
    word: the Track, App, webhook and Basic-auth detectors."""
    basic_token: bool
    """``Basic`` and a base64 token of a Track pair's length. Looked for only without
    context: with it, the Basic-auth detector runs anyway."""
    service_prefix: bool
    """``sa_live_`` or ``sa_sandbox_``: service-account tokens, which need no context."""


def find_anchors(lowered: bytes) -> Anchors:
    """The anchors in lower-cased bytes (`detectors.scan_bytes` dispatches on them)."""
    context = CIO_WORD.search(lowered) is not None or CUSTOMER_IO.search(lowered) is not None
    return Anchors(
        context=context,
        basic_token=not context and _BASIC_TOKEN.search(lowered) is not None,
        service_prefix=_SERVICE_PREFIX.search(lowered) is not None,
    )
