"""An adaptive request-rate limiter for asyncio: halves on 429, recovers gradually.

Requests are spaced ``1 / rate`` apart on a virtual schedule (the generic cell rate
algorithm), with a small tolerance so that a late wake-up is caught up instead of lost. A
429 halves the rate (at most once per second, since the requests in flight when the
server started refusing answer 429 together); every second without one adds back a tenth
of the configured rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

_TOLERANCE = 0.02
"""Seconds a caller may be behind schedule and still catch up (a burst of rate times this)."""
_COOLDOWN = 1.0
_RECOVERY_STEPS = 10
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
        self._next = clock()
        self._changed = self._next
        self._halved = -_COOLDOWN
        self.halvings = 0

    async def acquire(self) -> None:
        """Wait for this request's slot."""
        now = self._clock()
        self._recover(now)
        slot = max(self._next, now - _TOLERANCE)
        self._next = slot + 1.0 / self.rate
        if slot > now:
            await self._sleep(slot - now)

    def throttled(self) -> None:
        """The server answered 429: halve the rate, unless it was halved just now."""
        now = self._clock()
        if now - self._halved < _COOLDOWN:
            return
        self._halved = self._changed = now
        self.rate = max(self._floor, self.rate / 2)
        self.halvings += 1

    def _recover(self, now: float) -> None:
        if self.rate >= self.configured:
            self._changed = now
            return
        step = self.configured / _RECOVERY_STEPS
        self.rate = min(self.configured, self.rate + step * (now - self._changed))
        self._changed = now
