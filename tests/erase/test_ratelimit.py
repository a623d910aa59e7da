"""The adaptive limiter: spacing, halving on 429 (once per second), gradual recovery."""

from __future__ import annotations

import asyncio

import pytest

from cio_sec.erase.ratelimit import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _limiter(rate: float, time: FakeTime) -> RateLimiter:
    return RateLimiter(rate, clock=time.clock, sleep=time.sleep)


def test_requests_are_spaced_at_the_rate() -> None:
    time = FakeTime()
    limiter = _limiter(10, time)

    async def take(n: int) -> None:
        for _ in range(n):
            await limiter.acquire()

    asyncio.run(take(11))
    assert time.now == pytest.approx(101.0)
    assert all(s == pytest.approx(0.1) for s in time.slept)


def test_a_late_caller_catches_up_only_within_the_tolerance() -> None:
    time = FakeTime()
    limiter = _limiter(100, time)
    asyncio.run(limiter.acquire())
    time.now += 5.0  # idle: no burst of 500 requests follows
    for _ in range(4):
        asyncio.run(limiter.acquire())
    assert sum(time.slept) == pytest.approx(0.01)  # three at once, then spaced again


def test_429_halves_once_per_second_and_recovers_gradually() -> None:
    time = FakeTime()
    limiter = _limiter(100, time)
    limiter.throttled()
    limiter.throttled()  # the same burst of 429s
    assert limiter.rate == 50
    time.now += 1.0
    limiter.throttled()
    assert limiter.rate == 25
    assert limiter.halvings == 2
    time.now += 1.0
    asyncio.run(limiter.acquire())
    assert limiter.rate == pytest.approx(35)
    time.now += 60
    asyncio.run(limiter.acquire())
    assert limiter.rate == 100


def test_the_rate_never_falls_below_a_floor() -> None:
    time = FakeTime()
    limiter = _limiter(1, time)
    for _ in range(10):
        time.now += 1.0
        limiter.throttled()
    assert limiter.rate == 0.5


def test_the_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
