"""eidosd's application over a real socket (pytest-aiohttp's test server and client)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from eidos_core import yaml
from eidos_core.errors import UnavailableError
from eidos_core.recipe.model import RecipeStore
from eidos_core.sources.base import ReloadEvent
from eidos_core.sources.embedded import embedded_store
from eidosd.app import create_app
from eidosd.keys import LIFECYCLE, PIPELINE
from eidosd.pipeline import WRAPPED
from eidosd.settings import Settings
from tests.conftest import metadata_doc, mini_files
from tests.support import MakeClient


def metric_value(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
                return float(sample.value)
    raise KeyError(name)


async def test_recipe_headers_and_etag(make_client: MakeClient) -> None:
    client = await make_client()
    resp = await client.get("/v1/recipe", params={"service": "eks", "accelerator": "h100", "intent": "training"})
    assert resp.status == 200
    doc = await resp.json()
    assert doc["kind"] == "recipeResult"
    assert doc["criteria"] == {"service": "eks", "accelerator": "h100", "intent": "training", "os": "any"}
    assert resp.headers["Cache-Control"] == "public, max-age=600"
    assert resp.headers["X-RateLimit-Limit"] == "100"  # the rate per second (RATE_LIMIT), as the reference sends it
    assert int(resp.headers["X-RateLimit-Remaining"]) == 199
    assert "X-RateLimit-Reset" in resp.headers
    etag = resp.headers["ETag"]
    again = await client.get("/v1/recipe?service=eks&accelerator=h100&intent=training", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.headers["ETag"] == etag
    # Same criteria spelled differently (alias, order, empty value): same body, same ETag.
    other = await client.get("/v1/recipe?intent=training&gpu=h100&service=eks&os=")
    assert other.headers["ETag"] == etag
    # Any ASCII case with blanks around it, as the OpenAPI pattern says; nothing looser.
    upper = await client.get("/v1/recipe?intent=TRAINING&gpu=H100&service=%20Eks")
    assert upper.headers["ETag"] == etag
    assert (await client.get("/v1/recipe?intent=train%20ing")).status == 400


async def test_request_id_echoed_or_generated(make_client: MakeClient) -> None:
    client = await make_client()
    resp = await client.get("/v1/recipe", headers={"X-Request-Id": "abc-123"})
    assert resp.headers["X-Request-Id"] == "abc-123"
    resp = await client.get("/v1/recipe", headers={"X-Request-Id": "bad id with spaces"})
    assert len(resp.headers["X-Request-Id"]) == 36
    resp = await client.get("/v1/recipe?os=beos")
    body = await resp.json()
    assert body["requestId"] == resp.headers["X-Request-Id"]


@pytest.mark.parametrize(
    ("query", "field", "needle"),
    [
        ("service=windows", "service", "invalid service type: windows"),
        ("gpu=v100", "accelerator", "invalid accelerator type: v100"),
        ("intent=serving", "intent", "allowed: inference, training, any"),
        ("nodes=-5", "nodes", "invalid nodes count: -5"),
    ],
)
async def test_bad_criteria_400(make_client: MakeClient, query: str, field: str, needle: str) -> None:
    client = await make_client()
    resp = await client.get("/v1/recipe?" + query)
    assert resp.status == 400
    body = await resp.json()
    assert list(body) == ["code", "message", "details", "requestId", "timestamp", "retryable"]
    assert body["code"] == "INVALID_REQUEST" and body["retryable"] is False
    assert body["details"]["field"] == field and needle in body["message"]


# The reference's details.error for each refusal (api-server spec §8.4): the raw input echoed.
REFERENCE_ERRORS = [
    ("service=windows", "invalid service type: windows"),
    ("service=WinDows", "invalid service type: WinDows"),
    ("accelerator=v100", "invalid accelerator type: v100"),
    ("gpu=v100", "invalid accelerator type: v100"),
    ("intent=serving", "invalid intent type: serving"),
    ("os=windows", "invalid os type: windows"),
    ("nodes=abc", "invalid nodes value: abc"),
    ("nodes=-5", "invalid nodes count: -5 (must be >= 0)"),
]


@pytest.mark.parametrize(("query", "error"), REFERENCE_ERRORS)
async def test_criteria_refusals_carry_the_references_error(make_client: MakeClient, query: str, error: str) -> None:
    client = await make_client()
    resp = await client.get(f"/v1/recipe?{query}")
    body = await resp.json()
    assert (resp.status, body["code"], body["details"]["error"]) == (400, "INVALID_REQUEST", error)


async def test_unknown_parameter_404_405(make_client: MakeClient) -> None:
    client = await make_client()
    resp = await client.get("/v1/recipe?k8s=1.30")
    assert resp.status == 400
    assert (await resp.json())["details"] == {
        "parameter": "k8s",
        "allowed": ["service", "accelerator", "gpu", "intent", "os", "nodes"],
    }
    resp = await client.get("/v2/recipe")
    assert resp.status == 404 and (await resp.json())["code"] == "NOT_FOUND"
    resp = await client.delete("/v1/recipe")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET,HEAD,POST"  # HEAD beside every GET (issue 14)
    assert (await resp.json())["code"] == "METHOD_NOT_ALLOWED"


async def test_post_json_and_yaml(make_client: MakeClient) -> None:
    client = await make_client()
    body = {
        "kind": "recipeCriteria",
        "apiVersion": "eidos.nvidia.com/v1alpha1",
        "spec": {"service": "gke", "os": "cos"},
    }
    resp = await client.post("/v1/recipe", json=body)
    assert resp.status == 200
    via_json = await resp.json()
    resp = await client.post("/v1/recipe", data=yaml.dump(body), headers={"Content-Type": "application/yaml"})
    assert await resp.json() == via_json
    assert "gke-cos" in via_json["metadata"]["appliedOverlays"]
    get = await (await client.get("/v1/recipe?service=gke&os=cos")).json()
    assert get == via_json


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"spec: [", "request body"),
        (b'{"kind": "Snapshot"}', "kind: must be 'recipeCriteria', got 'Snapshot'"),
        (b'{"spec": {"os": "windows"}}', "invalid os type: windows"),
    ],
)
async def test_post_bad_body(make_client: MakeClient, data: bytes, needle: str) -> None:
    client = await make_client()
    resp = await client.post("/v1/recipe", data=data)
    assert resp.status == 400
    assert needle in (await resp.json())["message"]


async def test_body_too_large(make_client: MakeClient) -> None:
    client = await make_client(Settings(max_body_bytes=1024))
    resp = await client.post("/v1/recipe", data=b"x" * 4096)
    assert resp.status == 413
    body = await resp.json()
    assert body["code"] == "PAYLOAD_TOO_LARGE"
    assert body["message"] == "request body is larger than 1024 bytes"


async def test_rate_limit_429_and_probes_exempt(make_client: MakeClient) -> None:
    client = await make_client(Settings(rate_limit=1, rate_burst=3))
    statuses = [(await client.get("/v1/recipe")).status for _ in range(3)]
    assert statuses == [200, 200, 200]
    resp = await client.get("/v1/recipe")
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) >= 1
    body = await resp.json()
    assert body["code"] == "RATE_LIMIT_EXCEEDED" and body["retryable"] is True
    for path in ("/health", "/ready", "/metrics"):
        assert (await client.get(path)).status == 200
    metrics = await (await client.get("/metrics")).text()
    assert metric_value(metrics, "eidos_rate_limit_rejects_total") == 1
    assert metric_value(metrics, "eidos_http_requests_total", {"path": "/v1/recipe", "status": "429"}) == 1


async def test_429_carries_the_rate_limit_headers_of_a_success(make_client: MakeClient) -> None:
    # rate 0.5/s: the bucket cannot gain a whole token between these requests.
    client = await make_client(Settings(rate_limit=0.5, rate_burst=2))
    first = await client.get("/v1/recipe")
    assert (first.status, first.headers["X-RateLimit-Remaining"], first.headers["X-RateLimit-Reset"]) == (200, "1", "2")
    last = await client.get("/nowhere")  # a 404 takes a token and carries the headers too
    assert (last.status, last.headers["X-RateLimit-Remaining"], last.headers["X-RateLimit-Reset"]) == (404, "0", "4")
    refused = await client.get("/v1/recipe", headers={"X-Request-Id": "refused-1"})
    assert refused.status == 429
    assert (
        refused.headers["X-RateLimit-Limit"] == first.headers["X-RateLimit-Limit"] == "0.5"
    )  # the rate; the burst is in the 429 details
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Reset"] == "4"  # 2 tokens short at 0.5/s
    assert refused.headers["Retry-After"] == "2"  # one token at 0.5/s
    assert refused.headers["X-Request-Id"] == "refused-1"
    assert refused.headers["Content-Type"] == "application/json"
    body = await refused.json()
    assert body["message"] == "Rate limit exceeded"  # the reference's words
    assert body["details"] == {"limit": 0.5, "burst": 2}
    assert body["requestId"] == "refused-1"


async def test_api_version_on_every_application_response_and_not_on_probes(make_client: MakeClient) -> None:
    """X-API-Version: v1 as the reference sends it: on successes (cached or not), 304s, errors,
    405s, 404s and 429s; the probes and /metrics bypass the pipeline and carry none."""
    client = await make_client(Settings(rate_limit=0.5, rate_burst=8))
    first = await client.get("/v1/recipe?service=eks")
    cached = await client.get("/v1/recipe?service=eks")
    unchanged = await client.get("/v1/recipe?service=eks", headers={"If-None-Match": first.headers["ETag"]})
    answers = [
        first,
        cached,
        unchanged,
        await client.get("/v1/recipe?service=windows"),
        await client.get("/nowhere"),
        await client.delete("/v1/recipe"),
        await client.post("/v1/recipe", data=b"{}", headers={"Content-Type": "application/json"}),
        await client.get("/"),
    ]
    while answers[-1].status != 429:
        answers.append(await client.get("/v1/query?selector=criteria"))
    statuses = sorted({resp.status for resp in answers})
    assert statuses == [200, 304, 400, 404, 405, 429], statuses
    for resp in answers:
        assert resp.headers.get("X-API-Version") == "v1", (resp.status, resp.url)
    for path in ("/health", "/ready", "/metrics", "/openapi.json"):
        probe = await client.get(path)
        assert probe.status == 200
        assert "X-API-Version" not in probe.headers, path


async def test_probe_bodies_are_the_references(make_client: MakeClient) -> None:
    """/health: {"status": "healthy", "timestamp"}; /ready: "ready" or "not_ready" with a
    timestamp (and ours: the data served, or why not)."""
    apps: list[web.Application] = []
    client = await make_client(extra=apps.append)
    health = await (await client.get("/health")).json()
    assert set(health) == {"status", "timestamp"} and health["status"] == "healthy"
    stamp = datetime.fromisoformat(health["timestamp"].replace("Z", "+00:00"))
    assert abs(stamp.timestamp() - time.time()) < 60
    ready = await client.get("/ready")
    body = await ready.json()
    assert (ready.status, body["status"], body["recipeSource"]) == (200, "ready", "embedded")
    assert datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    apps[0][LIFECYCLE].draining = True
    ready = await client.get("/ready")
    body = await ready.json()
    assert (ready.status, body["status"], body["reason"]) == (503, "not_ready", "shutting down")
    assert body["timestamp"]


async def test_metric_help_and_buckets_match_the_reference(make_client: MakeClient) -> None:
    """The help strings the spec lists for parity, and every bucket bound the reference has."""
    client = await make_client()
    await client.get("/v1/recipe")
    text = await (await client.get("/metrics")).text()
    docs = {family.name: family.documentation for family in text_string_to_metric_families(text)}
    assert docs["eidos_http_requests"] == "Total number of HTTP requests"
    assert docs["eidos_http_request_duration_seconds"] == "HTTP request latency in seconds"
    assert docs["eidos_http_requests_in_flight"] == "Current number of HTTP requests being processed"
    assert docs["eidos_rate_limit_rejects"] == "Total number of requests rejected due to rate limiting"
    assert docs["eidos_panic_recoveries"] == "Total number of panics recovered in HTTP handlers"
    bounds = {
        float(sample.labels["le"])
        for family in text_string_to_metric_families(text)
        if family.name == "eidos_http_request_duration_seconds"
        for sample in family.samples
        if sample.name.endswith("_bucket")
    }
    assert {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10} <= bounds


async def test_other_methods_on_probes_are_neither_limited_nor_counted(make_client: MakeClient) -> None:
    """As the reference's probes: POST/PUT/DELETE on /health, /ready (and /metrics) is a
    plain-text 405 that takes no rate-limit token and shows in no request metric."""
    client = await make_client(Settings(rate_limit=0.001, rate_burst=1))
    tries = [("POST", "/health"), ("PUT", "/health"), ("DELETE", "/ready"), ("POST", "/ready"), ("POST", "/metrics")]
    for method, path in tries:
        resp = await client.request(method, path)
        assert (resp.status, await resp.text()) == (405, "Method not allowed\n"), (method, path)
        assert resp.headers["Allow"] == "GET,HEAD" and "X-RateLimit-Remaining" not in resp.headers
    assert (await client.get("/v1/recipe")).status == 200  # the one token is still there
    text = await (await client.get("/metrics")).text()
    paths = {
        sample.labels["path"]
        for family in text_string_to_metric_families(text)
        if family.name == "eidos_http_requests"
        for sample in family.samples
    }
    assert paths == {"/v1/recipe"}


async def test_metrics_parse(make_client: MakeClient) -> None:
    client = await make_client()
    for _ in range(3):
        await client.get("/v1/recipe?service=eks")
    await client.get("/nowhere")
    text = await (await client.get("/metrics")).text()
    assert (
        metric_value(text, "eidos_http_requests_total", {"method": "GET", "path": "/v1/recipe", "status": "200"}) == 3
    )
    assert metric_value(text, "eidos_http_requests_total", {"path": "unmatched", "status": "404"}) == 1
    assert metric_value(text, "eidos_http_request_duration_seconds_count", {"path": "/v1/recipe"}) == 3
    assert metric_value(text, "eidos_recipe_cache_misses_total") == 1
    assert metric_value(text, "eidos_recipe_cache_hits_total") == 2
    assert metric_value(text, "eidos_recipe_reload_total") == 1
    assert (
        metric_value(text, "eidos_recipe_store_info", {"source": "embedded", "version": embedded_store().version}) == 1
    )
    assert metric_value(text, "eidos_http_requests_in_flight") == 0
    assert metric_value(text, "eidos_recipe_build_duration_seconds_count") == 1
    assert metric_value(text, "process_resident_memory_bytes") > 0


async def test_internal_error_does_not_leak(make_client: MakeClient) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret database password")

    client = await make_client(extra=lambda app: app.router.add_get("/boom", app[PIPELINE].wrap(boom, "/boom", "GET")))
    metrics = await (await client.get("/metrics")).text()
    assert metric_value(metrics, "eidos_panic_recoveries_total") == 0
    resp = await client.get("/boom")
    assert resp.status == 500
    body = await resp.json()
    assert body["code"] == "INTERNAL" and "secret" not in json.dumps(body)
    assert body["message"] == "Internal server error"  # the reference's words
    metrics = await (await client.get("/metrics")).text()
    assert metric_value(metrics, "eidos_panic_recoveries_total") == 1  # the reference's name for these
    assert metric_value(metrics, "eidos_http_requests_total", {"path": "/boom", "status": "500"}) == 1


async def test_handler_overrun_is_504(make_client: MakeClient) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response()

    client = await make_client(
        Settings(write_timeout=0.1),
        extra=lambda app: app.router.add_get("/slow", app[PIPELINE].wrap(slow, "/slow", "GET")),
    )
    resp = await client.get("/slow")
    assert resp.status == 504
    assert (await resp.json())["code"] == "TIMEOUT"


async def test_slow_body_is_408(make_client: MakeClient) -> None:
    client = await make_client(Settings(read_timeout=0.2))
    assert client.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(b'POST /v1/recipe HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"spec":')
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 408")
    writer.close()


class SlowSource:
    """Fails its first loads (API down), then serves the embedded data."""

    description = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures

    async def load(self) -> RecipeStore:
        if self.failures:
            self.failures -= 1
            raise UnavailableError("API down")
        return embedded_store()

    async def updates(self) -> AsyncIterator[ReloadEvent]:
        await asyncio.Event().wait()
        yield embedded_store()


async def test_not_ready_until_data_loads(aiohttp_client: Any) -> None:
    app = create_app(Settings(), SlowSource(failures=2))
    client = await aiohttp_client(app)
    resp = await client.get("/ready")
    assert resp.status == 503
    resp = await client.get("/v1/recipe")
    assert resp.status == 503 and (await resp.json())["retryable"] is True
    for _ in range(100):
        if (await client.get("/ready")).status == 200:
            break
        await asyncio.sleep(0.05)
    assert (await client.get("/ready")).status == 200
    text = await (await client.get("/metrics")).text()
    assert metric_value(text, "eidos_recipe_reload_errors_total") == 2


async def test_reload_from_directory(make_client: MakeClient, tmp_path: Path) -> None:
    for rel, data in mini_files().items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    client = await make_client(Settings(recipe_data_path=str(tmp_path)))
    first = await (await client.get("/v1/recipe?service=eks")).json()
    assert first["metadata"]["appliedOverlays"] == ["base"]
    spec = {"criteria": {"service": "eks"}, "componentRefs": [{"name": "a", "version": "7.7.7"}]}
    (tmp_path / "overlays" / "eks.yaml").write_text(yaml.dump(metadata_doc("eks", spec)))
    for _ in range(40):
        doc = await (await client.get("/v1/recipe?service=eks")).json()
        if doc["metadata"]["appliedOverlays"] == ["base", "eks"]:
            break
        await asyncio.sleep(0.05)
    assert {c["name"]: c.get("version") for c in doc["componentRefs"]}["a"] == "7.7.7"
    (tmp_path / "overlays" / "eks.yaml").write_text("kind: [broken\n")
    await asyncio.sleep(1.2)
    kept = await (await client.get("/v1/recipe?service=eks")).json()
    assert kept == doc
    text = await (await client.get("/metrics")).text()
    assert metric_value(text, "eidos_recipe_reload_errors_total") == 1
    assert metric_value(text, "eidos_recipe_reload_total") == 2


async def test_root_lists_routes_and_docs_served(make_client: MakeClient) -> None:
    client = await make_client()
    info = await (await client.get("/")).json()
    assert info["service"] == "eidosd" and info["routes"] == sorted(info["routes"])
    assert {"/v1/recipe", "/v1/bundle", "/v1/query"} <= set(info["routes"])
    docs = await client.get("/docs")
    assert docs.status == 200 and docs.content_type == "text/html"
    page = await docs.text()
    assert 'url: "/openapi.json"' in page and 'href="/docs/static/swagger-ui.css"' in page
    spec = await (await client.get("/openapi.json")).json()
    assert spec["openapi"] == "3.0.3"
    assert spec["paths"].keys().isdisjoint({"/docs", "/openapi.json", "/docs/static/{name}"})
    css = await client.get("/docs/static/swagger-ui.css")
    assert css.status == 200 and css.content_type == "text/css" and len(await css.read()) > 1000
    for missing in ("/docs/static/nope.js", "/docs/static/..%2Findex.html", "/docs/static/../core.py"):
        assert (await client.get(missing)).status == 404, missing


def test_every_route_is_wrapped() -> None:
    """Every response marks its connection idle and honours the drain through its wrapper
    (connection.py): a route added without one would be cut at READ_TIMEOUT when idle."""
    app = create_app(Settings())
    unwrapped = [route for route in app.router.routes() if not getattr(route.handler, WRAPPED, False)]
    assert unwrapped == []


async def test_every_json_response_has_the_same_content_type(make_client: MakeClient) -> None:
    """Probes, service info, recipes, queries, errors: ``application/json`` exactly (no charset
    on some and not on others)."""
    client = await make_client()
    requests = [
        ("GET", "/", None), ("GET", "/health", None), ("GET", "/ready", None), ("GET", "/openapi.json", None),
        ("GET", "/v1/recipe?gpu=h100", None), ("GET", "/v1/recipe?os=windows", None),
        ("GET", "/v1/query?selector=deploymentOrder", None), ("GET", "/v1/query?selector=nope", None),
        ("POST", "/v1/recipe", "{}"), ("POST", "/v1/recipe", "{"), ("PUT", "/v1/recipe", None),
        ("GET", "/nowhere", None), ("POST", "/v1/bundle", "x"),
    ]  # fmt: skip
    seen = {}
    for method, path, body in requests:
        resp = await client.request(method, path, data=body)
        await resp.read()
        seen[(method, path, resp.status)] = resp.headers["Content-Type"]
    assert set(seen.values()) == {"application/json"}, seen
    assert {status for _, _, status in seen} == {200, 400, 404, 405}  # successes and each kind of error
