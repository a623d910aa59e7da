"""Text for people: one renderer per result type, loaded one capability at a time.

Only the result's own capability is imported: ``scan-repo`` must not pay for loading
erase, its HTTP client and asyncio just to print a table.
"""

from __future__ import annotations

from functools import cache, singledispatch
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from cio_sec.render.streams import Renderers, Streams


@singledispatch
def render_text(result: object, streams: Streams) -> None:
    """Draw a result for people; one registered function per result type."""
    raise NotImplementedError(type(result).__name__)


def register_renderers(result: object | None = None) -> None:
    """Register the text renderers a result needs (all of them without one), once each."""
    module = type(result).__module__.split(".") if result is not None else []
    package = module[1] if len(module) > 1 and module[0] == "cio_sec" else None
    for name in [package] if package in _LOADERS else _LOADERS:
        for load in _LOADERS[name]:
            _register(load)


@cache
def _register(load: Callable[[], Renderers]) -> None:
    for result_type, renderer in load().items():
        render_text.register(result_type, renderer)


def _audit() -> Renderers:
    from cio_sec.render.audit import RENDERERS

    return RENDERERS


def _completion() -> Renderers:
    from cio_sec.render.completion import RENDERERS

    return RENDERERS


def _credentials() -> Renderers:
    from cio_sec.render.credentials import RENDERERS

    return RENDERERS


def _erase() -> Renderers:
    from cio_sec.render.erase import RENDERERS

    return RENDERERS


def _purge() -> Renderers:
    from cio_sec.render.purge import RENDERERS

    return RENDERERS


def _rotate() -> Renderers:
    from cio_sec.render.rotate import RENDERERS

    return RENDERERS


def _sanitize() -> Renderers:
    from cio_sec.render.sanitize import RENDERERS

    return RENDERERS


def _scan_repo() -> Renderers:
    from cio_sec.render.scan_repo import RENDERERS

    return RENDERERS


def _trail() -> Renderers:
    from cio_sec.render.trail import RENDERERS

    return RENDERERS


def _webhook() -> Renderers:
    from cio_sec.render.webhook import RENDERERS

    return RENDERERS


#: Per capability package (``cio_sec.<name>``), the renderers its result types need.
_LOADERS: dict[str, tuple[Callable[[], Renderers], ...]] = {
    "audit": (_audit, _trail),  # the trail commands' results live in audit/ too
    "auditlog": (_trail,),
    "trail": (_trail,),
    "completion": (_completion,),
    "credentials": (_credentials,),
    "erase": (_erase,),
    "purge": (_purge,),
    "rotate": (_rotate,),
    "sanitize": (_sanitize,),
    "scan_repo": (_scan_repo,),
    "webhook": (_webhook,),
}
