"""The retry arithmetic and the Retrier, with a fake clock (no waiting, no network)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import aiohttp
import pytest
from kubernetes_asyncio.client.exceptions import ApiException
from multidict import CIMultiDict, CIMultiDictProxy

from eidos_core.kube.retry import (
    NO_RETRY,
    Retrier,
    RetryPolicy,
    backoff_delay,
    current_policy,
    parse_retry_after,
    transient_reason,
    use_policy,
)


def api_exception(status: int, headers: dict[str, str] | None = None) -> ApiException:
    exc = ApiException(status=status, reason="scripted")
    exc.headers = CIMultiDictProxy(CIMultiDict(headers or {}))  # as the client sets them
    return exc


def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() -> None:
    lows = [backoff_delay(n, base=0.5, cap=10.0, rand=0.0) for n in range(1, 9)]
    highs = [backoff_delay(n, base=0.5, cap=10.0, rand=0.999999) for n in range(1, 9)]
    assert lows == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert [round(h, 3) for h in highs] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert backoff_delay(10_000, base=0.5, cap=10.0, rand=0.5) == 7.5  # no overflow on long runs


def test_retry_after_as_seconds_or_http_date() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:07 GMT", now=now) == 7.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0  # in the past: now
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-1") is None


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_throttling_and_server_errors_are_transient(status: int) -> None:
    assert transient_reason(api_exception(status)) == f"HTTP {status} scripted"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 413, 422, 501])
def test_client_errors_are_not_transient(status: int) -> None:
    assert transient_reason(api_exception(status)) is None


def test_connection_failures_and_timeouts_are_transient_but_tls_and_bugs_are_not() -> None:
    assert transient_reason(aiohttp.ServerDisconnectedError()) is not None
    assert transient_reason(ConnectionResetError(104, "Connection reset by peer")) is not None
    assert transient_reason(aiohttp.ClientPayloadError("truncated")) is not None
    assert transient_reason(TimeoutError()) == "timed out"
    assert transient_reason(aiohttp.ClientSSLError(aiohttp.client_reqrep.ConnectionKey(
        "h", 443, True, True, None, None, None), OSError("bad certificate"))) is None  # fmt: skip
    assert transient_reason(ValueError("a bug")) is None
    assert transient_reason(aiohttp.InvalidURL("x")) is None


class FakeTime:
    """A clock that only moves when the Retrier sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(*outcomes: BaseException | str) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    """A call that raises or returns the next outcome each time; also counts calls."""
    calls = [0]

    async def make() -> str:
        outcome = outcomes[min(calls[0], len(outcomes) - 1)]
        calls[0] += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return make, calls


def retrier(policy: RetryPolicy, fake: FakeTime) -> Retrier:
    return Retrier(policy, clock=fake.clock, sleep=fake.sleep, rand=lambda: 0.0)


async def test_transient_failures_are_retried_with_growing_waits(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeTime()
    make, calls = scripted(api_exception(503), aiohttp.ServerDisconnectedError(), api_exception(500), "done")
    r = retrier(RetryPolicy(deadline=60, base_delay=1, max_delay=10), fake)
    with caplog.at_level(logging.WARNING, logger="eidos_core.kube.retry"):
        assert await r.call("update ConfigMap ns/x", make) == "done"
    assert calls[0] == 4 and r.retries == 3
    assert fake.sleeps == [0.5, 1.0, 2.0]
    messages = [rec.getMessage() for rec in caplog.records]
    assert len(messages) == 3 and all(rec.levelno == logging.WARNING for rec in caplog.records)
    assert messages[0].startswith("update ConfigMap ns/x failed (HTTP 503 scripted); retry 1 in 0.5s")
    assert "ServerDisconnectedError" in messages[1]


async def test_retry_after_is_honoured_and_zero_still_backs_off() -> None:
    fake = FakeTime()
    make, _ = scripted(api_exception(429, {"Retry-After": "7"}), api_exception(429, {"Retry-After": "0"}), "done")
    assert await retrier(RetryPolicy(deadline=60, base_delay=1), fake).call("get x", make) == "done"
    assert fake.sleeps == [7.0, 1.0]


async def test_a_wait_past_the_deadline_gives_up_with_the_last_error() -> None:
    fake = FakeTime()
    make, calls = scripted(api_exception(503))
    with pytest.raises(ApiException) as info:
        await retrier(RetryPolicy(deadline=10, base_delay=1, max_delay=4), fake).call("get x", make)
    assert info.value.status == 503
    assert sum(fake.sleeps) <= 10 and calls[0] == len(fake.sleeps) + 1 > 2
    fake = FakeTime()
    make, calls = scripted(api_exception(429, {"Retry-After": "30"}), "done")
    with pytest.raises(ApiException):  # the server asks for more time than is left: no pointless wait
        await retrier(RetryPolicy(deadline=10), fake).call("get x", make)
    assert calls[0] == 1 and fake.sleeps == []


async def test_permanent_errors_and_no_retry_policy_fail_at_once() -> None:
    fake = FakeTime()
    make, calls = scripted(api_exception(422), "done")
    with pytest.raises(ApiException):
        await retrier(RetryPolicy(deadline=60), fake).call("create x", make)
    make, calls = scripted(api_exception(503), "done")
    with pytest.raises(ApiException):
        await retrier(NO_RETRY, fake).call("create x", make)
    assert calls[0] == 1 and fake.sleeps == []


async def test_one_deadline_spans_every_call_of_a_retrier() -> None:
    fake = FakeTime()
    r = retrier(RetryPolicy(deadline=3, base_delay=2, max_delay=2), fake)
    make, _ = scripted(api_exception(503), "read")
    assert await r.call("get x", make) == "read"  # waited 1 s of the 3
    make, calls = scripted(api_exception(503), api_exception(503), api_exception(503), "written")
    with pytest.raises(ApiException):  # the 2 s left allow two more waits of 1 s, not a third
        await r.call("update x", make)
    assert fake.sleeps == [1.0, 1.0, 1.0] and calls[0] == 3


async def test_a_hung_attempt_is_cut_by_the_attempt_timeout() -> None:
    calls = [0]

    async def make() -> str:
        calls[0] += 1
        if calls[0] == 1:
            await asyncio.sleep(60)  # a request that never answers
        return "done"

    r = Retrier(RetryPolicy(deadline=30, base_delay=0.01, max_delay=0.01, attempt_timeout=0.05))
    async with asyncio.timeout(10):
        assert await r.call("get x", make) == "done"
    assert calls[0] == 2


def test_policy_context_and_validation() -> None:
    assert current_policy() == RetryPolicy()
    with use_policy(RetryPolicy(deadline=5)):
        assert current_policy().deadline == 5
        assert Retrier().policy.deadline == 5
    assert current_policy() == RetryPolicy()
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="deadline"):
            RetryPolicy(deadline=bad)
