"""Supervised background tasks: a crash is logged with its trace, counted, and the task is
started again after a capped exponential backoff.

A background task that dies silently is the worst failure a server can have: it keeps
answering, with stale data, and nothing says so. :class:`TaskHealth` tells ``/ready`` whether
the task is running, so a replica without a live recipe-data follower is taken out of
service until the restart succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import Counter

log = logging.getLogger("eidosd")

RESTART_FIRST_SECONDS = 0.5
RESTART_MAX_SECONDS = 30.0
# A run that lasted this long was healthy: the next crash starts the backoff from the beginning.
HEALTHY_RUN_SECONDS = 60.0


@dataclass(slots=True)
class TaskHealth:
    """Whether a supervised task is running, and why not (for ``/ready``)."""

    name: str
    running: bool = False
    restarts: int = 0
    last_error: str = ""

    @property
    def reason(self) -> str:
        if self.running:
            return ""
        if self.last_error:
            return f"background task {self.name} is restarting after an error: {self.last_error}"
        return f"background task {self.name} is not running"


async def supervise(
    health: TaskHealth,
    body: Callable[[], Awaitable[None]],
    restarts: Counter,
    *,
    first: float = RESTART_FIRST_SECONDS,
    cap: float = RESTART_MAX_SECONDS,
) -> None:
    """Run ``body`` until cancelled, restarting it whenever it raises or returns."""
    delay = first
    while True:
        started = time.monotonic()
        health.running = True
        error: BaseException | None = None
        try:
            await body()
        except asyncio.CancelledError:
            health.running = False
            raise
        except Exception as exc:
            error = exc
        health.running = False
        if time.monotonic() - started >= HEALTHY_RUN_SECONDS:
            delay = first
        if error is not None:
            health.last_error = f"{type(error).__name__}: {error}"[:200]
            log.error("background task %s crashed; restarting in %.1fs", health.name, delay, exc_info=error)
        else:
            # Bodies run until cancelled; returning is a bug of its own, treated like a crash.
            health.last_error = "returned unexpectedly"
            log.error("background task %s returned unexpectedly; restarting in %.1fs", health.name, delay)
        health.restarts += 1
        restarts.labels(health.name).inc()
        await asyncio.sleep(delay)
        delay = min(delay * 2, cap)
