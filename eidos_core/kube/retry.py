"""Retrying transient Kubernetes API failures within a deadline.

A one-shot agent Job (``backoffLimit: 0``) must not lose its snapshot to one hiccup of the API
server: a 429 from API Priority and Fairness, a 5xx while a control-plane node restarts, a
connection reset by a load balancer, a request that hangs. Those are retried with capped
exponential backoff and jitter (never sooner than the server's ``Retry-After``) until a deadline;
anything else (400, 403, 404, 409, 422, a bad certificate) is raised at once, for the caller's
own handling. The backoff arithmetic is pure functions; :class:`Retrier` does the waiting.

The policy comes from the caller or, where the call is buried under code that does not pass one
(``write_document`` → ``write_configmap``), from :func:`use_policy` (a context variable).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

log = logging.getLogger("eidos_core.kube.retry")

T = TypeVar("T")

# 501 and 505 say the server will never do it; every other 5xx may pass on the next try.
_PERMANENT_5XX = frozenset({501, 505})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long and how often to retry.

    ``deadline`` bounds the whole operation (every attempt and every wait); ``attempt_timeout``
    bounds one request, since the client's own default is no timeout at all and a hung connection
    would otherwise use up the deadline in one go.
    """

    deadline: float = 30.0  # an interactive default; the agent Job sets a longer one
    base_delay: float = 0.5
    max_delay: float = 10.0
    attempt_timeout: float = 30.0

    def __post_init__(self) -> None:
        for name in ("deadline", "base_delay", "max_delay", "attempt_timeout"):
            value = getattr(self, name)
            if not value >= 0 or value == float("inf"):  # also refuses NaN
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


DEFAULT_POLICY = RetryPolicy()
NO_RETRY = RetryPolicy(deadline=0.0)
_current: ContextVar[RetryPolicy | None] = ContextVar("eidos_kube_retry_policy", default=None)


def current_policy() -> RetryPolicy:
    return _current.get() or DEFAULT_POLICY


@contextlib.contextmanager
def use_policy(policy: RetryPolicy) -> Iterator[None]:
    """Make ``policy`` the default for Kubernetes calls made inside the block (this task and its children)."""
    token = _current.set(policy)
    try:
        yield
    finally:
        _current.reset(token)


# --- pure parts -------------------------------------------------------------------------------------


def backoff_delay(attempt: int, *, base: float, cap: float, rand: float) -> float:
    """The wait before retry number ``attempt`` (1-based): ``base·2^(attempt-1)`` capped at ``cap``,
    of which the upper half is random (``rand`` in [0, 1)) so that many agents do not retry in step,
    while the lower half keeps a floor under the wait."""
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 62))
    return ceiling / 2 + ceiling / 2 * rand


def parse_retry_after(value: str, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date; ``None`` when unreadable."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def transient_reason(exc: BaseException) -> str | None:
    """Why ``exc`` is worth another try (one short phrase), or ``None`` when it is not."""
    # Imported here, not at the top: the agent sets its policy on every run, and a node-only run
    # should not pay for loading the Kubernetes client (about 0.4 s).
    import aiohttp
    from kubernetes_asyncio.client.exceptions import ApiException

    if isinstance(exc, ApiException):
        status = exc.status or 0
        if status == 429 or (500 <= status <= 599 and status not in _PERMANENT_5XX):
            return f"HTTP {status} {exc.reason or ''}".strip()
        return None
    if isinstance(exc, aiohttp.ClientSSLError):  # a certificate does not fix itself
        return None
    if isinstance(exc, (TimeoutError, aiohttp.ServerTimeoutError)):
        return "timed out"
    if isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, ConnectionError)):
        return f"{type(exc).__name__}: {exc}".rstrip(": ")
    return None


def retry_after(exc: BaseException) -> float | None:
    """The server's ``Retry-After``, in seconds, if ``exc`` carries one."""
    headers: Mapping[str, str] | None = getattr(exc, "headers", None)
    if not headers:
        return None
    value = headers.get("Retry-After")
    return parse_retry_after(value) if value else None


# --- the waiting part -------------------------------------------------------------------------------


class Retrier:
    """Retries calls under one deadline, which starts when the Retrier is made: every call of one
    operation (a read, then a write) shares it, so the operation as a whole stays bounded."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy or current_policy()
        self._clock, self._sleep, self._rand = clock, sleep, rand
        self._deadline = clock() + self.policy.deadline
        self.retries = 0  # how many retries all calls took, for tests and messages

    def remaining(self) -> float:
        return max(0.0, self._deadline - self._clock())

    async def call(self, what: str, make: Callable[[], Awaitable[T]]) -> T:
        """Await ``make()`` until it succeeds, fails for good, or the deadline leaves no room.

        ``make`` must start a new request each time (a coroutine cannot be awaited twice). The last
        exception is raised unchanged, so callers translate it as they would without retries.
        """
        attempt = 0
        while True:
            attempt += 1
            limit = min(self.policy.attempt_timeout, self.remaining()) or self.policy.attempt_timeout
            try:
                async with asyncio.timeout(limit):
                    return await make()
            except Exception as exc:
                reason = transient_reason(exc)
                if reason is None:
                    raise
                delay = self._delay(exc, attempt)
                left = self.remaining()
                if delay is None or delay > left:
                    if self.policy.deadline:
                        log.warning("%s failed (%s); giving up after %d attempt(s)", what, reason, attempt)
                    raise
                log.warning(
                    "%s failed (%s); retry %d in %.1fs (%.0fs left of %gs)",
                    what, reason, attempt, delay, left, self.policy.deadline,
                )  # fmt: skip
                self.retries += 1
                await self._sleep(delay)

    def _delay(self, exc: BaseException, attempt: int) -> float | None:
        if self.policy.deadline <= 0:
            return None
        ours = backoff_delay(attempt, base=self.policy.base_delay, cap=self.policy.max_delay, rand=self._rand())
        # Never sooner than the server asks; and a "Retry-After: 0" still backs off, not spins.
        return max(ours, retry_after(exc) or 0.0)
