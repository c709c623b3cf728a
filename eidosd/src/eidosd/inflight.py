"""The requests being handled: what the drain waits for and cuts at SHUTDOWN_TIMEOUT, and what
the WRITE_TIMEOUT watchdog cuts off.

One dict, task → deadline, that the request pipeline updates itself (one insert and one
delete per request: a method call each would cost more than the bookkeeping). Deadlines need
no timer per request either (``asyncio.timeout`` schedules and cancels one for every request,
which costs more than the rest of the cached-response path): one watchdog task, ticking at a
tenth of the deadline (at most once a second), cancels the handlers that overran. A handler
is cut off between 1× and 1.1× the deadline.
"""

from __future__ import annotations

import asyncio
import math

# How often wait_idle looks (shutdown only: the hot path must not wake anyone).
IDLE_POLL_SECONDS = 0.01


class InFlight:
    def __init__(self, write_timeout: float) -> None:
        self.seconds = write_timeout
        # What a request's deadline is ahead of its start (``time.monotonic``, the loop's clock);
        # infinite when WRITE_TIMEOUT is 0 (no deadline).
        self.allowance = write_timeout if write_timeout > 0 else math.inf
        self.tick = min(1.0, write_timeout / 10) if write_timeout > 0 else 1.0
        # The running handlers' tasks and their deadlines: written by the pipeline.
        self.tasks: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._cut: set[asyncio.Task[object]] = set()

    @property
    def count(self) -> int:
        return len(self.tasks)

    def overran(self, task: asyncio.Task[object]) -> bool:
        """True (once) when the watchdog cancelled ``task`` for running past WRITE_TIMEOUT."""
        if task in self._expired:
            self._expired.discard(task)
            return True
        return False

    def was_cut(self, task: asyncio.Task[object]) -> bool:
        """True when shutdown cancelled ``task`` (SHUTDOWN_TIMEOUT)."""
        return task in self._cut

    async def wait_idle(self) -> None:
        # Polled, not an Event: shutdown can wait 10 ms; every request setting one cannot.
        while self.tasks:  # noqa: ASYNC110
            await asyncio.sleep(IDLE_POLL_SECONDS)

    def cut(self) -> int:
        """Cancel every running request (shutdown timeout); each answers 503. Returns how many."""
        for task in list(self.tasks):
            if task not in self._cut:
                self._cut.add(task)
                task.cancel()
        return len(self._cut)

    def expire(self, now: float) -> int:
        """Cancel the handlers whose deadline passed (the watchdog's tick). Returns how many."""
        # A cancelled handler that finished before it saw its CancelledError is forgotten.
        self._expired = {task for task in self._expired if not task.done()}
        expired = 0
        for task, end in list(self.tasks.items()):
            if end <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
                expired += 1
        return expired

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.tick)
            self.expire(loop.time())
