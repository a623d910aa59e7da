"""An adaptive request-rate limiter for asyncio: halves on 429, recovers gradually.

Requests are spaced ``1 / rate`` apart on a virtual schedule (the generic cell rate
algorithm), with a small tolerance so that a late wake-up is caught up instead of lost. A
slot is taken when its request is sent, not handed out in advance, so requests stay evenly
paced however many workers wait, and after an idle gap or a stall only that small burst
goes out: the limiter never outruns a server's bucket that enforces the same rate.

A 429 halves the rate, at most once per hold window: the requests in flight when the server
started refusing answer 429 together, so one window (a second, or the ``Retry-After`` the
server gave, if longer) counts as one signal. The rate then climbs back linearly. How fast
depends on whether the 429 was isolated: after a 429 that followed a stretch at the full
rate (timing jitter against a server enforcing exactly our rate), the full rate is back
within a second; each further halving before the full rate has held for a while doubles
the climb time, so a server that really allows less than ``rate`` gets a slow, careful
approach.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

_TOLERANCE = 0.02
"""Seconds a caller may be behind schedule and still catch up (a burst of rate times this)."""
_MIN_HOLD = 1.0
"""Seconds after a halving in which further 429s do not halve again."""
_MAX_HOLD = 60.0
"""Longest hold a ``Retry-After`` stretches the window to."""
_CLIMB = 1.0
"""Seconds from half to the full rate after an isolated 429."""
_MAX_CLIMB = 16.0
"""Seconds from half to the full rate after many 429s in a row (doubling up to this)."""
_SETTLED = 10.0
"""Seconds at the full rate without a 429 after which the next 429 counts as isolated."""
_FLOOR_DIVISOR = 64


class RateLimiter:
    """Spaces requests to at most ``rate`` per second, adapting to 429s.

    Raises:
        ValueError: a rate that is not positive.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError("the rate must be positive")
        self.configured = float(rate)
        self.rate = float(rate)
        self._floor = max(self.configured / _FLOOR_DIVISOR, min(self.configured, 0.5))
        self._clock = clock
        self._sleep = sleep
        self._turn = asyncio.Lock()
        self._next = clock()
        self._changed = self._next
        self._full_since: float | None = self._next
        self._hold_until = -math.inf
        self._climb = _CLIMB
        self.halvings = 0
        """How often the rate was halved (one per hold window)."""
        self.streak = 0
        """Halvings since the rate last held at the full rate for a while."""

    async def acquire(self) -> None:
        """Wait for this request's slot: the next one free at the moment it is sent.

        Callers queue on a lock and only the first one sleeps, so a slot is taken when the
        caller actually wakes up: when the event loop was blocked (a journal commit, a busy
        machine), the callers queued behind it go out spaced again, not all at once.
        """
        async with self._turn:
            while True:
                now = self._clock()
                self._recover(now)
                slot = max(self._next, now - _TOLERANCE)
                if slot <= now:
                    break
                await self._sleep(slot - now)
            self._next = slot + 1.0 / self.rate

    def throttled(self, retry_after: float | None = None) -> None:
        """The server answered 429 (with ``Retry-After`` seconds, if it gave them).

        Halves the rate unless it was halved within the current hold window.
        """
        now = self._clock()
        if now < self._hold_until:
            return
        self._recover(now)
        settled = self._full_since is not None and now - self._full_since >= _SETTLED
        self.streak = 1 if settled else self.streak + 1
        self._climb = min(_MAX_CLIMB, _CLIMB * 2.0 ** (self.streak - 1))
        hold = _MIN_HOLD if retry_after is None else min(_MAX_HOLD, max(_MIN_HOLD, retry_after))
        self._hold_until = now + hold
        self._changed = now
        self._full_since = None
        self.rate = max(self._floor, self.rate / 2)
        self.halvings += 1

    def _recover(self, now: float) -> None:
        if self.rate < self.configured:
            # NOTE: linear in the configured rate, so half the rate comes back in `_climb` s.
            step = self.configured / (2.0 * self._climb)
            self.rate = min(self.configured, self.rate + step * (now - self._changed))
            if self.rate >= self.configured:
                self._full_since = now
        self._changed = now
