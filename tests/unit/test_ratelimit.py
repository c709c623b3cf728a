from __future__ import annotations

import asyncio

from eidosd.ratelimit import RateLimiter


async def test_burst_exactly_then_refill() -> None:
    limiter = RateLimiter(rate=50, burst=5)
    decisions = [limiter.try_acquire() for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
    assert decisions[5].retry_after >= 1
    await asyncio.sleep(0.1)  # 50/s for 0.1 s: about 5 tokens back
    refilled = sum(limiter.try_acquire().allowed for _ in range(10))
    assert 4 <= refilled <= 6


async def test_reset_counts_seconds_to_full() -> None:
    limiter = RateLimiter(rate=2, burst=10)
    for _ in range(10):
        last = limiter.try_acquire()
    assert last.reset_seconds == 5  # 10 tokens at 2/s
