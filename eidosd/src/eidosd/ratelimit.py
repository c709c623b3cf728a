"""One token bucket per process (aiolimiter): RATE_LIMIT tokens/s, capacity RATE_BURST.

Non-blocking: a request either takes a token now or is refused with how long to wait.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from aiolimiter import AsyncLimiter


class Decision(NamedTuple):
    allowed: bool
    remaining: int
    reset_seconds: int  # until the bucket is full again
    retry_after: int  # until one token is available (refusals only)


class RateLimiter:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        # aiolimiter is a leaky bucket of capacity max_rate draining max_rate/time_period per
        # second: exactly a token bucket of `burst` tokens refilled at `rate` per second.
        self._bucket = AsyncLimiter(max_rate=burst, time_period=burst / rate)
        self.limit_header = str(burst)

    def _level(self) -> float:
        # has_capacity() leaks the bucket up to now; the level itself is not public API.
        return float(self._bucket._level)

    def try_acquire(self) -> Decision:
        bucket = self._bucket
        if bucket.has_capacity(1):
            # Capacity is there, so acquire() completes without suspending: take it inline.
            bucket._level += 1
            level = bucket._level
            return Decision(True, int(self.burst - level), -int(-level // self.rate), 0)
        level = self._level()
        wait = (level + 1 - self.burst) / self.rate
        return Decision(False, 0, math.ceil(level / self.rate), max(1, math.ceil(wait)))
