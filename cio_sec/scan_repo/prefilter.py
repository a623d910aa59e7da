"""One pass over a blob that says whether any detector could find something in it.

Almost no blob of real code holds a credential, so the cost of a full-history scan is
the cost of saying "nothing here" about each blob. With the optional ``hyperscan``
package (``pip install 'cio-sec[fast]'``: Intel's multi-pattern matcher, the engine
Vectorscan and Kingfisher build on), one pass over the raw bytes looks for every anchor
at once, case-insensitively. Without it, `detectors.scan_bytes` lower-cases the blob and
looks for the anchors one by one with `re` (`anchors.find_anchors`), which gives the same
answer a few times slower. The patterns here are those of `anchors`, spelled without
lookarounds (Hyperscan has none), and say yes exactly where those do; `scan_bytes` runs
its own checks after a yes anyway.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Final

Gate = Callable[[bytes], bool]
"""Whether a blob holds an anchor: False means no detector can match in it."""

ANCHORS: Final = (
    rb"customer[._-]?io",
    rb"(?:^|[^a-z0-9])cio(?:[^a-z0-9]|$)",
    rb"basic\s+[a-z0-9+/_-]{54}[a-z0-9+/_=-]{2}",
    rb"sa_(?:live|sandbox)_",
)


@functools.cache
def fast_gate() -> Gate | None:
    """The Hyperscan gate, compiled once; None when ``hyperscan`` is not installed."""
    return hyperscan_gate()


def hyperscan_gate() -> Gate | None:
    """Compile the anchors into one Hyperscan database (a few milliseconds)."""
    try:
        import hyperscan
    except ImportError:
        return None
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH
    database.compile(
        expressions=list(ANCHORS),
        ids=list(range(len(ANCHORS))),
        elements=len(ANCHORS),
        flags=[flags] * len(ANCHORS),
    )

    found: list[int] = []

    def on_match(anchor: int, start: int, end: int, flags: int, context: object) -> bool:
        found.append(anchor)
        return True  # one is enough: stop the scan here

    def holds_anchor(data: bytes) -> bool:
        found.clear()
        with contextlib.suppress(hyperscan.ScanTerminated):  # how Hyperscan says "stopped"
            database.scan(data, match_event_handler=on_match)
        return bool(found)

    return holds_anchor
