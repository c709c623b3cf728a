"""eidosd fed hostile input at every entry point — query strings, request bodies (plain and
gzip), recipe data by directory and by ConfigMap: never a 5xx, never a dead process, and the
last good data is still what is served."""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eidos_core import yaml
from tests.conftest import mini_files
from tests.hostile.payloads import PAYLOADS
from tests.kube.emulator import KubeFixture
from tests.support import (
    NAME,
    NO_RATE_LIMIT,
    NS,
    EidosdProcess,
    as_configmap,
    launch_eidosd,
    start_eidosd,
    wait_until,
)

EMBEDDED = Path(__file__).resolve().parents[2] / "recipe_data"
BASELINE = "/v1/recipe?service=eks&accelerator=h100&intent=training"
ERRORS = "eidos_recipe_reload_errors_total"
ENVELOPE_KEYS = {"code", "message", "requestId", "timestamp", "retryable"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EidosdProcess]:
    srv = start_eidosd(tmp_path_factory.mktemp("eidosd"), **NO_RATE_LIMIT)
    yield srv
    assert srv.stop() == 0, srv.log()[-2000:]


def baseline_etag(server: EidosdProcess) -> str:
    status, headers, _ = server.request(BASELINE)
    assert status == 200
    return headers["ETag"]


def assert_refused(status: int, body: bytes) -> dict[str, Any]:
    assert 400 <= status < 500, body[:300]
    doc: dict[str, Any] = json.loads(body)
    assert doc.keys() >= ENVELOPE_KEYS, doc
    return doc


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_hostile_bodies_are_4xx(server: EidosdProcess, payload: str, encoding: str) -> None:
    etag = baseline_etag(server)
    body = PAYLOADS[payload]
    headers = {"Content-Type": "application/yaml"}
    if encoding == "gzip":
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    status, _, answer = server.request("/v1/recipe", body, headers)
    doc = assert_refused(status, answer)
    if len(PAYLOADS[payload]) > 64 * 1024:
        assert status == 413, doc  # also when it only grows that large while decompressing
    server.assert_alive()
    assert baseline_etag(server) == etag


@pytest.mark.parametrize(
    "query",
    [
        {"nodes": "9" * 5000},
        {"nodes": "-3"},
        {"nodes": "0.5"},
        {"nodes": "1e3"},
        {"service": "eks\x00"},
        {"service": "x" * 4000},
        {"os": "\ud800"},
        {"accelerator": "h100", "junk": "1"},
    ],
    ids=["huge-nodes", "negative-nodes", "fraction-nodes", "exponent-nodes", "nul", "long", "surrogate", "unknown"],
)
def test_hostile_query_values_are_400(server: EidosdProcess, query: dict[str, str]) -> None:
    encoded = urllib.parse.urlencode(query, errors="surrogatepass")
    status, _, answer = server.request("/v1/recipe?" + encoded)
    assert status == 400, answer[:300]
    assert_refused(status, answer)
    server.assert_alive()


def test_invalid_utf8_in_the_query_is_400(server: EidosdProcess) -> None:
    status, _, answer = server.request("/v1/recipe?service=%ff%fe")
    assert_refused(status, answer)


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
_documents = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
)
_criteria_like = st.fixed_dictionaries(
    {"kind": st.sampled_from(["RecipeCriteria", "recipeCriteria", "x"]), "spec": _documents | st.dictionaries(
        st.sampled_from(["service", "accelerator", "gpu", "intent", "os", "nodes", "x"]), _scalars)}
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=(_documents | _criteria_like).map(lambda d: yaml.dump(d).encode()) | st.binary(max_size=200))
def test_generated_bodies_never_get_a_5xx(server: EidosdProcess, body: bytes) -> None:
    status, _, answer = server.request("/v1/recipe", body, {"Content-Type": "application/yaml"})
    assert status in (200, 400, 413, 415), (status, answer[:300])
    if status != 200:
        assert_refused(status, answer)


# --- recipe data -----------------------------------------------------------------------------------


def wait_for(check: Callable[[], bool], what: str, server: EidosdProcess) -> None:
    """Until ``check`` holds, the server alive throughout; ``what`` (a payload name or a description)
    says what failed."""

    def alive_and_done() -> bool:
        server.assert_alive()
        return check()

    wait_until(alive_and_done, what, 10)


def errors_above(server: EidosdProcess, count: float) -> Callable[[], bool]:
    """Whether the server has counted more than ``count`` reload errors."""
    return lambda: server.metric(ERRORS) > count


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


@pytest.mark.slow
def test_hostile_directory_data_keeps_the_last_good_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(EMBEDDED, data, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    server = launch_eidosd(tmp_path, RECIPE_DATA_PATH=str(data), **NO_RATE_LIMIT)
    try:
        server.wait_ready()
        etag = baseline_etag(server)
        version = server.json("/ready")[1]["recipeVersion"]
        overlay = data / "overlays" / "eks.yaml"
        good = overlay.read_bytes()
        for name, payload in PAYLOADS.items():
            errors = server.metric(ERRORS)
            write_atomically(overlay, payload)
            wait_for(errors_above(server, errors), name, server)
            assert server.request("/ready")[0] == 200, name
            assert baseline_etag(server) == etag, name
        # The follower is still alive: a good change is served.
        write_atomically(overlay, good + b"\n# a comment changes the data version\n")
        wait_for(lambda: server.json("/ready")[1]["recipeVersion"] != version, "the good change served", server)
    finally:
        assert server.stop() == 0, server.log()[-2000:]
    assert "Traceback" not in server.log()


@pytest.mark.slow
async def test_hostile_configmap_data_keeps_the_last_good_store(kube: KubeFixture, tmp_path: Path) -> None:
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    eks: dict[str, object] = {
        "criteria": {"service": "eks"},
        "componentRefs": [{"name": "b", "type": "Helm", "version": "1.0.0"}],
    }
    good = mini_files(eks=eks)
    kube.put(as_configmap(good))
    server = launch_eidosd(tmp_path, RECIPE_CONFIGMAP=f"{NS}/{NAME}", KUBECONFIG=str(kube.kubeconfig), **NO_RATE_LIMIT)
    try:
        await asyncio.to_thread(server.wait_ready)
        path = "/v1/recipe?service=eks"
        status, headers, _ = await asyncio.to_thread(server.request, path)
        assert status == 200
        etag = headers["ETag"]
        await kube.emulator.wait_for_watches(1, "configmaps")
        # Over 1 MiB cannot be stored in a ConfigMap at all; the rest can, by one bad kubectl apply.
        for name, payload in PAYLOADS.items():
            if len(payload) > 1024 * 1024 - 4096:
                continue
            errors = await asyncio.to_thread(server.metric, ERRORS)
            kube.put(as_configmap({**good, "overlays/eks.yaml": payload}))
            await asyncio.to_thread(wait_for, errors_above(server, errors), name, server)
            status, headers, _ = await asyncio.to_thread(server.request, path)
            assert (status, headers["ETag"]) == (200, etag), name
        eks["componentRefs"] = [{"name": "b", "type": "Helm", "version": "2.0.0"}]
        kube.put(as_configmap(mini_files(eks=eks)))

        def changed() -> bool:
            return server.request(path)[1].get("ETag") != etag

        await asyncio.to_thread(wait_for, changed, "the good change served", server)
    finally:
        assert await asyncio.to_thread(server.stop) == 0, server.log()[-2000:]
    assert "Traceback" not in server.log()


def test_json_with_surrogate_pair_escapes_is_accepted(server: EidosdProcess) -> None:
    body = b'{"kind": "recipeCriteria", "metadata": {"note": "\\ud83d\\ude80 launch"}, "spec": {"service": "eks"}}'
    status, _, answer = server.request("/v1/recipe", body, {"Content-Type": "application/json"})
    assert status == 200, answer[:300]
    assert json.loads(answer)["criteria"]["service"] == "eks"


QUERY_BASE = "/v1/query?service=eks&accelerator=h100&intent=training&selector="


@pytest.mark.parametrize(
    "selector",
    [
        "x" * 4000,
        ".".join(["a"] * 2000),  # under aiohttp's 8 KiB request line (beyond: its plain-text 400)
        "componentRefs..version",
        ".",
        "componentRefs.gpu-operator.version\x00",
        "componentRefs.gpu-operator.\u202eversion",
        "\ud800",
        "deploymentOrder.99999999999999999999999999",
        "deploymentOrder.-1",
        "componentRefs.__class__.__mro__",
        "componentRefs.gpu-operator.values." + ".".join(["k"] * 63),
        "%",
    ],
    ids=["long", "many-dots", "empty-segment", "dot", "nul", "bidi", "surrogate", "huge-index", "negative-index",
         "dunder", "deep", "percent"],
)  # fmt: skip
def test_hostile_selectors_are_4xx(server: EidosdProcess, selector: str) -> None:
    """A selector is a 400 (malformed) or a 404 (well formed, not there) in the envelope."""
    encoded = urllib.parse.quote(selector, safe="", errors="surrogatepass")
    status, _, answer = server.request(QUERY_BASE + encoded)
    doc = assert_refused(status, answer)
    assert status in (400, 404), doc
    server.assert_alive()


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(selector=st.text(max_size=80) | st.lists(st.text(max_size=12), min_size=1, max_size=70).map(".".join))
def test_generated_selectors_never_get_a_5xx(server: EidosdProcess, selector: str) -> None:
    encoded = urllib.parse.quote(selector, safe="", errors="surrogatepass")
    status, _, answer = server.request(QUERY_BASE + encoded)
    assert status in (200, 400, 404), (status, answer[:300])
    json.loads(answer)  # a value or an envelope: JSON either way


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("content_type", ["application/json", "application/yaml"])
def test_hostile_query_bodies_are_4xx(server: EidosdProcess, payload: str, content_type: str) -> None:
    """POST /v1/query reads the same bodies as POST /v1/recipe, as JSON when sent as JSON."""
    status, _, answer = server.request(
        "/v1/query?selector=deploymentOrder", PAYLOADS[payload], {"Content-Type": content_type}
    )
    assert_refused(status, answer)
    server.assert_alive()
