"""What ``verify-webhook serve`` allows one client, and the bookkeeping that enforces it.

Nothing has been authenticated while a request is read, so everything a client can make
the receiver hold is bounded: connections (a cap, the excess refused at once), time (a
deadline for the headers and one for the body, not an idle timeout that a client resets
by sending a byte now and then) and memory (bodies read in pieces as they arrive, never
allocated from the declared length, and refused with 413 when declared too large).
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from dataclasses import dataclass

from cio_sec.webhook.capture import MAX_BODY_BYTES

DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
#: How much of a body is read at a time: what an idle or slow client can cost per read.
READ_PIECE_BYTES = 64 * 1024
#: Longest chunk-size or trailer line read from a chunked body.
CHUNK_LINE_BYTES = 4096


@dataclass(frozen=True)
class ServeLimits:
    """The receiver's bounds on connections, time and body size."""

    max_connections: int = DEFAULT_MAX_CONNECTIONS
    """Connections served at once; further ones are answered 503 and closed."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Largest body accepted; a larger declared length is refused with 413 unread."""
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    """Seconds from the start of waiting for a request to the end of its headers."""
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    """Seconds to receive the whole body once the headers are in (and to send an answer)."""

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if not 1 <= self.max_body_bytes <= MAX_BODY_BYTES:
            raise ValueError(f"max_body_bytes must be between 1 and {MAX_BODY_BYTES}")
        if min(self.header_timeout, self.body_timeout) <= 0:
            raise ValueError("timeouts must be positive")

    @property
    def max_in_flight_bytes(self) -> int:
        """The most body bytes the receiver can hold at once: every connection at its limit."""
        return self.max_connections * self.max_body_bytes


class InFlight:
    """Body bytes held by the receiver right now, and the most it has held at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current = 0
        self.peak = 0

    def add(self, count: int) -> None:
        """Count bytes just read from a client."""
        with self._lock:
            self.current += count
            self.peak = max(self.peak, self.current)

    def remove(self, count: int) -> None:
        """Forget bytes whose request has been answered."""
        with self._lock:
            self.current -= count


class ConnectionSlots:
    """At most ``limit`` connections at once; the sockets of those open, to close on stop."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._open: set[socket.socket] = set()
        self.refused = 0
        """Connections turned away because every slot was taken."""

    def take(self, connection: socket.socket) -> bool:
        """Give ``connection`` a slot; False (and counted as refused) when none is free."""
        with self._lock:
            if len(self._open) >= self._limit:
                self.refused += 1
                return False
            self._open.add(connection)
            return True

    def release(self, connection: socket.socket) -> None:
        """Free the slot of a connection that was closed."""
        with self._lock:
            self._open.discard(connection)

    @property
    def open(self) -> int:
        """How many connections hold a slot now."""
        with self._lock:
            return len(self._open)

    def hang_up_all(self) -> None:
        """Shut every open connection down, so that handlers blocked reading one return."""
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its client or its handler
                connection.shutdown(socket.SHUT_RDWR)


class MeteredBody:
    """A request body read in pieces as they arrive, each counted in flight.

    Never allocates from a declared length: a client that announces 16 MB and sends one
    byte costs one byte (and a piece-sized read buffer).
    """

    def __init__(self, stream: io.BufferedIOBase, in_flight: InFlight) -> None:
        self._stream = stream
        self._in_flight = in_flight
        self.held = 0

    def read(self, size: int, /) -> bytes:
        """Up to ``size`` bytes, fewer only when the client closed its side."""
        pieces = []
        missing = size
        while missing > 0:
            # read1: what has arrived (one socket read), so each byte is counted on arrival
            piece = self._stream.read1(min(READ_PIECE_BYTES, missing))
            if not piece:
                break
            self._in_flight.add(len(piece))
            self.held += len(piece)
            pieces.append(piece)
            missing -= len(piece)
        return b"".join(pieces)

    def readline(self, limit: int, /) -> bytes:
        """One line (a chunk size or a trailer), at most `CHUNK_LINE_BYTES` long."""
        return self._stream.readline(min(limit, CHUNK_LINE_BYTES))

    def release(self) -> None:
        """Stop counting this body: its request has been answered."""
        self._in_flight.remove(self.held)
        self.held = 0


class DeadlineReader(io.RawIOBase):
    """Reads a socket until a deadline for the whole read, not per call.

    A per-call timeout lets a client that sends a byte every few seconds hold a thread
    for ever; a deadline does not. Past it, reading raises `TimeoutError`, which the
    request handler turns into a closed connection.
    """

    def __init__(self, connection: socket.socket) -> None:
        super().__init__()
        self._connection = connection
        self.deadline = time.monotonic()
        self.ended = False
        """Whether the client closed its side (a read returned nothing)."""

    def expire_in(self, seconds: float) -> None:
        """Start a new deadline, ``seconds`` from now."""
        self.deadline = time.monotonic() + seconds

    def readable(self) -> bool:
        """Always readable (the socket decides whether there is data)."""
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        """Read what has arrived, waiting at most until the deadline.

        Raises:
            TimeoutError: the deadline has passed.
        """
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the client took too long")
        self._connection.settimeout(remaining)
        count = self._connection.recv_into(buffer)
        self.ended = count == 0
        return count


__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_CONNECTIONS",
    "ConnectionSlots",
    "DeadlineReader",
    "InFlight",
    "MeteredBody",
    "ServeLimits",
]
