"""Soak eidosd with a long mixed load and follow its memory (127.0.0.1 only, bounded by count).

    .venv/bin/python -m bench.soak [--requests 1000000] [--chunk 5]

wrk (with a Lua request generator) sends, per ten requests: four repeated GETs, two GETs for
criteria never asked before (a cache miss each, so the LRU caches evict all the time), one
junk GET (400, an unknown parameter with a fresh name), two repeated POSTs and one POST with
criteria never asked before. Every ``--chunk`` seconds the server's own request count (from
/metrics) and its RSS are sampled. The target: RSS growth after the first
100,000 requests < 5 MiB. The samples go to bench/results/soak.csv.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.server import rss_mib, start_eidosd

LUA = r"""
local counter = 0
local repeated = {
  "/v1/recipe?service=eks&accelerator=h100&os=ubuntu&intent=training",
  "/v1/recipe?service=gke&accelerator=h100&os=cos",
  "/v1/recipe?service=aks&accelerator=a100&intent=inference",
  "/v1/recipe?service=oke&accelerator=gb200&intent=training",
  "/v1/recipe?accelerator=l40",
}
local services = {"eks", "gke", "aks", "oke", "any"}
local accelerators = {"h100", "gb200", "a100", "l40", "any"}
local json = {["Content-Type"] = "application/json"}
local seed = tonumber(os.getenv("SOAK_SEED") or "0")
local fixed_body = '{"kind":"recipeCriteria","apiVersion":"eidos.nvidia.com/v1alpha1",'
  .. '"spec":{"service":"eks","accelerator":"h100","intent":"training"}}'

request = function()
  counter = counter + 1
  local k = counter % 10
  -- A fresh (service, accelerator, nodes) triple for every unique request of this run.
  local u = seed * 100000000 + counter
  local nodes = (u % 100000) + 1
  local service = services[(math.floor(u / 100000) % 5) + 1]
  local accelerator = accelerators[(math.floor(u / 500000) % 5) + 1]
  if k < 4 then
    return wrk.format("GET", repeated[(counter % #repeated) + 1])
  elseif k < 6 then
    return wrk.format("GET", "/v1/recipe?service=" .. service .. "&accelerator=" .. accelerator .. "&nodes=" .. nodes)
  elseif k < 7 then
    return wrk.format("GET", "/v1/recipe?junk" .. u .. "=1")
  elseif k < 9 then
    return wrk.format("POST", "/v1/recipe", json, fixed_body)
  else
    return wrk.format("POST", "/v1/recipe", json,
      '{"kind":"recipeCriteria","spec":{"service":"' .. service .. '","nodes":' .. nodes .. '}}')
  end
end
"""

_SAMPLE = re.compile(r'^eidos_http_requests_total\{[^}]*status="(\d+)"[^}]*\} ([0-9.e+]+)$', re.M)


def by_status(port: int) -> dict[str, int]:
    """The server's own request counts by status (from /metrics)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    counts: dict[str, int] = {}
    for status, value in _SAMPLE.findall(text):
        counts[status] = counts.get(status, 0) + int(float(value))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=float, default=5.0, help="seconds of load between samples")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA)
    proc, port, _ = start_eidosd("warning")
    samples: list[tuple[float, int, float]] = []
    statuses: dict[str, int] = {}
    started = time.monotonic()
    try:
        samples.append((0.0, 0, rss_mib(proc.pid)))
        seed = 0
        while samples[-1][1] < args.requests:
            seed += 1
            subprocess.run(
                ["wrk", "-t1", f"-c{args.connections}", f"-d{max(1, round(args.chunk))}s", "-s", fh.name,
                 f"http://127.0.0.1:{port}"],
                env={**os.environ, "SOAK_SEED": str(seed)}, capture_output=True, check=True,
            )  # fmt: skip
            if proc.poll() is not None:
                sys.exit(f"eidosd died with exit code {proc.returncode}")
            statuses = by_status(port)
            samples.append((time.monotonic() - started, sum(statuses.values()), rss_mib(proc.pid)))
            elapsed, count, rss = samples[-1]
            print(f"{elapsed:7.1f}s {count:>10,} requests  RSS {rss:6.1f} MiB", flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
        os.unlink(fh.name)

    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    with (results / "soak.csv").open("w") as out:
        out.write("seconds,requests,rss_mib\n")
        out.writelines(f"{s:.1f},{n},{r:.2f}\n" for s, n, r in samples)
    after_100k = next((r for _, n, r in samples if n >= 100_000), samples[-1][2])
    peak = max(r for _, _, r in samples)
    final = samples[-1]
    print(f"\nrequests {final[1]:,} in {final[0]:.0f}s ({final[1] / final[0]:.0f} req/s)")
    print("by status:", ", ".join(f"{status}: {n:,}" for status, n in sorted(statuses.items())))
    print(f"RSS idle {samples[0][2]:.1f} MiB, at 100k {after_100k:.1f} MiB, final {final[2]:.1f} MiB, peak {peak:.1f}")
    print(f"growth after the first 100k: {final[2] - after_100k:+.2f} MiB (target < 5 MiB)")
    print("curve (every ~100k):")
    mark = 0
    for _, n, r in samples:
        if n >= mark:
            print(f"  {n:>10,}  {r:6.1f} MiB")
            mark = n + 100_000


if __name__ == "__main__":
    main()
