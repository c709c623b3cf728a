"""Run the collectors side by side and assemble one snapshot.

A collector that cannot run (no GPU, no host mount, no systemd, not in a cluster) says why;
the snapshot records it under ``metadata`` (``collector.<name>: ok | partial: … | skipped: …``)
instead of failing as a whole (design.md §3.8).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from eidos_agent.collectors.base import Collector, CollectorResult
from eidos_core import API_VERSION
from eidos_core.snapshot.model import SNAPSHOT_KIND, Snapshot

ORDER = ("K8s", "SystemD", "OS", "GPU")


def status_of(result: CollectorResult) -> str:
    if result.skipped_reason is not None or result.measurement is None:
        return f"skipped: {result.skipped_reason or 'nothing collected'}"
    return f"partial: {'; '.join(result.notes)}" if result.notes else "ok"


async def _guarded(collector: Collector, limit_s: float) -> CollectorResult:
    try:
        async with asyncio.timeout(limit_s):
            return await collector.collect()
    except TimeoutError:
        return CollectorResult(collector.name, None, skipped_reason=f"timed out after {limit_s:g}s")
    except Exception as exc:  # one broken collector must not sink the others
        return CollectorResult(collector.name, None, skipped_reason=f"{type(exc).__name__}: {exc}")


async def collect_all(collectors: Sequence[Collector], limit_s: float) -> list[CollectorResult]:
    return list(await asyncio.gather(*(_guarded(c, limit_s) for c in collectors)))


def assemble(results: Sequence[CollectorResult], *, node: str, version: str, now: datetime | None = None) -> Snapshot:
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    metadata = {"timestamp": stamp, "version": version, "source-node": node}
    for result in sorted(results, key=lambda r: r.name):
        metadata[f"collector.{result.name}"] = status_of(result)
    found = [r.measurement for r in results if r.measurement is not None]
    found.sort(key=lambda m: ORDER.index(m.type) if m.type in ORDER else len(ORDER))
    return Snapshot(metadata=metadata, measurements=tuple(found), kind=SNAPSHOT_KIND, api_version=API_VERSION)
