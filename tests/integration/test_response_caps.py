"""Answers from the network are read with a size cap: ``--server`` (``eidos-cli recipe``) and
``http(s)://`` inputs (``read_http``). A real local aiohttp server streams a body without end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from eidos_cli.remote import MAX_RESPONSE_BYTES, fetch_recipe
from eidos_core.errors import InvalidRequestError, UnavailableError
from eidos_core.io.local import MAX_READ_BYTES, read_http
from eidos_core.recipe.criteria import Criteria
from tests.support import EIDOS_CLI

CHUNK = b"[" * 65536
SENT = web.AppKey("sent", list[int])  # bytes the endless handler wrote, per request


async def endless(request: web.Request) -> web.StreamResponse:
    """Chunked JSON-looking bytes until the client hangs up (or, as a guard, 1 GiB)."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    sent = request.app[SENT]
    sent.append(0)
    try:
        while sent[-1] < 1024**3:
            await response.write(CHUNK)
            sent[-1] += len(CHUNK)
    except ConnectionError:
        pass  # the client stopped reading: what the cap is for
    return response


async def declared(request: web.Request) -> web.StreamResponse:
    """A Content-Length far over the cap: refused before any of the body is read."""
    response = web.StreamResponse(headers={"Content-Length": str(1024**3), "Content-Type": "application/json"})
    await response.prepare(request)
    await response.write(b"{}")
    await asyncio.sleep(30)
    return response


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, web.Application]]:
    app = web.Application()
    app[SENT] = []
    app.router.add_post("/endless/v1/recipe", endless)
    app.router.add_post("/declared/v1/recipe", declared)
    app.router.add_get("/endless.yaml", endless)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        yield str(test_server.make_url("/")).rstrip("/"), app
    finally:
        await test_server.close()


async def test_an_endless_server_answer_is_refused_at_the_cap(server: tuple[str, web.Application]) -> None:
    base, app = server
    with pytest.raises(UnavailableError, match=f"larger than {MAX_RESPONSE_BYTES} bytes"):
        async with asyncio.timeout(30):
            await fetch_recipe(f"{base}/endless", Criteria(accelerator="h100"))
    # it stopped reading near the cap (the socket buffers hold a little more), not at the 1 GiB guard
    assert app[SENT] and app[SENT][-1] < 4 * MAX_RESPONSE_BYTES


async def test_a_declared_oversized_answer_is_refused_before_reading(server: tuple[str, web.Application]) -> None:
    base, _ = server
    with pytest.raises(UnavailableError, match="larger than"):
        async with asyncio.timeout(10):  # the handler would hold the connection for 30 s
            await fetch_recipe(f"{base}/declared", Criteria(accelerator="h100"))


@pytest.mark.skipif(EIDOS_CLI is None, reason="eidos-cli is not installed in this environment")
async def test_the_cli_exits_6_with_one_line(server: tuple[str, web.Application], tmp_path: Path) -> None:
    base, _ = server
    assert EIDOS_CLI
    proc = await asyncio.create_subprocess_exec(
        EIDOS_CLI, "recipe", "--gpu", "h100", "--server", f"{base}/endless",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode == 6, err
    assert out == b"" and f"larger than {MAX_RESPONSE_BYTES} bytes".encode() in err
    assert b"Traceback" not in err


async def test_read_http_stops_at_its_cap(server: tuple[str, web.Application]) -> None:
    base, app = server
    with pytest.raises(InvalidRequestError, match=f"larger than {MAX_READ_BYTES} bytes"):
        async with asyncio.timeout(60):
            await asyncio.to_thread(read_http, f"{base}/endless.yaml")
    assert app[SENT] and app[SENT][-1] < 4 * MAX_READ_BYTES
