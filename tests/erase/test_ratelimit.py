"""The adaptive limiter: even spacing, halving on 429 (once per window), gradual recovery."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.erase.ratelimit import RateLimiter


class FakeTime:
    def __init__(self, stall: float = 0.0) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self.stall = stall
        """Extra seconds the first sleep takes (an event loop blocked meanwhile)."""

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds + self.stall
        self.stall = 0.0


def _limiter(rate: float, time: FakeTime) -> RateLimiter:
    return RateLimiter(rate, clock=time.clock, sleep=time.sleep)


def _sent_at(limiter: RateLimiter, time: FakeTime, workers: int) -> list[float]:
    """When each of ``workers`` concurrent callers got its slot."""
    sent: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        sent.append(time.now)

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(workers)))

    asyncio.run(main())
    return sent


def test_requests_are_spaced_at_the_rate() -> None:
    time = FakeTime()
    limiter = _limiter(10, time)

    async def take(n: int) -> None:
        for _ in range(n):
            await limiter.acquire()

    asyncio.run(take(11))
    assert time.now == pytest.approx(101.0)
    assert all(s == pytest.approx(0.1) for s in time.slept)


def test_concurrent_callers_are_spaced_evenly() -> None:
    time = FakeTime()
    sent = _sent_at(_limiter(100, time), time, 16)
    assert sent == pytest.approx([100.0 + n / 100 for n in range(16)])


def test_a_late_caller_catches_up_only_within_the_tolerance() -> None:
    time = FakeTime()
    limiter = _limiter(100, time)
    asyncio.run(limiter.acquire())
    time.now += 5.0  # idle: no burst of 500 requests follows
    for _ in range(4):
        asyncio.run(limiter.acquire())
    assert sum(time.slept) == pytest.approx(0.01)  # three at once, then spaced again


def test_callers_queued_behind_a_stall_do_not_go_out_at_once() -> None:
    time = FakeTime(stall=0.5)  # the event loop is blocked while the second caller waits
    sent = _sent_at(_limiter(100, time), time, 8)
    # Slots are taken on waking, so the 50 slots the stall skipped are not sent in a burst.
    assert sent == pytest.approx([100.0, 100.51, 100.51, 100.51, 100.52, 100.53, 100.54, 100.55])


def test_429_halves_once_per_second() -> None:
    time = FakeTime()
    limiter = _limiter(100, time)
    limiter.throttled()
    limiter.throttled()  # the same burst of 429s
    assert (limiter.rate, limiter.halvings) == (50, 1)
    time.now += 0.9
    limiter.throttled()
    assert limiter.halvings == 1
    time.now += 0.1  # back at the full rate by now, and halved again
    limiter.throttled()
    assert (limiter.rate, limiter.halvings) == (50, 2)


def test_429_does_not_halve_again_within_its_retry_after() -> None:
    time = FakeTime()
    limiter = _limiter(100, time)
    limiter.throttled(retry_after=5)
    time.now += 4.9
    limiter.throttled(retry_after=5)
    assert limiter.halvings == 1
    time.now += 0.1
    limiter.throttled()
    assert limiter.halvings == 2


def test_retry_after_windows_are_at_least_a_second_and_at_most_a_minute() -> None:
    time = FakeTime()
    limiter = _limiter(100, time)
    limiter.throttled(retry_after=0)
    time.now += 0.5
    limiter.throttled(retry_after=0)
    assert limiter.halvings == 1
    time.now += 1.0
    limiter.throttled(retry_after=3600)
    time.now += 60.0
    limiter.throttled()
    assert limiter.halvings == 3


def test_an_isolated_429_is_recovered_from_within_a_second() -> None:
    time = FakeTime()
    limiter = _limiter(100, time)
    time.now += 30.0  # a long stretch at the full rate
    limiter.throttled()
    assert limiter.rate == 50
    time.now += 0.5
    asyncio.run(limiter.acquire())
    assert limiter.rate == pytest.approx(75)
    time.now += 0.5
    asyncio.run(limiter.acquire())
    assert (limiter.rate, limiter.streak) == (100, 1)


def test_repeated_429s_slow_the_recovery_down() -> None:
    time = FakeTime()
    limiter = _limiter(100, time)
    climbs = []
    for _ in range(7):
        limiter.throttled()
        start = time.now
        while limiter.rate < 100:
            time.now += 0.25
            asyncio.run(limiter.acquire())
        climbs.append(time.now - start)
        time.now += 5.0  # back at the full rate, but not for long
    assert climbs == pytest.approx([1, 2, 4, 8, 16, 16, 16], abs=0.25)
    assert limiter.streak == 7
    time.now += 5.0  # ten seconds at the full rate: the next 429 is isolated again
    limiter.throttled()
    assert limiter.streak == 1


def test_a_429_while_still_climbing_halves_the_current_rate() -> None:
    time = FakeTime()
    limiter = _limiter(100, time)
    limiter.throttled()
    time.now += 1.0
    limiter.throttled()  # a second one: climbing at 25/s now
    time.now += 1.0
    limiter.throttled()
    assert limiter.rate == pytest.approx(37.5)


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


@given(
    rate=st.floats(min_value=1, max_value=2000),
    events=st.lists(
        st.tuples(st.sampled_from(["send", "429", "idle"]), st.floats(min_value=0, max_value=3)),
        max_size=60,
    ),
)
def test_the_rate_stays_between_the_floor_and_the_configured_rate(
    rate: float, events: list[tuple[str, float]]
) -> None:
    time = FakeTime()
    limiter = _limiter(rate, time)
    sent: list[float] = []
    for kind, seconds in events:
        if kind == "send":
            asyncio.run(limiter.acquire())
            sent.append(time.now)
        elif kind == "429":
            limiter.throttled(retry_after=seconds)
        else:
            time.now += seconds
        assert min(rate, 0.5) <= limiter.rate <= rate
    # Never faster than the configured rate, beyond the catch-up tolerance of 0.02 s.
    if len(sent) > 1:
        assert len(sent) - 1 <= (sent[-1] - sent[0]) * rate + 0.02 * rate + 1e-6
