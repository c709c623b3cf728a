"""Prometheus metrics (prometheus-client), one registry per application.

Per-request numbers (request counts, durations, cache hits/misses) are plain integers updated
on the hot path and turned into metric families only when ``/metrics`` is scraped (a custom
collector); prometheus-client's own objects cost several microseconds per request, a third of
eidosd's budget. The in-flight gauge is the size of the running requests' registry
(inflight.py), read at scrape time. Rare events use ordinary prometheus-client metrics.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sized

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

# eidos_http_client_errors{reason}: a client that went away mid-request, a body that cannot be
# read (bad encoding, bad chunking), malformed HTTP, headers slower than READ_TIMEOUT.
CLIENT_FAULT_REASONS = ("disconnected", "bad_body", "malformed_http", "slow_headers")
# The reference's buckets (.005 to 10 s) and three below them: a cached answer takes well under 5 ms.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RouteStats:
    """Counters of one (method, route): what a wrapped handler updates per request."""

    __slots__ = ("buckets", "statuses", "total")

    def __init__(self) -> None:
        self.statuses: dict[int, int] = {}
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # last one is +Inf; their sum is the count
        self.total = 0.0

    def observe(self, status: int, seconds: float) -> None:
        statuses = self.statuses
        statuses[status] = statuses.get(status, 0) + 1
        self.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds


class HttpStats(Collector):
    """Request counters kept as ints; exported as ``eidos_http_*`` and ``eidos_recipe_cache_*``."""

    def __init__(self, running: Sized = ()) -> None:
        self.routes: dict[tuple[str, str], RouteStats] = {}
        self.running = running  # the requests in flight
        self.cache_hits = 0
        self.cache_misses = 0

    def route(self, method: str, path: str) -> RouteStats:
        stats = self.routes.get((method, path))
        if stats is None:
            stats = self.routes[(method, path)] = RouteStats()
        return stats

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        self.route(method, path).observe(status, seconds)

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "eidos_http_requests", "Total number of HTTP requests", labels=("method", "path", "status")
        )
        for (method, path), route in sorted(self.routes.items()):
            for status, n in sorted(route.statuses.items()):
                requests.add_metric((method, path, str(status)), n)
        yield requests
        durations = HistogramMetricFamily(
            "eidos_http_request_duration_seconds",
            "HTTP request latency in seconds",
            labels=("method", "path"),
        )
        for (method, path), route in sorted(self.routes.items()):
            if not any(route.buckets):
                continue
            cumulative, count = [], 0
            for bound, n in zip((*map(str, LATENCY_BUCKETS), "+Inf"), route.buckets, strict=True):
                count += n
                cumulative.append((bound, count))
            durations.add_metric((method, path), cumulative, route.total)
        yield durations
        yield GaugeMetricFamily(
            "eidos_http_requests_in_flight", "Current number of HTTP requests being processed", value=len(self.running)
        )
        yield CounterMetricFamily(
            "eidos_recipe_cache_hits", "Recipe responses served from the cache.", value=self.cache_hits
        )
        yield CounterMetricFamily(
            "eidos_recipe_cache_misses", "Recipe responses that had to be built.", value=self.cache_misses
        )


class Metrics:
    def __init__(self, running: Sized = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.http = HttpStats(running)
        self.registry.register(self.http)
        r = self.registry
        self.rate_limit_rejects = Counter(
            "eidos_rate_limit_rejects", "Total number of requests rejected due to rate limiting", registry=r
        )
        self.build_duration = Histogram(
            "eidos_recipe_build_duration_seconds", "Time to resolve and render a recipe (cache misses).",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.reloads = Counter("eidos_recipe_reload", "Recipe data sets loaded (the first load included).", registry=r)
        self.reload_errors = Counter(
            "eidos_recipe_reload_errors", "Recipe data updates rejected (last good data kept).", registry=r
        )
        self.task_restarts = Counter(
            "eidos_background_task_restarts", "Background tasks restarted after a crash.", ("task",), registry=r
        )
        # Client faults (hang-ups, unreadable bodies, malformed HTTP, slow headers): 4xx, never 500.
        # The label set is fixed, so no client can grow it.
        self.client_errors = Counter(
            "eidos_http_client_errors", "Requests refused or abandoned because of the client, by reason.",
            ("reason",), registry=r,
        )  # fmt: skip
        for reason in CLIENT_FAULT_REASONS:
            self.client_errors.labels(reason)
        # The reference's name and help: a handler that raised what nothing expected, answered 500.
        self.panic_recoveries = Counter(
            "eidos_panic_recoveries", "Total number of panics recovered in HTTP handlers", registry=r
        )
        self.shutdown_cut = Counter(
            "eidos_shutdown_cut_requests", "Requests still running at SHUTDOWN_TIMEOUT, cut off.", registry=r
        )
        self.store_info = Gauge(
            "eidos_recipe_store_info", "The recipe data being served (value 1).", ("version", "source"), registry=r
        )
        self._store_labels: tuple[str, str] | None = None

    def set_store(self, version: str, source: str) -> None:
        if self._store_labels is not None:
            self.store_info.remove(*self._store_labels)
        self._store_labels = (version, source)
        self.store_info.labels(version, source).set(1)
