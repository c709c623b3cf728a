"""Benchmark: ``POST /v1/bundle`` latency for the largest recipe (oke + gb300 + training + ubuntu,
the largest bundle by bytes), zip and tar.gz, against a real eidosd process on 127.0.0.1.

    .venv/bin/python -m bench.bundle_api [--requests N]

Requests are sequential on one keep-alive connection (latency, not throughput): p50/p99 over N
requests of each format after a few warm-up requests. JSON on stdout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

LARGEST = "service=oke&accelerator=gb300&intent=training&os=ubuntu"
WARMUP = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    eidosd = shutil.which("eidosd", path=os.path.dirname(sys.executable)) or "eidosd"
    port = free_port()
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "error",
           "RATE_LIMIT": "100000", "RATE_BURST": "100000"}  # fmt: skip
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([eidosd], env=env, stderr=log)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(base + "/ready", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            with urllib.request.urlopen(f"{base}/v1/recipe?{LARGEST}") as resp:
                recipe = resp.read()
            results = {}
            conn = http.client.HTTPConnection("127.0.0.1", port)
            for fmt in ("zip", "tar.gz"):
                times: list[float] = []
                size = 0
                for i in range(WARMUP + args.requests):
                    start = time.perf_counter()
                    conn.request("POST", f"/v1/bundle?format={fmt}", body=recipe)
                    resp = conn.getresponse()
                    body = resp.read()
                    elapsed = time.perf_counter() - start
                    assert resp.status == 200, body[:300]
                    size = len(body)
                    if i >= WARMUP:
                        times.append(elapsed)
                results[fmt] = {
                    "requests": args.requests,
                    "archive_bytes": size,
                    "p50_ms": round(statistics.median(times) * 1000, 2),
                    "p99_ms": round(percentile(times, 99) * 1000, 2),
                    "mean_ms": round(statistics.fmean(times) * 1000, 2),
                }
            conn.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps({"benchmark": "bundle_api", "recipe": LARGEST, "results": results}, indent=2))


if __name__ == "__main__":
    main()
