"""Reading git's object stream ahead of the scan, on a thread, within a memory budget.

git and the Python scan can run at once on two cores, but only if git never waits for
Python to empty the pipe. A thread reads the pipe as fast as git fills it (``os.read``
releases the GIL) and keeps up to `BUDGET` bytes in memory for the scan to take.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from typing import Final

BUDGET: Final = 64 * 1024 * 1024
"""Bytes read ahead at most; the thread waits when the scan is this far behind."""
_CHUNK: Final = 1024 * 1024


class ReadAhead:
    """``readline`` and ``read`` over a pipe that a thread empties ahead of the caller."""

    def __init__(self, fd: int, budget: int = BUDGET) -> None:
        self._fd = fd
        self._budget = budget
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self._ended = False
        self._stopping = False
        self._changed = threading.Condition()
        self._buffer = bytearray()
        self._searched = 0  # bytes of the buffer known to hold no newline
        self._thread = threading.Thread(target=self._pump, name="git-read-ahead", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            while self._room_left():
                chunk = os.read(self._fd, _CHUNK)
                if not chunk:
                    break
                self._put(chunk)
        except OSError:  # the pipe failed under us: the reader sees the end of the stream
            pass
        finally:
            self._put(b"")  # the end of the stream

    def _room_left(self) -> bool:
        """Wait while the budget is spent; False once `stop` was called."""
        with self._changed:
            while self._queued >= self._budget and not self._stopping:
                self._changed.wait()
            return not self._stopping

    def _put(self, chunk: bytes) -> None:
        with self._changed:
            self._chunks.append(chunk)
            self._queued += len(chunk)
            self._changed.notify_all()

    def _more(self) -> bool:
        """Move the next chunk into the buffer; False at the end of the stream."""
        with self._changed:
            while not self._chunks:
                self._changed.wait()
            chunk = self._chunks.popleft()
            self._queued -= len(chunk)
            self._changed.notify_all()
        if not chunk:
            self._chunks.appendleft(chunk)  # the end stays the end for later calls
            return False
        self._buffer += chunk
        return True

    def readline(self) -> bytes:
        """Up to and including the next newline; what is left at the end; b"" after it."""
        while (end := self._buffer.find(b"\n", self._searched)) < 0:
            self._searched = len(self._buffer)
            if not self._more():
                return self._take(len(self._buffer))
        return self._take(end + 1)

    def read(self, size: int) -> bytes:
        """``size`` bytes, or fewer at the end of the stream."""
        while len(self._buffer) < size and self._more():
            pass
        return self._take(min(size, len(self._buffer)))

    def discard(self, size: int) -> None:
        """Read past ``size`` bytes without copying them out."""
        while len(self._buffer) < size and self._more():
            pass
        del self._buffer[:size]
        self._searched = 0

    def _take(self, size: int) -> bytes:
        with memoryview(self._buffer) as view:
            taken = bytes(view[:size])  # one copy, not two as slicing a bytearray makes
        del self._buffer[:size]
        self._searched = 0
        return taken

    def stop(self) -> None:
        """Let the thread end: it stops waiting for room and ends at its next read."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()

    def join(self) -> None:
        """Wait for the thread (call once the writer has closed or died)."""
        self._thread.join()
