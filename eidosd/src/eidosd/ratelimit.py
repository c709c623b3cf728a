"""One token bucket per process: RATE_LIMIT tokens/s, capacity RATE_BURST, starts full.

Non-blocking: a request either takes a token now or is refused with how long to wait.

The bucket is our own, not aiolimiter's. aiolimiter's public API can say whether a token is
there (``has_capacity``) and take one (``acquire``, a coroutine), but not how many are left,
and ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` need exactly that: reading it meant
aiolimiter's private ``_level``. A token bucket is a few lines of arithmetic on a monotonic
clock (the token count as of the last call, refilled lazily), and the clock can be injected
so tests step time instead of sleeping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple


class Decision(NamedTuple):
    allowed: bool
    remaining: int  # whole tokens left after this request's was taken (0 when refused)
    reset_seconds: int  # until the bucket is full again, rounded up
    retry_after: int  # until one token is available, rounded up, at least 1 (refusals only; else 0)


class RateLimiter:
    """Token bucket: ``burst`` tokens, refilled continuously at ``rate`` tokens per second."""

    __slots__ = ("_clock", "_tokens", "_updated", "burst", "limit_header", "rate")

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if not rate > 0 or math.isinf(rate) or burst < 1:
            raise ValueError(f"rate must be a finite number > 0 and burst >= 1 (rate={rate!r}, burst={burst!r})")
        self.rate = rate
        self.burst = burst
        # X-RateLimit-Limit: the rate in tokens per second, as the reference sends it (the burst
        # is in the 429's details); plain decimal, never an exponent.
        self.limit_header = format(Decimal(repr(rate)).normalize(), "f")
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def try_acquire(self) -> Decision:
        """Take one token if there is one; never waits."""
        remaining, reset = self.take(self._clock())
        if remaining >= 0:
            return Decision(True, remaining, reset, 0)
        return Decision(False, 0, reset, self.retry_after())

    def take(self, now: float) -> tuple[int, int]:
        """:meth:`try_acquire` in the request pipeline's form (no NamedTuple to build, the clock
        already read: ``now`` is this limiter's clock, ``time.monotonic`` unless a test gave
        another): whole tokens left, -1 when refused; and seconds until the bucket is full."""
        rate = self.rate
        burst = self.burst
        tokens = self._tokens
        if now > self._updated:  # an injected clock may stand still; a monotonic one never goes back
            tokens += (now - self._updated) * rate
            if tokens > burst:
                tokens = burst
            self._updated = now
        if tokens >= 1:
            tokens -= 1
            self._tokens = tokens
            return int(tokens), math.ceil((burst - tokens) / rate)
        self._tokens = tokens
        return -1, math.ceil((burst - tokens) / rate)

    def retry_after(self) -> int:
        """After a refusal: seconds until one token is there, rounded up, at least 1."""
        return max(1, math.ceil((1 - self._tokens) / self.rate))
