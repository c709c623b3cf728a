"""GET|POST /v1/query and HEAD on every GET route (issue 14), through eidosd's application on a
real socket (pytest-aiohttp's test server and client).

Expected values come from elsewhere than the code under test: a component's ``values`` are read
back from the ``<component>/values.yaml`` a real bundle of the recipe writes (the bundle writer,
no ``--set``; node scheduling off — see :data:`UNSCHEDULED`)."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from eidos_cli.bundle.bundler import BundleOptions, render_bundle
from eidos_cli.bundle.scheduling import NodeGroup, Scheduling
from eidos_cli.bundle.writer import write_bundle
from eidos_core import yaml
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import ACCELERATORS, ANY, INTENTS, OS_TYPES, SERVICES, Criteria
from eidos_core.recipe.model import RecipeStore
from eidos_core.recipe.result import recipe_from_document
from eidos_core.sources.embedded import embedded_store
from eidosd.settings import Settings
from tests.support import Client, MakeClient, metric_value

CRITERIA = "service=eks&accelerator=h100&intent=training"
# The query answers values before node scheduling. A bundle always schedules: without flags the
# accelerated group gets the GPU taint toleration at the registry's paths (scheduling.py), and
# no flag turns that off. Node groups with no selector and tolerations None write nothing at all
# (scheduling._apply_group), so this bundle's values.yaml files are the values before scheduling,
# whole, paths that scheduling would overwrite included.
UNSCHEDULED = BundleOptions(scheduling=Scheduling(system=NodeGroup(), accelerated=NodeGroup()))


@pytest.fixture(scope="module")
def store() -> RecipeStore:
    return embedded_store()


def component(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(ref for ref in doc["componentRefs"] if ref["name"] == name)
    return found


def written_values(store: RecipeStore, doc: dict[str, Any], root: Path) -> dict[str, Any]:
    """Each component's values as a bundle of the recipe document ``doc`` writes them to disk,
    read back as JSON data (what /v1/query answers: YAML int keys become strings)."""
    write_bundle(render_bundle(recipe_from_document(doc), store, UNSCHEDULED).files, root)
    out: dict[str, Any] = {}
    for ref in doc["componentRefs"]:
        path = root / ref["name"] / "values.yaml"
        assert path.is_file(), f"{path}: every embedded component is a Helm chart with a values file"
        out[ref["name"]] = json.loads(json.dumps(yaml.load(path.read_bytes(), source=str(path)) or {}))
    return out


async def recipe_doc(client: Client, query: str = CRITERIA) -> dict[str, Any]:
    resp = await client.get(f"/v1/recipe?{query}")
    assert resp.status == 200
    doc: dict[str, Any] = await resp.json()
    return doc


async def test_issue_examples_equal_the_recipe_document(
    make_client: MakeClient, store: RecipeStore, tmp_path: Path
) -> None:
    client = await make_client()
    doc = await recipe_doc(client)
    gpu = component(doc, "gpu-operator")
    constraints = {c["name"]: c["value"] for c in doc["constraints"]}
    bundle = written_values(store, doc, tmp_path)
    values = bundle["gpu-operator"]
    adapter = bundle["prometheus-adapter"]
    for selector, expected in (
        ("componentRefs.gpu-operator.version", gpu["version"]),
        ("componentRefs.gpu-operator.values.driver.version", values["driver"]["version"]),
        ("componentRefs.gpu-operator.values", values),
        # Set by the bundle from the registry's valueReferences and the namespace plan, not in any values file.
        ("componentRefs.prometheus-adapter.values.prometheus", adapter["prometheus"]),
        ("componentRefs.prometheus-adapter.values.prometheus.url", adapter["prometheus"]["url"]),
        ("deploymentOrder", doc["deploymentOrder"]),
        ("deploymentOrder.1", doc["deploymentOrder"][1]),
        ("constraints.K8s.server.version", constraints["K8s.server.version"]),
        ("criteria", doc["criteria"]),
        ("metadata.appliedOverlays", doc["metadata"]["appliedOverlays"]),
    ):
        resp = await client.get(f"/v1/query?{CRITERIA}&selector={selector}")
        assert resp.status == 200, (selector, await resp.text())
        assert resp.headers["Content-Type"] == "application/json"
        assert resp.headers["Cache-Control"] == "public, max-age=600"
        assert await resp.json() == expected, selector
    # A scalar is answered as a bare JSON value (a string in quotes), not wrapped in an object.
    resp = await client.get(f"/v1/query?{CRITERIA}&selector=componentRefs.gpu-operator.version")
    assert await resp.read() == json.dumps(gpu["version"]).encode()


async def test_post_takes_the_criteria_document_and_the_selector_parameter(make_client: MakeClient) -> None:
    client = await make_client()
    body = {"kind": "recipeCriteria", "spec": {"service": "gke", "os": "cos", "accelerator": "h100"}}
    want = await (await client.get("/v1/query?service=gke&os=cos&gpu=h100&selector=deploymentOrder")).json()
    assert want == (await recipe_doc(client, "service=gke&os=cos&gpu=h100"))["deploymentOrder"]
    resp = await client.post("/v1/query?selector=deploymentOrder", json=body)
    assert resp.status == 200 and await resp.json() == want
    resp = await client.post(
        "/v1/query?selector=deploymentOrder", data=yaml.dump(body), headers={"Content-Type": "application/yaml"}
    )
    assert resp.status == 200 and await resp.json() == want
    etag = resp.headers["ETag"]
    again = await client.post("/v1/query?selector=deploymentOrder", json=body, headers={"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag


async def test_not_found_names_the_longest_existing_path(make_client: MakeClient) -> None:
    client = await make_client()
    for selector, found, missing in (
        ("componentRefs.gpu-operator.values.driver.nope", "componentRefs.gpu-operator.values.driver", "nope"),
        ("componentRefs.no-such-thing.version", "componentRefs", "no-such-thing"),
        ("constraints.K8s.server.version.major", "constraints.K8s.server.version", "major"),
        ("deploymentOrder.99", "deploymentOrder", "99"),
        ("deploymentOrder.00", "deploymentOrder", "00"),  # one spelling per item: 0, not 00 or 000
        ("deploymentOrder.01", "deploymentOrder", "01"),
        ("nothing", "", "nothing"),
    ):
        for _ in range(2):  # the second time from the cached hydrated recipe: still a 404
            resp = await client.get(f"/v1/query?{CRITERIA}&selector={selector}")
            assert resp.status == 404, selector
            body = await resp.json()
            assert body["code"] == "NOT_FOUND" and body["retryable"] is False
            assert body["details"]["found"] == found and body["details"]["missing"] == missing
            assert body["details"]["field"] == "selector"
            assert f"{missing!r} does not" in body["message"]
            assert body["requestId"] == resp.headers["X-Request-Id"]
    resp = await client.post("/v1/query?selector=componentRefs.gpu-operator.values.driver.nope", json={})
    assert resp.status == 404
    assert (await resp.json())["details"]["found"] == "componentRefs.gpu-operator.values.driver"


@pytest.mark.parametrize(
    ("query", "field", "needle"),
    [
        ("selector=", "selector", "it is empty"),
        ("selector=a..b", "selector", "segment 2 is empty"),
        ("selector=.deploymentOrder", "selector", "segment 1 is empty"),
        ("selector=deploymentOrder.", "selector", "segment 2 is empty"),
        ("selector=a%09b", "selector", "control character"),
        ("selector=a.%20b", "selector", "blanks around it"),
        ("selector=" + "a" * 1025, "selector", "longer than 1024"),
        ("", "selector", "'selector' is required"),
        ("service=eks", "selector", "'selector' is required"),
        ("selector=deploymentOrder&os=beos", "os", "invalid os type: beos"),
    ],
)
async def test_malformed_query_is_400(make_client: MakeClient, query: str, field: str, needle: str) -> None:
    client = await make_client()
    resp = await client.get(f"/v1/query?{query}")
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == "INVALID_REQUEST"
    assert body["details"]["field"] == field and needle in body["message"], body


async def test_query_parameters_checked_like_the_recipes(make_client: MakeClient) -> None:
    client = await make_client()
    resp = await client.get("/v1/query?selector=deploymentOrder&k8s=1.30")
    assert resp.status == 400
    assert (await resp.json())["details"] == {
        "parameter": "k8s",
        "allowed": ["service", "accelerator", "gpu", "intent", "os", "nodes", "selector"],
    }
    resp = await client.get("/v1/query?selector=deploymentOrder&selector=criteria")
    assert resp.status == 400
    assert (await resp.json())["details"]["values"] == ["deploymentOrder", "criteria"]
    assert (await client.get("/v1/query?selector=criteria&selector=criteria")).status == 200
    # POST: the selector is the only query parameter; the body is required.
    resp = await client.post("/v1/query?selector=criteria&service=eks", json={})
    assert resp.status == 400 and (await resp.json())["details"]["parameter"] == "service"
    resp = await client.post("/v1/query", json={})
    assert resp.status == 400 and (await resp.json())["details"] == {"field": "selector"}
    resp = await client.post("/v1/query?selector=criteria", data=b"")
    assert resp.status == 400 and (await resp.json())["message"].startswith("request body is empty")
    resp = await client.post("/v1/query?selector=a..b", json={})
    assert resp.status == 400 and (await resp.json())["details"]["field"] == "selector"


@pytest.mark.parametrize("route", ["/v1/recipe", "/v1/query"])
async def test_gpu_and_a_different_accelerator_are_400_naming_both(make_client: MakeClient, route: str) -> None:
    client = await make_client()
    selector = "&selector=criteria" if route == "/v1/query" else ""
    for query, parameters, values in (
        ("gpu=h100&accelerator=a100", ["gpu", "accelerator"], ["h100", "a100"]),
        ("accelerator=b200&gpu=H100", ["accelerator", "gpu"], ["b200", "H100"]),
    ):
        resp = await client.get(f"{route}?{query}{selector}")
        assert resp.status == 400
        body = await resp.json()
        # parameters[i] was sent with values[i], in the order sent
        assert body["details"]["parameters"] == parameters
        assert body["details"]["values"] == values
        assert "conflicting values for" in body["message"] and "accelerator" in body["message"]
    resp = await client.get(f"{route}?gpu=h100&accelerator=H100{selector}")  # the same GPU: accepted
    assert resp.status == 200


async def test_etag_304_and_the_answer_cache(make_client: MakeClient) -> None:
    client = await make_client()
    url = f"/v1/query?{CRITERIA}&selector=componentRefs.gpu-operator.version"
    first = await client.get(url)
    etag = first.headers["ETag"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag and await again.read() == b""
    assert again.headers["Cache-Control"] == "public, max-age=600"
    # The same criteria spelled otherwise: the same answer and ETag (answered from the criteria).
    other = await client.get(
        "/v1/query?intent=TRAINING&gpu=h100&service=eks&os=&selector=componentRefs.gpu-operator.version"
    )
    assert other.headers["ETag"] == etag and await other.json() == await first.json()
    assert (await client.get(url, headers={"If-None-Match": '"other"'})).status == 200
    text = await (await client.get("/metrics")).text()
    # first: a miss; again and the If-None-Match mismatch: query-string hits; other: a criteria hit.
    assert metric_value(text, "eidos_recipe_cache_misses_total") == 1
    assert metric_value(text, "eidos_recipe_cache_hits_total") == 3
    assert metric_value(text, "eidos_http_requests_total", {"method": "GET", "path": "/v1/query", "status": "200"}) == 3
    assert metric_value(text, "eidos_http_requests_total", {"method": "GET", "path": "/v1/query", "status": "304"}) == 1


# --- HEAD ---------------------------------------------------------------------------------------

# Differ between any two responses (or, for /metrics, its body and so its length).
VARYING = {"date", "x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset"}
GET_ROUTES = (
    "/",
    "/health",
    "/ready",
    "/metrics",
    f"/v1/recipe?{CRITERIA}",
    f"/v1/query?{CRITERIA}&selector=componentRefs.gpu-operator.version",
    "/openapi.json",
    "/docs",
    "/docs/static/swagger-ui.css",
)


@pytest.mark.parametrize("url", GET_ROUTES)
async def test_head_has_the_status_and_headers_of_get_without_a_body(make_client: MakeClient, url: str) -> None:
    client = await make_client()
    get = await client.get(url)
    head = await client.head(url)
    assert head.status == get.status == 200
    varying = VARYING | ({"content-length"} if url == "/metrics" else set())
    assert {k.lower(): v for k, v in head.headers.items() if k.lower() not in varying} == {
        k.lower(): v for k, v in get.headers.items() if k.lower() not in varying
    }
    if url != "/metrics":
        assert int(head.headers["Content-Length"]) == len(await get.read()) > 0
    assert await head.read() == b""


async def test_head_sends_no_body_on_the_wire(make_client: MakeClient) -> None:
    """Pipelined HEAD then GET on one connection: the GET's status line follows HEAD's header
    block at once, so no body bytes were sent for the HEAD."""
    client = await make_client()
    assert client.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(
        f"HEAD /v1/recipe?{CRITERIA} HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: " in head
    following = await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
    assert following == b"HTTP/1.1 200 OK\r\n"
    writer.close()


async def test_head_is_counted_and_limited_like_get_and_probes_stay_exempt(make_client: MakeClient) -> None:
    client = await make_client(Settings(rate_limit=1, rate_burst=4))
    urls = (f"/v1/recipe?{CRITERIA}", f"/v1/recipe?{CRITERIA}", f"/v1/query?{CRITERIA}&selector=criteria", "/")
    assert [(await client.head(url)).status for url in urls] == [200, 200, 200, 200]
    refused = await client.head(f"/v1/recipe?{CRITERIA}")
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    for path in ("/health", "/ready", "/metrics", "/openapi.json", "/docs"):
        assert (await client.head(path)).status == 200, path  # never limited
    assert (await client.head("/v1/query?selector=a..b")).status == 429
    text = await (await client.get("/metrics")).text()
    for path, status, n in (
        ("/v1/recipe", "200", 2),
        ("/v1/recipe", "429", 1),
        ("/v1/query", "200", 1),
        ("/", "200", 1),
    ):
        assert metric_value(text, "eidos_http_requests_total", {"method": "HEAD", "path": path, "status": status}) == n
    with pytest.raises(KeyError):  # the GET series is apart
        metric_value(text, "eidos_http_requests_total", {"method": "GET", "path": "/v1/recipe"})
    with pytest.raises(KeyError):  # probes are never counted, HEAD or GET
        metric_value(text, "eidos_http_requests_total", {"path": "/health"})


async def test_head_errors_and_methods(make_client: MakeClient) -> None:
    client = await make_client()
    bad = await client.head("/v1/query?selector=a..b")
    assert bad.status == 400 and bad.headers["Content-Type"] == "application/json" and await bad.read() == b""
    assert (await client.head(f"/v1/query?{CRITERIA}&selector=nope")).status == 404
    assert (await client.head("/nowhere")).status == 404
    resp = await client.head("/v1/bundle")  # POST only: no HEAD
    assert resp.status == 405 and resp.headers["Allow"] == "POST"
    resp = await client.delete("/v1/query")
    assert resp.status == 405 and resp.headers["Allow"] == "GET,HEAD,POST"


# --- property: every component of every embedded recipe ------------------------------------------


def distinct_criteria(store: RecipeStore) -> list[Criteria]:
    """One criteria combination per distinct recipe (the same componentRefs and deploymentOrder),
    as tests/integration/test_every_bundle.py enumerates them."""
    seen: dict[str, Criteria] = {}
    for s, a, i, o in itertools.product((ANY, *SERVICES), (ANY, *ACCELERATORS), (ANY, *INTENTS), (ANY, *OS_TYPES)):
        criteria = Criteria(service=s, accelerator=a, intent=i, os=o)
        doc = build_recipe(store, criteria).to_document()
        key = json.dumps([doc["componentRefs"], doc["deploymentOrder"]], sort_keys=True)
        seen.setdefault(key, criteria)
    return list(seen.values())


async def test_every_component_of_every_recipe_answers_as_the_recipe_document_and_its_bundle(
    make_client: MakeClient, store: RecipeStore, tmp_path: Path
) -> None:
    """Versions as the recipe document has them; values as a bundle of that document writes them."""
    client = await make_client(Settings(rate_limit=1e6, rate_burst=1_000_000))
    recipes = distinct_criteria(store)
    assert len(recipes) > 10
    checked = referenced = 0
    for index, criteria in enumerate(recipes):
        query = (
            f"service={criteria.service}&accelerator={criteria.accelerator}&intent={criteria.intent}&os={criteria.os}"
        )
        doc = await recipe_doc(client, query)
        bundle = written_values(store, doc, tmp_path / f"{index:03d}")
        for ref in doc["componentRefs"]:
            name = ref["name"]
            version = await client.get(f"/v1/query?{query}&selector=componentRefs.{name}.version")
            if "version" in ref:
                assert version.status == 200 and await version.json() == ref["version"], (query, name)
            else:  # absent in the document: absent in the query, naming the component as found
                assert version.status == 404
                assert (await version.json())["details"]["found"] == f"componentRefs.{name}"
            values = await client.get(f"/v1/query?{query}&selector=componentRefs.{name}.values")
            assert values.status == 200 and await values.json() == bundle[name], (query, name)
            checked += 1
        referenced += "prometheus-adapter" in bundle or "nvidia-dra-driver-gpu" in bundle
    assert checked > 100
    assert referenced > 0  # the references (step 3) were among what was compared
