"""CPU time per request inside the process: what eidosd adds to a bare aiohttp handler.

    .venv/bin/python -m bench.pipeline_cost [--requests 20000]

``bench.server`` measures throughput with wrk over real sockets, which on a small shared machine
moves with every other process. This feeds raw keep-alive HTTP requests straight into aiohttp's
protocol object (a transport that only counts writes: no sockets, no system calls) and reads
the thread's CPU clock, so other load barely moves it. Variants, each the best of five runs:

* ``bare``: a bare aiohttp app returning the recipe's bytes (bench.server's baseline);
* ``eidosd_bare_handler``: eidosd's app and connection wrapper, that same handler on /v1/recipe;
* ``eidosd``: eidosd as it serves (pipeline and cached recipe).

All get the same request line. The differences are what the app, and then the pipeline and
the cached answer, cost per request; the fixed costs a socket adds (reads, writes, epoll) are
the same for all and left out, so these ratios are lower than bench.server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

CRITERIA = "?service=eks&accelerator=h100&os=ubuntu&intent=training"
BARE_PATH = "/bench/bare"  # where eidosd_bare_handler's handler sits in eidosd's app


def request_line(path: str) -> bytes:
    return f"GET {path}{CRITERIA} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: bench\r\n\r\n".encode()


RUNS = 5


class CountingTransport(asyncio.Transport):
    """A transport that counts writes (a response is written in one or two of them)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.written = asyncio.Event()
        self.closing = False
        self.protocol: asyncio.BaseProtocol | None = None

    def write(self, data: Any) -> None:
        self.writes += 1
        self.written.set()

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"")

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self.protocol is not None
        return self.protocol


async def cpu_per_request(factory: Callable[[], asyncio.Protocol], path: str, requests: int) -> float:
    """Best of RUNS: CPU µs per request on one keep-alive connection."""
    protocol = factory()
    transport = CountingTransport()
    transport.set_protocol(protocol)
    protocol.connection_made(transport)
    request = request_line(path)

    async def one() -> None:
        transport.written.clear()
        protocol.data_received(request)
        await transport.written.wait()  # the handler runs in a task of its own

    for _ in range(2000):
        await one()
    best = float("inf")
    for _ in range(RUNS):
        started = time.thread_time()
        for _ in range(requests):
            await one()
        best = min(best, (time.thread_time() - started) / requests * 1e6)
    transport.close()
    return best


def bare_handler(body: bytes) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    return handler


async def bare(body: bytes, requests: int) -> float:
    app = web.Application()
    app.router.add_get("/v1/recipe", bare_handler(body))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    assert runner.server is not None
    try:
        return await cpu_per_request(runner.server, "/v1/recipe", requests)
    finally:
        await runner.cleanup()


async def eidosd(requests: int, handler: Callable[[web.Request], Awaitable[web.Response]] | None) -> float:
    from eidosd.app import create_app
    from eidosd.connection import HeaderTimeouts
    from eidosd.keys import PIPELINE, RECIPES
    from eidosd.settings import load_settings

    settings = load_settings({"RATE_LIMIT": "1000000", "RATE_BURST": "1000000", "LOG_LEVEL": "warning"})
    app = create_app(settings)
    path = "/v1/recipe"
    if handler is not None:  # the same app and connections, the bare handler answering
        app.router.add_get(BARE_PATH, handler)  # a plain path: found before the catch-all route
        path = BARE_PATH
    runner = web.AppRunner(app, handle_signals=False, access_log=None, keepalive_timeout=settings.idle_timeout)
    await runner.setup()
    assert runner.server is not None
    try:
        while app[RECIPES].store is None:  # noqa: ASYNC110 (the first load runs in the background; no event)
            await asyncio.sleep(0.01)
        connections = HeaderTimeouts(settings.read_timeout, lambda conn: None, app[PIPELINE].connections)
        return await cpu_per_request(connections.factory(runner.server), path, requests)
    finally:
        await runner.cleanup()


async def recipe_body() -> bytes:
    from eidos_core import __version__
    from eidos_core.recipe.build import build_recipe
    from eidos_core.recipe.criteria import parse_criteria
    from eidos_core.recipe.result import recipe_to_document, to_json
    from eidos_core.sources.embedded import embedded_store

    criteria = parse_criteria("eks", "h100", "training", "ubuntu", None)
    return to_json(recipe_to_document(build_recipe(embedded_store(), criteria), __version__))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20000, help="requests per run (best of five runs)")
    args = parser.parse_args()
    os.environ.setdefault("LOG_LEVEL", "warning")
    body = asyncio.run(recipe_body())
    costs = {
        "bare": asyncio.run(bare(body, args.requests)),
        "eidosd_bare_handler": asyncio.run(eidosd(args.requests, bare_handler(body))),
        "eidosd": asyncio.run(eidosd(args.requests, None)),
    }
    result: dict[str, object] = {f"{name}_us": round(cost, 2) for name, cost in costs.items()}
    result["app_us"] = round(costs["eidosd_bare_handler"] - costs["bare"], 2)
    result["pipeline_and_cache_us"] = round(costs["eidosd"] - costs["eidosd_bare_handler"], 2)
    result["ratio"] = round(costs["bare"] / costs["eidosd"], 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
