"""The OpenAPI document: valid 3.0.3, complete, committed, and usable by real tools."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from eidos_core import yaml
from eidos_core.recipe.criteria import ACCELERATORS, ANY, INTENTS, MAX_NODES, OS_TYPES, SERVICES, api_pattern
from eidos_core.recipe.query import SELECTOR_PATTERN
from eidosd.openapi import document
from eidosd.routes import QUERY_PARAMS
from tests.conftest import REPO
from tests.support import RunEidosd

SCHEMATHESIS_CONFIG = REPO / "tests" / "schemathesis.toml"  # per-operation expectations, with reasons
COMMITTED = REPO / "api" / "openapi.yaml"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(document()))
    return loaded


def test_valid_openapi_303(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.0.3"
    validate(spec)
    assert "produces" not in json.dumps(spec)


def test_committed_spec_has_not_drifted(spec: dict[str, Any]) -> None:
    committed = yaml.load(COMMITTED.read_bytes(), source=str(COMMITTED))
    assert committed == spec, "api/openapi.yaml is stale: run `python -m eidosd.openapi > api/openapi.yaml`"


def test_every_endpoint_parameter_and_error_documented(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    assert {"/", "/health", "/ready", "/metrics", "/v1/recipe", "/v1/query"} <= set(paths)
    assert all("head" not in operations for operations in paths.values())  # HEAD: GET without the body
    query = {p["name"]: p for p in paths["/v1/query"]["get"]["parameters"]}
    assert tuple(query) == (*QUERY_PARAMS, "selector")
    assert query["selector"]["required"] is True and "allowEmptyValue" not in query["selector"]
    assert query["selector"]["schema"]["pattern"] == SELECTOR_PATTERN
    post_query = paths["/v1/query"]["post"]
    assert [p["name"] for p in post_query["parameters"]] == ["selector"]
    assert post_query["requestBody"] == paths["/v1/recipe"]["post"]["requestBody"]
    for method in ("get", "post"):
        assert {"200", "400", "404", "429", "503"} <= set(paths["/v1/query"][method]["responses"])
    get = paths["/v1/recipe"]["get"]
    params = {p["name"]: p["schema"] for p in get["parameters"]}
    assert tuple(params) == QUERY_PARAMS
    # Every spelling the server accepts, in any case, and nothing else.
    for name, field, values in (
        ("service", "service", [*SERVICES, ANY, "self-managed", "self", "vanilla"]),
        ("accelerator", "accelerator", [*ACCELERATORS, ANY]),
        ("gpu", "accelerator", [*ACCELERATORS, ANY]),
        ("intent", "intent", [*INTENTS, ANY]),
        ("os", "os", [*OS_TYPES, ANY, "al2", "al2023", "amzn"]),
    ):
        pattern = params[name]["pattern"]
        assert pattern == api_pattern(field, empty=True)
        for value in values:
            assert re.search(pattern, value) and re.search(pattern, f" {value.upper()}\n"), (name, value)
        assert not re.search(pattern, values[0] + "x") and not re.search(pattern, "\u212a")
    assert params["nodes"] == {"type": "integer", "default": 0, "minimum": 0, "maximum": MAX_NODES}
    assert all(p["allowEmptyValue"] for p in get["parameters"])  # ?service= means any
    for method in ("get", "post"):
        responses = paths["/v1/recipe"][method]["responses"]
        assert {"200", "400", "429", "503"} <= set(responses)
        assert responses["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    body = paths["/v1/recipe"]["post"]["requestBody"]
    assert set(body["content"]) == {"application/json", "application/yaml", "application/x-yaml", "text/yaml"}
    assert body["content"]["application/json"]["schema"]["nullable"] is True  # null is all any
    criteria = spec["components"]["schemas"]["RecipeCriteria"]
    assert criteria["additionalProperties"] is False
    assert criteria["properties"]["spec"]["nullable"] is True
    spec_fields = spec["components"]["schemas"]["CriteriaSpec"]
    assert spec_fields["additionalProperties"] is False
    assert spec_fields["properties"]["nodes"]["type"] == "integer"
    assert spec_fields["properties"]["os"]["nullable"] is True
    assert spec_fields["properties"]["os"]["pattern"] == api_pattern("os", empty=False)
    assert "415" in paths["/v1/recipe"]["post"]["responses"]
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "requestId", "timestamp", "retryable"}


@pytest.mark.slow
def test_generated_python_client_calls_live_server(tmp_path: Path, run_eidosd: RunEidosd) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        [BIN / "openapi-python-client", "generate", "--path", COMMITTED, "--output-path", tmp_path / "eidos_client",
         "--meta", "none"],
        check=True, capture_output=True, env=env, timeout=300,
    )  # fmt: skip
    port = run_eidosd(LOG_LEVEL="error").port
    sys.path.insert(0, str(tmp_path))
    try:
        client_mod = importlib.import_module("eidos_client.client")
        get_recipe = importlib.import_module("eidos_client.api.recipes.get_v1_recipe")
        models = importlib.import_module("eidos_client.models")
        client = client_mod.Client(base_url=f"http://127.0.0.1:{port}")
        result = get_recipe.sync(
            client=client,
            service="eks",
            accelerator="GB200",  # any case, as the document says
            intent="training",
        )
        assert isinstance(result, models.RecipeResult)
        assert "nvidia-dra-driver-gpu" in result.deployment_order
        assert result.criteria.accelerator.value == "gb200"  # the result's criteria are canonical
        names = [ref.name for ref in result.component_refs]
        assert names == sorted(names)
        # GET /v1/query: the same recipe's value at a selector, a bare JSON scalar.
        get_query = importlib.import_module("eidos_client.api.recipes.get_v1_query")
        gpu_operator = next(ref for ref in result.component_refs if ref.name == "gpu-operator")
        answer = get_query.sync_detailed(
            client=client, service="eks", accelerator="gb200", intent="training",
            selector="componentRefs.gpu-operator.version",
        )  # fmt: skip
        assert answer.status_code == 200
        assert json.loads(answer.content) == gpu_operator.version
        missing = get_query.sync_detailed(client=client, selector="componentRefs.gpu-operator.nope")
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.Error)
        assert missing.parsed.details["found"] == "componentRefs.gpu-operator"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("eidos_client")]:
            del sys.modules[name]


@pytest.mark.slow
def test_schemathesis_every_check_finds_nothing(tmp_path: Path, run_eidosd: RunEidosd) -> None:
    """Both directions against a live eidosd: schema-violating requests refused, schema-valid ones
    accepted, responses as documented. A CI-sized run (the 10k+ case run is in the closing note
    of issue 9); ``--generation-deterministic`` keeps it repeatable."""
    port = run_eidosd(LOG_LEVEL="error", RATE_LIMIT="100000", RATE_BURST="100000").port
    run = subprocess.run(
        [BIN / "schemathesis", "--config-file", SCHEMATHESIS_CONFIG, "run", f"http://127.0.0.1:{port}/openapi.json",
         "--checks", "all",
         "--max-examples", "300", "--generation-deterministic",
         "--continue-on-failure", "--no-color", "--workers", "1"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-6000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert generated, run.stdout[-2000:]
    assert int(generated.group(1)) >= 1000 and generated.group(1) == generated.group(2)


def test_rate_limit_headers_are_documented_on_every_limited_response(spec: dict[str, Any]) -> None:
    """One documented meaning: X-RateLimit-Limit is requests per second, X-RateLimit-Reset a
    delay in seconds (not a Unix time); on every response of every rate-limited route."""
    headers = spec["components"]["headers"]
    assert "per second" in headers["X-RateLimit-Limit"]["description"]
    assert "not a Unix time" in headers["X-RateLimit-Reset"]["description"]
    limited = {"/", "/v1/recipe", "/v1/query", "/v1/bundle"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                documented = set(response.get("headers", {}))
                wanted = {
                    "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-Request-Id", "X-API-Version"
                }  # fmt: skip
                if path in limited:
                    assert wanted <= documented, (method, path, status)
                else:
                    assert not documented & wanted, (method, path, status)  # probes, metrics, docs: never limited
