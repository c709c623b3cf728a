"""Per-connection bookkeeping that aiohttp does not offer: a bound on how long a request's
header block may take to arrive (READ_TIMEOUT).

aiohttp 3.14 bounds an idle connection by its keep-alive timeout only, and that timer also
covers a client dribbling its request line and headers byte by byte (slowloris). It has no
hook for "the first byte of a request arrived". So each connection's protocol is wrapped in
:class:`Connection`, a plain asyncio protocol that forwards every callback to aiohttp's
``RequestHandler`` and notes when request bytes start arriving while no request is being
handled. :class:`HeaderTimeouts` sweeps the open connections a few times per READ_TIMEOUT
and answers 408 to those whose header block is overdue. Everything used is public asyncio
API (protocol callbacks, ``transport.get_protocol()``); aiohttp's ``web.Server`` is the
documented protocol factory.

Who says a request was dispatched and when it is answered: the handler wrappers. Every route
is wrapped (pipeline.py: ``Pipeline.wrap`` for the application and the catch-all,
``Pipeline.exempt`` for probes, ``/metrics`` and the API docs; a test walks the router to
keep it so). A wrapper sets ``Connection.started`` to ``BUSY`` when the handler starts (the
header block is in: bytes from now on are its body, or a pipelined request, never timed) and
to ``None`` when the handler is done, just before aiohttp writes the response (the connection
is idle again: the next byte starts the clock). An answer given without awaiting (a cache hit,
a 429) skips ``BUSY`` and only resets: nothing, the sweep included, runs in between.

Not an ``on_response_prepare`` signal: one registered handler costs an extra coroutine per
response, about a tenth of eidosd's throughput. Not a scan for the header block's end in
``data_received`` either: telling a body's bytes from the next request's needs the body's
framing (Content-Length, chunked), i.e. a second HTTP parser; a scan that did not would time
a keep-alive connection from its last POST body and cut it while idle. The wrappers know it
exactly. The one gap, as with the signal: a request whose first bytes arrived while the one
before it was still being handled (pipelining) is not timed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable
from time import monotonic

from eidosd.errors import JSON, timestamp

log = logging.getLogger("eidosd")


def header_timeout_response(seconds: float) -> bytes:
    """The 408 a connection cut for slow headers receives before it is closed (no request id
    exists yet: the headers never arrived)."""
    body = json.dumps(
        {
            "code": "REQUEST_TIMEOUT",
            "message": f"request headers not received within {seconds:g}s",
            "requestId": "",
            "timestamp": timestamp(),
            "retryable": True,
        }
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        f"Content-Type: {JSON}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


# Connection.started while a handler runs: bytes arriving then are its body (or a pipelined
# request), never an overdue header block.
BUSY = math.inf


# The open connections by transport: how a handler wrapper finds its request's, with
# ``connections.get(request.transport)`` (None when not served by ``serve``, e.g. in tests,
# or when the transport is gone: None itself is never a key).
Connections = dict[asyncio.BaseTransport | None, "Connection"]


class Connection(asyncio.Protocol):
    """aiohttp's protocol for one connection, with the time its pending request began.

    ``started``: ``None`` while idle; the loop time (``time.monotonic``) of the first byte of a
    request whose handler has not started; :data:`BUSY` while a handler runs. The handler
    wrappers set it (pipeline.py, per request: plain attribute writes, not method calls):
    ``BUSY`` when the handler starts, ``None`` when it is done.
    """

    __slots__ = ("_inner", "_registry", "started", "transport")

    def __init__(self, inner: asyncio.Protocol, registry: Connections) -> None:
        self._inner = inner
        self._registry = registry
        self.transport: asyncio.Transport | None = None
        self.started: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._registry[transport] = self
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            del self._registry[self.transport]
        self.transport = None
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.started is None:
            self.started = monotonic()  # the event loop's clock
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class HeaderTimeouts:
    """The open connections, and the sweep that cuts those whose header block is overdue."""

    def __init__(self, seconds: float, on_cut: Callable[[Connection], None], connections: Connections) -> None:
        self.seconds = seconds
        self.connections = connections
        self._on_cut = on_cut
        # A connection is cut between 1 and 1.25 times READ_TIMEOUT after its first byte.
        self.tick = min(1.0, seconds / 4)

    def factory(self, make_inner: Callable[[], asyncio.Protocol]) -> Callable[[], Connection]:
        def make() -> Connection:
            return Connection(make_inner(), self.connections)

        return make

    def sweep(self, now: float) -> int:
        cut = 0
        limit = now - self.seconds
        for conn in list(self.connections.values()):
            started = conn.started
            if started is None or started > limit or conn.transport is None:  # BUSY > any limit
                continue
            transport = conn.transport
            conn.started = None
            if transport.get_write_buffer_size():
                # A response is still being written to a client that stopped reading: a 408
                # would land inside it, and close() would wait for the client. Cut it now.
                transport.abort()
            elif not transport.is_closing():
                transport.write(header_timeout_response(self.seconds))
                transport.close()  # flushes the 408 first
            self._on_cut(conn)
            cut += 1
        return cut

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.tick)
            try:
                self.sweep(loop.time())
            except Exception:  # a bug here must not end the guard for the process's lifetime
                log.exception("header timeout sweep failed")
