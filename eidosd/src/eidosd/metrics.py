"""Prometheus metrics (prometheus-client), one registry per application.

Label children are cached in plain dicts so the request path does one dict lookup per metric.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self.requests = Counter(
            "eidos_http_requests",
            "HTTP requests by method, route and status.",
            ("method", "path", "status"),
            registry=r,
        )
        self.duration = Histogram(
            "eidos_http_request_duration_seconds",
            "HTTP request duration by method and route.",
            ("method", "path"),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("eidos_http_requests_in_flight", "HTTP requests being served.", registry=r)
        self.rate_limit_rejects = Counter(
            "eidos_rate_limit_rejects", "Requests refused by the rate limiter.", registry=r
        )
        self.build_duration = Histogram(
            "eidos_recipe_build_duration_seconds", "Time to resolve and render a recipe (cache misses).",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.cache_hits = Counter("eidos_recipe_cache_hits", "Recipe responses served from the cache.", registry=r)
        self.cache_misses = Counter("eidos_recipe_cache_misses", "Recipe responses that had to be built.", registry=r)
        self.reloads = Counter("eidos_recipe_reload", "Recipe data sets loaded (the first load included).", registry=r)
        self.reload_errors = Counter(
            "eidos_recipe_reload_errors", "Recipe data updates rejected (last good data kept).", registry=r
        )
        self.store_info = Gauge(
            "eidos_recipe_store_info", "The recipe data being served (value 1).", ("version", "source"), registry=r
        )
        self._request_children: dict[tuple[str, str, int], Counter] = {}
        self._duration_children: dict[tuple[str, str], Histogram] = {}
        self._store_labels: tuple[str, str] | None = None

    def observe_request(self, method: str, path: str, status: int, seconds: float) -> None:
        key = (method, path, status)
        counter = self._request_children.get(key)
        if counter is None:
            counter = self._request_children[key] = self.requests.labels(method, path, str(status))
        counter.inc()
        dkey = (method, path)
        hist = self._duration_children.get(dkey)
        if hist is None:
            hist = self._duration_children[dkey] = self.duration.labels(method, path)
        hist.observe(seconds)

    def set_store(self, version: str, source: str) -> None:
        if self._store_labels is not None:
            self.store_info.remove(*self._store_labels)
        self._store_labels = (version, source)
        self.store_info.labels(version, source).set(1)
