from __future__ import annotations

import asyncio

import pytest

from eidosd.ratelimit import Decision, RateLimiter


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_starts_full_burst_exactly_then_refused() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=50, burst=5, clock=clock)
    decisions = [limiter.try_acquire() for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    assert [d.retry_after for d in decisions[:5]] == [0] * 5
    assert decisions[5] == Decision(False, 0, 1, 1)  # 5 tokens at 50/s: 0.1 s, rounded up


def test_refills_at_rate_and_never_above_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=64, burst=5, clock=clock)
    for _ in range(5):
        limiter.try_acquire()
    clock.advance(3 / 64)  # 3 tokens back (binary fractions: no float rounding in the test)
    assert [limiter.try_acquire().allowed for _ in range(4)] == [True, True, True, False]
    clock.advance(3600)  # idle for an hour: full, not more
    assert [limiter.try_acquire().remaining for _ in range(5)] == [4, 3, 2, 1, 0]
    assert not limiter.try_acquire().allowed


def test_steady_hammering_admits_burst_plus_rate_times_seconds() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=100, burst=200, clock=clock)
    admitted = 0
    for _ in range(10_000):  # 10 s in 1 ms steps, 3 tries per step
        for _ in range(3):
            admitted += limiter.try_acquire().allowed
        clock.advance(0.001)
    assert admitted in (1199, 1200, 1201)  # burst + rate * seconds, give or take float rounding


def test_reset_and_retry_after_round_up() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2, burst=10, clock=clock)
    for _ in range(10):
        last = limiter.try_acquire()
    assert last == Decision(True, 0, 5, 0)  # 10 tokens at 2/s
    refused = limiter.try_acquire()
    assert refused == Decision(False, 0, 5, 1)  # one token in 0.5 s: Retry-After is whole seconds, ≥ 1
    slow = RateLimiter(rate=0.25, burst=1, clock=clock)
    assert slow.try_acquire() == Decision(True, 0, 4, 0)
    assert slow.try_acquire().retry_after == 4
    clock.advance(3)
    assert slow.try_acquire() == Decision(False, 0, 1, 1)  # 0.75 tokens: a quarter token to go
    clock.advance(1)
    assert slow.try_acquire().allowed


def test_refusal_takes_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1, burst=1, clock=clock)
    assert limiter.try_acquire().allowed
    for _ in range(100):
        assert not limiter.try_acquire().allowed
    clock.advance(1)
    assert limiter.try_acquire().allowed


def test_clock_standing_still_or_going_back_adds_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=10, burst=1, clock=clock)
    assert limiter.try_acquire().allowed
    clock.advance(-5)
    assert not limiter.try_acquire().allowed
    clock.advance(5.1)  # back to where it was, plus 0.1 s: one token
    assert limiter.try_acquire().allowed


@pytest.mark.parametrize(
    ("rate", "header"),
    [(100, "100"), (100.0, "100"), (0.5, "0.5"), (1e6, "1000000"), (1e-7, "0.0000001"), (2.25, "2.25")],
)
def test_limit_header_is_the_rate_per_second(rate: float, header: str) -> None:
    assert RateLimiter(rate=rate, burst=200).limit_header == header


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (float("inf"), 1), (float("nan"), 1), (1, 0)])
def test_bad_parameters_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate must be"):
        RateLimiter(rate=rate, burst=burst)


async def test_default_clock_is_real_time() -> None:
    limiter = RateLimiter(rate=50, burst=5)
    decisions = [limiter.try_acquire() for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    await asyncio.sleep(0.1)  # 50/s for 0.1 s: about 5 tokens back
    refilled = sum(limiter.try_acquire().allowed for _ in range(10))
    assert 4 <= refilled <= 6
