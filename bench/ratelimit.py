"""Benchmark: does eidosd admit RATE_LIMIT requests/s with a burst of exactly RATE_BURST?

    .venv/bin/python -m bench.ratelimit [--rate 50] [--burst 20] [--seconds 10]

Starts eidosd on 127.0.0.1 and sends requests as fast as 16 connections allow for a bounded
time; counts 200s and 429s. Expected admitted = burst + rate × seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time

import aiohttp

from bench.server import BIN, free_port, wait_ready


async def hammer(url: str, seconds: float) -> tuple[int, int, int]:
    ok = limited = 0
    first_refusal_at = -1
    deadline = time.perf_counter() + seconds

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16)) as session:

        async def worker() -> None:
            nonlocal ok, limited, first_refusal_at
            while time.perf_counter() < deadline:
                async with session.get(url) as resp:
                    await resp.read()
                    if resp.status == 200:
                        ok += 1
                    elif resp.status == 429:
                        if first_refusal_at < 0:
                            first_refusal_at = ok
                        limited += 1

        await asyncio.gather(*(worker() for _ in range(16)))
    return ok, limited, first_refusal_at


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "error",
           "RATE_LIMIT": str(args.rate), "RATE_BURST": str(args.burst)}  # fmt: skip
    proc = subprocess.Popen([BIN / "eidosd"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/ready")
        ok, limited, burst_seen = asyncio.run(hammer(f"http://127.0.0.1:{port}/v1/recipe", args.seconds))
    finally:
        proc.terminate()
        proc.wait(10)
    expected = args.burst + args.rate * args.seconds
    print(json.dumps({
        "admitted": ok, "refused": limited, "expected_admitted": expected,
        "admitted_vs_expected": round(ok / expected, 4),
        "admitted_before_first_429": burst_seen,
        "steady_rate_per_s": round((ok - args.burst) / args.seconds, 2),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
