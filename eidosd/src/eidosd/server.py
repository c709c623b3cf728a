"""Running the app: listen, and on SIGTERM/SIGINT drain gracefully.

Order on a signal: /ready turns 503 at once; keep serving for SHUTDOWN_DELAY (endpoints are
being removed); stop listening; wait (at most SHUTDOWN_TIMEOUT) for every accepted request —
including one whose body is still arriving — to finish; then clean up. aiohttp's own
shutdown would cut request bodies that arrive after it starts, hence this order.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from eidosd.keys import IN_FLIGHT, LIFECYCLE, SETTINGS

log = logging.getLogger("eidosd")


async def serve(app: web.Application, stop: asyncio.Event | None = None) -> None:
    settings = app[SETTINGS]
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        keepalive_timeout=settings.idle_timeout,
        shutdown_timeout=settings.shutdown_timeout,
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
    await site.start()
    log.info("listening", extra={"host": settings.host, "port": settings.port})
    await stop.wait()

    app[LIFECYCLE].draining = True
    log.info("shutting down: not ready; serving for %gs more", settings.shutdown_delay)
    if settings.shutdown_delay:
        await asyncio.sleep(settings.shutdown_delay)
    server = site._server  # stop accepting; open connections keep working
    if server is not None:
        server.close()
    in_flight = app[IN_FLIGHT]
    try:
        async with asyncio.timeout(settings.shutdown_timeout):
            await in_flight.wait_idle()
    except TimeoutError:
        log.warning("shutdown timeout: %d requests still running are cut off", in_flight.count)
    await runner.cleanup()
    log.info("stopped")
