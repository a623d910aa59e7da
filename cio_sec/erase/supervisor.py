"""Workers that stop together: on a signal, on an error, or when outcomes cannot be saved.

Both the erase engine and the attribute-purge engine run a pool of workers over a journal.
They share this lifecycle: signals become a graceful stop, outcomes are flushed every
``flush_interval`` and once more at the end, a failed flush stops everyone at once, and
workers in flight get ``grace`` seconds to finish after a signal (none after an error).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from cio_sec.errors import CioSecError


@dataclass(frozen=True)
class EngineResult:
    """Why the engine stopped: None when it ran out of work."""

    signal: str | None = None
    """``interrupted`` (SIGINT) or ``terminated`` (SIGTERM, or SIGHUP: a closed terminal)."""
    error: CioSecError | None = None
    """The error that stopped every worker (credentials rejected, Customer.io unreachable)."""


class Supervised:
    """The stop, flush and signal handling of a pool of workers (mixed into the engines)."""

    def __init__(self, *, flush: Callable[[], None], grace: float, flush_interval: float) -> None:
        self._commit = flush
        """Commits and reports the outcomes taken so far (journal, then trail)."""
        self._grace = grace
        self._flush_interval = flush_interval
        self._stop = asyncio.Event()
        self._signal: str | None = None
        self._error: CioSecError | None = None

    async def _supervise(
        self,
        workers: list[Coroutine[Any, Any, None]],
        producer: Coroutine[Any, Any, None] | None = None,
    ) -> EngineResult:
        """Run the workers (and the producer feeding them) until done or stopped."""
        loop = asyncio.get_running_loop()
        handled = install_signals(loop, self.request_stop)
        feeding = [asyncio.create_task(producer)] if producer is not None else []
        working = [asyncio.create_task(worker) for worker in workers]
        flusher = asyncio.create_task(self._flush_loop())
        try:
            finished: asyncio.Future[list[None]] = asyncio.gather(*working)
            stopped: asyncio.Future[bool] = asyncio.ensure_future(self._stop.wait())
            # NOTE: not the producer: it finishes normally once the last unit is queued.
            waiters: list[asyncio.Future[Any]] = [finished, stopped, flusher]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            if not finished.done():
                grace = 0.0 if self._error is not None else self._grace
                await asyncio.wait(working, timeout=grace)
            for task in (*working, *feeding, *waiters):
                task.cancel()
            await asyncio.gather(finished, *feeding, stopped, flusher, return_exceptions=True)
            for task in (*working, flusher, *feeding):
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]  # a bug: never swallowed
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)
            self._flush()
        return EngineResult(self._signal, self._error)

    def request_stop(self, reason: str) -> None:
        """Stop taking new work (a signal's name, or ``error``)."""
        if self._signal is None and self._error is None and reason != "error":
            self._signal = reason
        self._stop.set()

    def _fail(self, error: CioSecError) -> None:
        """Stop every worker at once; the first error is the one reported."""
        if self._error is None:
            self._error = error
        self.request_stop("error")

    async def _flush_loop(self) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(self._flush_interval)
            self._flush()

    def _flush(self) -> None:
        try:
            self._commit()
        except CioSecError as exc:
            self._fail(exc)


def install_signals(
    loop: asyncio.AbstractEventLoop, stop: Callable[[str], None]
) -> list[signal.Signals]:
    """Turn SIGINT/SIGTERM/SIGHUP into a graceful stop (only possible in the main thread).

    SIGHUP (the terminal closed) is a stop like SIGTERM: the job is saved and resumable.
    """
    installed = []
    stops = (
        (signal.SIGINT, "interrupted"),
        (signal.SIGTERM, "terminated"),
        (signal.SIGHUP, "terminated"),
    )
    for signum, name in stops:
        with contextlib.suppress(ValueError, RuntimeError):
            loop.add_signal_handler(signum, stop, name)
            installed.append(signum)
    return installed
