"""Benchmark eidosd on 127.0.0.1 (bounded in time; never elsewhere).

    .venv/bin/python -m bench.server [--pairs 10] [--seconds 2]

* throughput: eidosd (all middleware on) vs a bare aiohttp handler returning the same bytes,
  measured with wrk as alternating short pairs; the median ratio is reported, at
  LOG_LEVEL=warning and at info.
* latency at a fixed 100 req/s (an asyncio client paced by the clock): p50/p99.
* RSS idle and after load; start → /ready 200 time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

QUERY = "/v1/recipe?service=eks&accelerator=h100&os=ubuntu&intent=training"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 20) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"{url} not ready")


def start_eidosd(log_level: str) -> tuple[subprocess.Popen[bytes], int, float]:
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": log_level,
           "RATE_LIMIT": "1000000", "RATE_BURST": "1000000"}  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen([BIN / "eidosd"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{port}/ready")
    return proc, port, time.perf_counter() - started


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wrk(port: int, seconds: float, connections: int = 32) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", f"http://127.0.0.1:{port}{QUERY}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match or "Non-2xx" in out:
        raise RuntimeError(out)
    return float(match.group(1))


def throughput(log_level: str, pairs: int, seconds: float) -> dict[str, float]:
    eidosd, port, _ = start_eidosd(log_level)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}{QUERY}").read()
    with tempfile.NamedTemporaryFile(delete=False) as fh:
        fh.write(body)
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, "-m", "bench.bare_server", str(bare_port), fh.name])
    try:
        wait_ready(f"http://127.0.0.1:{bare_port}/v1/recipe")
        wrk(port, 1), wrk(bare_port, 1)  # warm up both
        ratios, ours, theirs = [], [], []
        for i in range(pairs):
            # Alternate which goes first so drift in machine load cancels out.
            if i % 2:
                b, e = wrk(bare_port, seconds), wrk(port, seconds)
            else:
                e, b = wrk(port, seconds), wrk(bare_port, seconds)
            ours.append(e)
            theirs.append(b)
            ratios.append(e / b)
        return {
            "eidosd_rps_median": round(statistics.median(ours)),
            "bare_rps_median": round(statistics.median(theirs)),
            "ratio_median": round(statistics.median(ratios), 3),
            "ratio_min": round(min(ratios), 3),
            "ratio_max": round(max(ratios), 3),
            "rss_after_load_mib": round(rss_mib(eidosd.pid), 1),
        }
    finally:
        for proc in (eidosd, bare):
            proc.terminate()
            proc.wait(10)
        os.unlink(fh.name)


async def paced_latency(port: int, rate: float, seconds: float) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}{QUERY}"
    latencies: list[float] = []

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def one() -> None:
            start = time.perf_counter()
            async with session.get(url) as resp:
                await resp.read()
                assert resp.status == 200
            latencies.append(time.perf_counter() - start)

        tasks = []
        begin = time.perf_counter()
        for n in range(int(rate * seconds)):
            delay = begin + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    latencies.sort()
    return {
        "requests": len(latencies),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 3),
        "max_ms": round(latencies[-1] * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (Debian package 'wrk')")
    results: dict[str, object] = {}
    starts = []
    for _ in range(5):
        proc, port, took = start_eidosd("warning")
        starts.append(took)
        if len(starts) == 5:
            time.sleep(1)
            results["rss_idle_mib"] = round(rss_mib(proc.pid), 1)
            results["latency_at_100rps"] = asyncio.run(paced_latency(port, 100, 10))
        proc.terminate()
        proc.wait(10)
    results["start_to_ready_s_median"] = round(statistics.median(starts), 3)
    results["throughput_warning"] = throughput("warning", args.pairs, args.seconds)
    results["throughput_info"] = throughput("info", max(4, args.pairs // 2), args.seconds)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
