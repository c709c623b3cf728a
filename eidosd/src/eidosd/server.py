"""Running the app: listen, bound slow request headers, and on SIGTERM/SIGINT drain so that
nothing already sent to us is lost (design.md §3.13).

Order on a signal:

1. ``/ready`` turns 503 and every response from now on carries ``Connection: close``, so
   keep-alive clients reconnect (to other replicas once the endpoints update) instead of
   reusing a connection that is about to go away.
2. New connections are still accepted for SHUTDOWN_DELAY (endpoints are being removed).
3. The listener closes. Connections the kernel completed but nobody accepted yet are
   accepted first and served, so no client whose ``connect()`` succeeded is reset; the
   "listener closed" log line carries the monotonic time after which any connection still
   refused was only completed later (what the rolling-update test compares against).
4. Every request already received is finished, including one whose body is still arriving
   (aiohttp's own shutdown stops reading, hence this order), at most until SHUTDOWN_TIMEOUT
   after the listener closed; requests still running then are cut off (answered 503),
   counted in ``eidos_shutdown_cut_requests`` and logged.
5. aiohttp closes the now idle connections and the app is cleaned up.

Only public APIs: the listening socket is ours (``loop.create_server(sock=...)`` with
aiohttp's ``web.Server`` as the protocol factory, its documented low-level use), wrapped per
connection by :class:`eidosd.connection.Connection` for the header deadline.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time

from aiohttp import web

from eidosd.connection import Connection, HeaderTimeouts
from eidosd.keys import IN_FLIGHT, LIFECYCLE, METRICS, PIPELINE, SETTINGS
from eidosd.logs import ClientFaultFilter

log = logging.getLogger("eidosd")

BACKLOG = 1024
# After the listener closes: time for bytes already in the sockets' receive buffers (requests
# written before the close) to be read and their handlers to start, before idleness counts.
SETTLE_SECONDS = 0.1
SETTLE_ITERATIONS = 4
# aiohttp's own shutdown waits this long for a handler that started after the drain found
# every request finished (a request that arrived in the last instant); normally none.
STRAGGLER_SECONDS = 2.0
# How long requests cut at SHUTDOWN_TIMEOUT get to write their 503.
CUT_ANSWER_SECONDS = 1.0


class ListenError(Exception):
    """The address cannot be listened on (taken, not ours, unresolvable): exit 6."""


def listen(host: str, port: int) -> socket.socket:
    """The listening socket (ours, so the drain can accept what the kernel already queued)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[
        0
    ]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def close_listener(listener: asyncio.Server, sock: socket.socket) -> tuple[list[socket.socket], float]:
    """Accept what the kernel has queued, then close. Synchronous: nothing runs in between.

    Returns the accepted sockets and the monotonic time of the last (empty) accept: a
    connection the close resets completed its handshake after that moment, so its request
    was written after it too.
    """
    accepted: list[socket.socket] = []
    while True:
        closed_at = time.monotonic()
        try:
            conn, _ = sock.accept()
        except (BlockingIOError, InterruptedError):
            break
        accepted.append(conn)
    listener.close()
    return accepted, closed_at


async def serve(app: web.Application, stop: asyncio.Event | None = None) -> int:
    """Serve until SIGTERM/SIGINT (or ``stop``), then drain; returns how many requests were cut
    off at SHUTDOWN_TIMEOUT (the exit code says whether any were)."""
    settings = app[SETTINGS]
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    lifecycle = app[LIFECYCLE]  # draining: every route's wrapper answers Connection: close
    faults = app[PIPELINE].faults

    def slow_headers(conn: Connection) -> None:
        peer = conn.transport.get_extra_info("peername") if conn.transport else None
        faults.record(
            "slow_headers",
            f"request headers not received within {settings.read_timeout:g}s",
            remote=str(peer[0]) if peer else None,
        )

    try:
        sock = listen(settings.host, settings.port)
    except OSError as exc:
        raise ListenError(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}") from exc
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        keepalive_timeout=settings.idle_timeout,
        shutdown_timeout=min(settings.shutdown_timeout, STRAGGLER_SECONDS),
    )
    try:
        await runner.setup()
    except BaseException:
        sock.close()
        raise
    assert runner.server is not None
    headers = HeaderTimeouts(settings.read_timeout, slow_headers, app[PIPELINE].connections)
    factory = headers.factory(runner.server)
    listener = await loop.create_server(factory, sock=sock, backlog=BACKLOG)
    uninstall_filter = ClientFaultFilter(faults.record).install(logging.getLogger("aiohttp.server"))
    watcher = asyncio.create_task(headers.watch(), name="header-timeouts")
    log.info("listening", extra={"host": settings.host, "port": settings.port})
    try:
        await stop.wait()
        lifecycle.draining = True
        log.info(
            "shutting down: not ready; serving for %gs more",
            settings.shutdown_delay,
            extra={"monotonic": time.monotonic()},  # from here on every response says Connection: close
        )
        if settings.shutdown_delay:
            await asyncio.sleep(settings.shutdown_delay)

        accepted, closed_at = close_listener(listener, sock)
        deadline = loop.time() + settings.shutdown_timeout
        for conn in accepted:
            await loop.connect_accepted_socket(factory, conn)
        log.info(
            "listener closed",
            extra={"monotonic": closed_at, "accepted_at_close": len(accepted), "connections": len(headers.connections)},
        )
        await asyncio.sleep(SETTLE_SECONDS)
        # However busy the loop was: bytes read by the last select reach their handlers (parsed,
        # then dispatched, then in the pipeline) within a few more iterations.
        for _ in range(SETTLE_ITERATIONS):
            await asyncio.sleep(0)
        in_flight = app[IN_FLIGHT]
        cut = 0
        try:
            async with asyncio.timeout_at(deadline):
                await in_flight.wait_idle()
        except TimeoutError:
            cut = in_flight.cut()
            app[METRICS].shutdown_cut.inc(cut)
            log.warning(
                "shutdown timeout: %d requests still running after %gs are cut off (503)",
                cut,
                settings.shutdown_timeout,
                extra={"cut": cut},
            )
            try:
                async with asyncio.timeout(CUT_ANSWER_SECONDS):
                    await in_flight.wait_idle()
            except TimeoutError:
                pass
    finally:
        watcher.cancel()
        await runner.cleanup()  # closes idle connections, waits for stragglers, app cleanup
        uninstall_filter()
    log.info("stopped")
    return cut
