"""Handler deadlines (WRITE_TIMEOUT) without a timer per request.

``asyncio.timeout`` schedules and cancels a timer for every request, which costs more than
the rest of the cached-response path. Instead, running handlers are registered in a dict and
one watchdog task, ticking at a tenth of the deadline (at most once a second), cancels those
that overran. A handler is cut off between 1× and 1.1× the deadline.
"""

from __future__ import annotations

import asyncio
import time


class Deadlines:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.tick = min(1.0, seconds / 10) if seconds > 0 else 1.0
        self._running: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()

    def start(self, task: asyncio.Task[object]) -> None:
        if self.seconds > 0:  # 0 disables the deadline
            self._running[task] = time.monotonic() + self.seconds  # the event loop's clock

    def finish(self, task: asyncio.Task[object]) -> bool:
        """Unregister; True when the watchdog cancelled this task for overrunning."""
        self._running.pop(task, None)
        if task in self._expired:
            self._expired.discard(task)
            return True
        return False

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.tick)
            now = loop.time()
            for task, end in list(self._running.items()):
                if end <= now and task not in self._expired:
                    self._expired.add(task)
                    task.cancel()
