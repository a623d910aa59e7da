"""Client connections: requests read and answered in order over keep-alive, idle ones closed."""

from __future__ import annotations

import asyncio
import logging
import math
import socket
from typing import cast

from cio_sec.sandbox.routes import Router
from cio_sec.sandbox.wire import DateHeader, HttpError, json_response, read_request, render

_LOG = logging.getLogger(__name__)


class Connections:
    """Serves every client connection of one sandbox, and closes them all when it stops.

    A connection that has not delivered its next complete request `idle_timeout` seconds
    after connecting or after its last response is closed.
    """

    def __init__(self, router: Router, *, idle_timeout: float) -> None:
        self._router = router
        self._idle_timeout = idle_timeout
        self._date = DateHeader()
        self._tasks: set[asyncio.Task[None]] = set()

    async def close_all(self) -> None:
        """Cancel every open connection and wait until each has closed."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, region: str = "us"
    ) -> None:
        """Serve one connection to `region`'s host until it closes (a `start_server` callback)."""
        task = cast("asyncio.Task[None]", asyncio.current_task())
        self._tasks.add(task)
        idle = _IdleTimer(asyncio.get_running_loop(), task, self._idle_timeout)
        # asyncio sets TCP_NODELAY already; be explicit, since every response depends on it.
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await self._converse(reader, writer, idle, region)
        except asyncio.CancelledError:
            # The sandbox is stopping, or the connection sat idle. NOTE: ending normally rather
            # than as cancelled keeps Python 3.11's stream callback from logging an error.
            pass
        except Exception:  # noqa: BLE001 - a broken connection must never stop the server
            # Mostly clients going away mid-request; never logged above DEBUG.
            _LOG.debug("sandbox connection ended abnormally", exc_info=True)
        finally:
            idle.close()
            writer.close()
            self._tasks.discard(task)

    async def _converse(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        idle: _IdleTimer,
        region: str,
    ) -> None:
        while True:
            idle.arm()
            try:
                request = await read_request(reader, writer)
            except HttpError as exc:
                error = json_response(exc.status, {"meta": {"error": exc.message}})
                writer.write(render(error, self._date.get(), keep_alive=False))
                return
            idle.disarm()
            if request is None:
                return
            try:
                response = await self._router.respond(request, region)
            except Exception:  # noqa: BLE001 - one bad request must never stop the server
                request.keep_alive = False
                response = json_response(500, {"meta": {"error": "internal sandbox error"}})
            if response is None:
                return
            writer.write(
                render(
                    response,
                    self._date.get(),
                    keep_alive=request.keep_alive,
                    http10=request.http10,
                    head_only=request.method == "HEAD",
                )
            )
            if not request.keep_alive:
                return
            await writer.drain()


class _IdleTimer:
    """Cancels a connection's task once it has waited `timeout` seconds for a whole request.

    One timer per connection, moved only when it fires before the deadline, rather than one
    per request: ``asyncio.wait_for`` costs a task per call before Python 3.12, and a
    ``call_later`` plus ``cancel`` per request costs about 2.5 µs and a heap entry, against
    0.3 µs for `arm` plus `disarm`. If the timer fires, the pending read ends in
    CancelledError, so even a request that arrived in the same loop iteration is never
    handled: the connection closes without an answer, as any idle close may race.
    """

    __slots__ = ("_deadline", "_handle", "_loop", "_task", "_timeout")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[None], timeout: float
    ) -> None:
        self._loop = loop
        self._task = task
        self._timeout = timeout
        self._deadline = math.inf
        self._handle = loop.call_later(timeout, self._fire)

    def arm(self) -> None:
        """Start the countdown: the connection now waits for its next request."""
        self._deadline = self._loop.time() + self._timeout

    def disarm(self) -> None:
        """Stop the countdown while a request is handled and answered."""
        self._deadline = math.inf

    def close(self) -> None:
        """Cancel the timer (the connection is closing)."""
        self._handle.cancel()

    def _fire(self) -> None:
        now = self._loop.time()
        if now >= self._deadline:
            self._task.cancel()
        else:
            self._handle = self._loop.call_at(min(self._deadline, now + self._timeout), self._fire)
