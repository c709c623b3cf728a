"""The request pipeline wrapped around every application handler: request id, rate limit,
deadline, error envelope, metrics and the access log, in one function.

It wraps each route's handler when the route is added (``wrap``), instead of being an aiohttp
middleware: aiohttp's middleware machinery adds coroutine layers and per-request lookups that
cost more than everything this does. Design target: ≥ 0.80× a bare aiohttp handler's
throughput (``python -m bench.server``, LOG_LEVEL=warning); measured 0.70–0.78 on the 2-core
dev VM, 0.80–0.81 in the process (``bench.pipeline_cost``), 0.58 before the hot-path work. What
is left is about ten small steps, none worth dropping a feature for; docs/performance.md has
the step-by-step costs and what was tried (compiling this module with mypyc did not move the
wrk ratio).
A catch-all route gives unknown paths (404) and wrong methods (405) the same treatment.
Probes, ``/metrics`` and the API docs get a thin wrapper instead (``exempt``): never limited,
never counted. Both wrappers also do the connection bookkeeping for READ_TIMEOUT
(connection.py) and, while draining, answer ``Connection: close``: so no response needs an
``on_response_prepare`` signal, whose extra coroutine per response would cost a tenth of the
throughput.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http import HttpProcessingError
from multidict import istr

from eidos_core.errors import EidosError
from eidosd.connection import BUSY, Connections
from eidosd.errors import error_response, from_eidos_error, from_http_exception
from eidosd.inflight import InFlight
from eidosd.keys import Lifecycle
from eidosd.logs import RateLimitedWarnings, request_id_var
from eidosd.metrics import Metrics
from eidosd.ratelimit import RateLimiter

log = logging.getLogger("eidosd")
access_log = logging.getLogger("eidosd.access")

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Pre-folded header names: setting them skips case-folding on every response.
X_REQUEST_ID = istr("X-Request-Id")
X_LIMIT = istr("X-RateLimit-Limit")
X_REMAINING = istr("X-RateLimit-Remaining")
X_RESET = istr("X-RateLimit-Reset")
RETRY_AFTER = istr("Retry-After")
X_API_VERSION = istr("X-API-Version")
# The only version of the API there is; sent on every application response, as the reference does.
API_VERSION = "v1"
UNMATCHED = "unmatched"
# Recorded (metrics, access log) for a request whose client hung up before its response:
# nginx's "client closed request". Nothing is sent; it must not look like a server error.
CLIENT_CLOSED = 499
# Set on every handler wrapper: a test checks that every route has one (connection.py).
WRAPPED = "__eidosd_wrapped__"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Cached = Callable[[web.Request], web.StreamResponse | None]


class RequestIds:
    """UUIDv8 (RFC 9562) ids: a random per-process prefix and a counter.

    Unique across replicas (62 random bits per process) and several times cheaper than uuid4.
    """

    def __init__(self) -> None:
        r = os.urandom(10).hex()
        # version 8 in the third group, variant 0b10 in the fourth; a 48-bit counter last
        # (2^48 ids: nine years at a million requests a second)
        prefix = f"{r[:8]}-{r[8:12]}-8{r[12:15]}-{0x8000 | int(r[15:19], 16) & 0x3FFF:04x}-"
        counter = itertools.count(int.from_bytes(os.urandom(2)))
        # All in C (count, map, %-formatting): no Python frame per id.
        self.next: Callable[[], str] = map((prefix + "%012x").__mod__, counter).__next__


class ClientFaults:
    """Client faults: counted by reason (a fixed label set) and logged as one rate-limited
    WARNING line per reason, never as an error with a traceback (no alert fires for them)."""

    def __init__(self, metrics: Metrics, interval: float = 10.0) -> None:
        self._counter = metrics.client_errors
        self._log = RateLimitedWarnings(log, interval)

    def record(self, reason: str, detail: str, **extra: object) -> None:
        self._counter.labels(reason).inc()
        self._log.warning(reason, f"client fault: {reason}: {detail}", reason=reason, **extra)


class Pipeline:
    def __init__(self, metrics: Metrics, limiter: RateLimiter, in_flight: InFlight, lifecycle: Lifecycle) -> None:
        self.metrics = metrics
        self.lifecycle = lifecycle
        self.limiter = limiter
        self.in_flight = in_flight
        self.ids = RequestIds()
        self.faults = ClientFaults(metrics)
        self.connections: Connections = {}  # filled by serve() (connection.py)
        # The running loop, once the app starts. ``asyncio.current_task()`` without it looks the
        # loop up, and on Python 3.11 that is a getpid() system call per request.
        self.loop: asyncio.AbstractEventLoop | None = None

    async def on_startup(self, app: web.Application) -> None:
        self.loop = asyncio.get_running_loop()

    def wrap(
        self, handler: Handler, route: str | None, method: str | None = None, *, cached: Cached | None = None
    ) -> Handler:
        """``handler`` with the pipeline around it. ``route`` and ``method`` are its metrics
        labels; ``None`` for the catch-all (route ``unmatched``, or the path itself for a 405).

        ``cached``: a plain function that answers from a cache, or returns None to let
        ``handler`` answer. A cache hit then costs no coroutine: the cheapest answer there is.
        """
        stats = self.metrics.http
        bound = stats.route(method, route) if route and method else None
        log_access = access_log.isEnabledFor(logging.INFO)
        rejects = self.metrics.rate_limit_rejects
        limiter = self.limiter
        take = limiter.take  # its clock is time.monotonic: ``started`` serves as "now"
        limit_header = limiter.limit_header
        in_flight = self.in_flight
        running = in_flight.tasks
        allowance = in_flight.allowance
        next_id = self.ids.next
        valid_id = _VALID_REQUEST_ID.fullmatch
        set_request_id = request_id_var.set
        current_task = asyncio.current_task
        pipeline_ = self
        monotonic = time.monotonic
        faults = self.faults
        cut_off = self.cut_off
        internal_error = self.internal_error
        lifecycle = self.lifecycle
        connection = self.connections.get

        async def pipeline(request: web.Request) -> web.StreamResponse:
            started = monotonic()
            rid = request.headers.get(X_REQUEST_ID)
            if rid is None or not valid_id(rid):
                rid = next_id()
            # No reset: aiohttp runs every request in a task of its own, with its own context.
            set_request_id(rid)
            conn = connection(request.transport)
            task: asyncio.Task[object] | None = None  # set while the handler runs (not for a cache hit)
            response: web.StreamResponse
            recorded = 0  # status for metrics and the access log when not the response's
            try:
                remaining, reset = take(started)
                if remaining < 0:
                    remaining = 0
                    rejects.inc()
                    response = error_response(
                        429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded", rid, retryable=True,
                        details={"limit": limiter.rate, "burst": limiter.burst},
                    )  # fmt: skip
                    response.headers[RETRY_AFTER] = str(limiter.retry_after())
                else:
                    try:
                        hit = cached(request) if cached is not None else None
                        if hit is not None:
                            # Answered without awaiting: no other task (the drain, the WRITE_TIMEOUT
                            # watchdog, the READ_TIMEOUT sweep, /metrics) runs before it is done, so
                            # it needs neither the in-flight registry nor the connection mark.
                            response = hit
                        else:
                            task = current_task(pipeline_.loop)  # loop None before startup: looked up then
                            assert task is not None
                            running[task] = started + allowance  # in flight (the drain), with its deadline
                            if conn is not None:
                                conn.started = BUSY  # the header block is in (READ_TIMEOUT, connection.py)
                            response = await handler(request)
                    except asyncio.CancelledError:
                        cut = None if task is None else cut_off(task, rid)
                        if cut is None:
                            raise
                        response = cut
                    except web.HTTPException as exc:
                        response = from_http_exception(exc, request, rid)
                    except EidosError as exc:
                        response = from_eidos_error(exc, rid)
                    except (web.RequestPayloadError, HttpProcessingError) as exc:
                        # The body cannot be read: bad Content-Encoding data, bad chunking.
                        reason = " ".join(str(exc).split())  # aiohttp's text spans lines
                        faults.record("bad_body", reason, path=request.path)
                        response = error_response(
                            400, "INVALID_REQUEST", "request body could not be read", rid, retryable=False,
                            details={"reason": reason},
                        )  # fmt: skip
                    except ConnectionError as exc:
                        transport = request.transport
                        if transport is not None and not transport.is_closing():
                            response = internal_error(request, rid)
                        else:
                            # The client hung up (e.g. mid-body): nobody to answer.
                            faults.record("disconnected", str(exc) or type(exc).__name__, path=request.path)
                            response = error_response(
                                400, "INVALID_REQUEST", "the client closed the connection", rid, retryable=False
                            )
                            recorded = CLIENT_CLOSED
                    except Exception:
                        response = internal_error(request, rid)
                # On every response, 429s included: a refused client learns the same as an
                # admitted one (design.md §3.4).
                headers = response.headers
                headers[X_LIMIT] = limit_header
                headers[X_REMAINING] = str(remaining)
                headers[X_RESET] = str(reset)
                headers[X_REQUEST_ID] = rid
                headers[X_API_VERSION] = API_VERSION
                if lifecycle.draining:
                    response.force_close()  # "Connection: close": reconnect to another replica
            finally:
                if conn is not None:
                    conn.started = None  # idle again: the next byte starts the clock
                if task is not None:
                    del running[task]
            status = recorded or response.status
            elapsed = monotonic() - started
            if bound is not None:
                bound.observe(status, elapsed)
                label = route
            else:
                label = route or (request.path if status == 405 else UNMATCHED)
                stats.observe(request.method, label, status, elapsed)
            if log_access:
                access_log.info(
                    "request",
                    extra={
                        "method": request.method,
                        "route": label,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 3),
                        "request_id": rid,
                        "remote": request.remote,
                    },
                )
            return response

        return _copy_docs(handler, pipeline)

    def internal_error(self, request: web.Request, rid: str) -> web.Response:
        """The 500 for an exception nothing expected (called in its ``except`` block: the log line
        carries its traceback); counted as the reference counts its recovered panics."""
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        self.metrics.panic_recoveries.inc()
        return error_response(500, "INTERNAL", "Internal server error", rid, retryable=True)

    def cut_off(self, task: asyncio.Task[object], rid: str) -> web.Response | None:
        """The answer of a handler cancelled by us: 504 past WRITE_TIMEOUT, 503 at SHUTDOWN_TIMEOUT;
        None when someone else cancelled it (the cancellation then goes on)."""
        in_flight = self.in_flight
        if in_flight.overran(task):
            task.uncancel()
            return error_response(
                504, "TIMEOUT", f"request took longer than {in_flight.seconds:g}s", rid, retryable=True
            )
        if in_flight.was_cut(task):
            task.uncancel()
            return error_response(
                503, "SERVICE_UNAVAILABLE", "the server is shutting down; retry", rid, retryable=True,
                details={"reason": "shutting down"},
            )  # fmt: skip
        return None

    def exempt(self, handler: Handler) -> Handler:
        """``handler`` for probes, ``/metrics`` and the API docs: never limited, never counted,
        no envelope; only the connection bookkeeping (READ_TIMEOUT, connection.py) and, while
        draining, ``Connection: close``."""
        lifecycle = self.lifecycle
        connection = self.connections.get

        async def exempt(request: web.Request) -> web.StreamResponse:
            conn = connection(request.transport)
            if conn is not None:
                conn.started = BUSY
            try:
                response = await handler(request)
            except web.HTTPException as exc:  # aiohttp answers with it (a 404 from the docs)
                if lifecycle.draining:
                    exc.force_close()
                raise
            finally:
                if conn is not None:
                    conn.started = None
            if lifecycle.draining:
                response.force_close()
            return response

        return _copy_docs(handler, exempt)


def _copy_docs(handler: Handler, wrapper: Handler) -> Handler:
    """What aiohttp-apigami reads from a handler (the OpenAPI document), onto its wrapper."""
    for attr in ("__apispec__", "__schemas__", "__name__", "__doc__"):
        if hasattr(handler, attr):
            setattr(wrapper, attr, getattr(handler, attr))
    setattr(wrapper, WRAPPED, True)
    return wrapper


async def fallback(request: web.Request) -> web.StreamResponse:
    """The catch-all route: 405 when the path exists with other methods, else 404."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.canonical == request.path:
            allowed.update(route.method for route in resource)
    allowed.discard("*")
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, sorted(allowed))
    raise web.HTTPNotFound()
