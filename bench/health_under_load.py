"""Benchmark: /health latency while 8 clients POST 64 KB bodies as fast as the rate limit allows.

    .venv/bin/python -m bench.health_under_load [--seconds 20] [--clients 8] [--rate 100]
        [--body valid|invalid|gzip-bomb|all]

Design target (issue 9): /health p99 < 100 ms (the liveness probe must never time out).

Starts eidosd on 127.0.0.1 with RATE_LIMIT=--rate. A load process runs ``--clients`` clients,
each paced at rate/clients POSTs per second with one request in flight (so together they send
at most what the rate limit admits, and less when the server is slower). This process probes
/health every 20 ms on its own connection and reports p50/p99/max.

Bodies (each just under 64 KiB, the default MAX_BODY_BYTES):
* ``valid``: a recipeCriteria document whose ``metadata.labels`` holds ~2,000 entries (allowed
  and ignored by the criteria parser): parsed in full, answered 200.
* ``invalid``: the same document with an unknown ``spec`` field: parsed in full, answered 400.
* ``gzip-bomb``: 4 MiB of YAML compressed to ~4 KB (``Content-Encoding: gzip``): refused 413.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import multiprocessing
import os
import statistics
import subprocess
import time
from collections import Counter

import aiohttp

from bench.server import BIN, free_port, wait_ready

BODY_LIMIT = 64 * 1024
PROBE_INTERVAL = 0.02


def heavy_body(*, valid: bool) -> bytes:
    head = "kind: recipeCriteria\napiVersion: eidos.nvidia.com/v1alpha1\n"
    spec = "spec:\n  service: eks\n  accelerator: h100\n  os: ubuntu\n  intent: training\n"
    if not valid:
        spec += "  colour: blue\n"
    lines = [head, "metadata:\n  labels:\n"]
    size = len(head) + len(spec) + 20
    i = 0
    while True:
        line = f"    label-{i:05d}: value-{i:05d}\n"
        if size + len(line) >= BODY_LIMIT - 64:
            break
        lines.append(line)
        size += len(line)
        i += 1
    lines.append(spec)
    return "".join(lines).encode()


def bomb_body() -> bytes:
    return gzip.compress(b"metadata:\n  labels:\n" + b"    x: " + b"y" * (4 * 1024 * 1024) + b"\n", 9)


def bodies(kind: str) -> tuple[bytes, dict[str, str]]:
    if kind == "gzip-bomb":
        return bomb_body(), {"Content-Type": "application/yaml", "Content-Encoding": "gzip"}
    return heavy_body(valid=kind == "valid"), {"Content-Type": "application/yaml"}


async def load(url: str, kind: str, clients: int, rate: float, seconds: float) -> dict[str, int]:
    body, headers = bodies(kind)
    statuses: Counter[int] = Counter()
    deadline = time.perf_counter() + seconds
    interval = clients / rate

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:

        async def client(offset: float) -> None:
            next_at = time.perf_counter() + offset
            while time.perf_counter() < deadline:
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at = max(next_at + interval, time.perf_counter())
                try:
                    async with session.post(url, data=body, headers=headers) as resp:
                        await resp.read()
                        statuses[resp.status] += 1
                except aiohttp.ClientError:
                    statuses[0] += 1

        await asyncio.gather(*(client(i * interval / clients) for i in range(clients)))
    return {str(k): v for k, v in sorted(statuses.items())}


def load_process(url: str, kind: str, clients: int, rate: float, seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out.put(asyncio.run(load(url, kind, clients, rate, seconds)))


async def single_requests(url: str, kind: str, n: int = 20) -> list[float]:
    """One POST at a time on the idle server: how long one such body costs end to end."""
    body, headers = bodies(kind)
    times: list[float] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(n):
            start = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
            times.append((time.perf_counter() - start) * 1000)
    return times


async def probe(url: str, seconds: float) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            async with session.get(url) as resp:
                await resp.read()
                assert resp.status == 200
            latencies.append(time.perf_counter() - start)
            await asyncio.sleep(PROBE_INTERVAL)
    return latencies


def run(kind: str, clients: int, rate: float, seconds: float) -> dict[str, object]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "error",
           "RATE_LIMIT": str(rate), "RATE_BURST": str(max(1, int(rate)))}  # fmt: skip
    proc = subprocess.Popen([BIN / "eidosd"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/ready")
        idle_ms = asyncio.run(single_requests(f"http://127.0.0.1:{port}/v1/recipe", kind))
        queue: multiprocessing.Queue[dict[str, int]] = multiprocessing.Queue()
        loader = multiprocessing.Process(
            target=load_process, args=(f"http://127.0.0.1:{port}/v1/recipe", kind, clients, rate, seconds, queue)
        )
        loader.start()
        time.sleep(0.5)  # let the load build up before probing
        latencies = sorted(asyncio.run(probe(f"http://127.0.0.1:{port}/health", seconds - 1)))
        statuses = queue.get(timeout=seconds + 30)
        loader.join(10)
    finally:
        proc.terminate()
        proc.wait(10)
    n = len(latencies)
    return {
        "body": kind,
        "body_bytes": len(bodies(kind)[0]),
        "idle_post_median_ms": round(statistics.median(idle_ms), 2),
        "idle_post_max_ms": round(max(idle_ms), 2),
        "post_statuses": statuses,
        "posts_per_s": round(sum(statuses.values()) / seconds, 1),
        "health_probes": n,
        "health_p50_ms": round(latencies[n // 2] * 1000, 2),
        "health_p99_ms": round(latencies[max(0, int(n * 0.99) - 1)] * 1000, 2),
        "health_max_ms": round(latencies[-1] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--body", choices=["valid", "invalid", "gzip-bomb", "all"], default="all")
    args = parser.parse_args()
    kinds = ["valid", "invalid", "gzip-bomb"] if args.body == "all" else [args.body]
    results = [run(kind, args.clients, args.rate, args.seconds) for kind in kinds]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
