"""The OpenAPI 3.0.3 document (aiohttp-apigami from the handlers' decorators) and Swagger UI.

apigami leaves a few Swagger-2 keys in 3.x output; :func:`clean` removes them so the served
document validates. ``python -m eidosd.openapi`` prints it (that is how api/openapi.yaml is made).

apigami builds the document; the routes that serve it (``/openapi.json``, ``/docs`` and the
Swagger UI files apigami ships under ``/docs/static``) are ours, so that they are wrapped
like every other route (the READ_TIMEOUT bookkeeping and the drain, connection.py). They
answer what apigami's own routes did: the document, its index page, its static files.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Awaitable, Callable
from string import Template
from typing import Any

from aiohttp import web
from aiohttp.web_exceptions import NotAppKeyWarning
from aiohttp_apigami import setup_aiohttp_apispec
from aiohttp_apigami.constants import SWAGGER_DICT
from aiohttp_apigami.swagger_ui import INDEX_PAGE, SWAGGER_UI_STATIC_FILES, LayoutOption

from eidos_core import __version__, yaml

_SWAGGER2_KEYS = {"produces", "consumes", "swagger", "basePath", "definitions"}
NULLABLE_REF = "x-eidos-nullable"  # field metadata: this nested object may also be null
# What POST /v1/recipe parses as YAML (api-server.md §8.3); JSON is YAML, so one schema serves.
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
SPEC_PATH = "/openapi.json"
DOCS_PATH = "/docs"
STATIC_PATH = "/docs/static"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def clean(node: Any) -> Any:
    if isinstance(node, dict):
        if node.pop(NULLABLE_REF, False):
            # OpenAPI 3.0 ignores keys beside $ref, and apispec's own nullable form (anyOf with
            # a bare object) would admit any object: the $ref goes into allOf, nullable beside it.
            if "$ref" in node:
                node = {"allOf": [{"$ref": node.pop("$ref")}], **node}
            node["nullable"] = True
        return {k: clean(v) for k, v in node.items() if k not in _SWAGGER2_KEYS}
    if isinstance(node, list):
        return [clean(v) for v in node]
    return node


RATE_LIMITED_PATHS = ("/", "/v1/recipe", "/v1/query", "/v1/bundle")
RESPONSE_HEADERS: dict[str, Any] = {
    "X-RateLimit-Limit": {
        "description": "The rate limit of this replica in requests per second (RATE_LIMIT), e.g. 100 or 0.5.",
        "required": True,
        "schema": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
    },
    "X-RateLimit-Remaining": {
        "description": "Whole requests left in the bucket after this one (0 on a 429).",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-RateLimit-Reset": {
        "description": "Seconds (rounded up) until the bucket is full again (RATE_BURST requests) at"
        " RATE_LIMIT per second: a delay, not a Unix time.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-Request-Id": {
        "description": "The request's id: the client's X-Request-Id when valid ([A-Za-z0-9._:-]{1,128}),"
        " else one eidosd made; also in the log lines and error bodies.",
        "required": True,
        "schema": {"type": "string"},
    },
    "X-API-Version": {
        "description": "The version of the API that answered: always v1.",
        "required": True,
        "schema": {"type": "string", "enum": ["v1"]},
    },
}


def contract(spec: dict[str, Any]) -> dict[str, Any]:
    """What the decorators cannot say about /v1/recipe and /v1/query, added so the document
    matches the server.

    * Every criteria query parameter may be sent empty (``?service=`` means any):
      ``allowEmptyValue``. Not ``selector``: an empty one is a 400.
    * The POST body may be JSON or YAML; it is required (an empty body is a 400; ``{}`` or
      ``null`` is all any).

    * Every response of a rate-limited route (the pipeline's: not the probes, ``/metrics`` or
      the docs) carries ``X-RateLimit-*``, ``X-Request-Id`` and ``X-API-Version``: what each means is stated once,
      under ``components.headers``.

    HEAD, which every GET route answers, is not listed: the same operation without the body.
    """
    spec.setdefault("components", {}).setdefault("headers", {}).update(RESPONSE_HEADERS)
    refs = {name: {"$ref": f"#/components/headers/{name}"} for name in RESPONSE_HEADERS}
    for path in RATE_LIMITED_PATHS:
        for operation in spec.get("paths", {}).get(path, {}).values():
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {}).update(refs)
    for path in ("/v1/recipe", "/v1/query"):
        operations = spec.get("paths", {}).get(path, {})
        for param in operations.get("get", {}).get("parameters", []):
            if param.get("in") == "query" and param.get("name") != "selector":
                param["allowEmptyValue"] = True
        body = operations.get("post", {}).get("requestBody")
        if body is not None:
            body["required"] = True
            content = body["content"]
            schema = content["application/json"]["schema"]
            if "$ref" in schema:  # a null document is valid too (all any)
                content["application/json"]["schema"] = {"allOf": [schema], "nullable": True}
            for media in YAML_TYPES:
                content.setdefault(media, content["application/json"])
    return spec


def setup_openapi(app: web.Application, wrap: Callable[[Handler], Handler]) -> None:
    """Call after every documented route is added: the document is built from the router at
    once. Adds the routes serving it and Swagger UI, each handler passed through ``wrap``."""
    # apigami keys the app with a plain string; the warning is about its code, not ours.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotAppKeyWarning)
        setup_aiohttp_apispec(
            app,
            title="Eidos API",
            version=__version__,
            url="",  # no routes of apigami's own: ours below
            openapi_version="3.0.3",
            in_place=True,
            info={
                "description": "Validated GPU cluster recipes: components, versions, values and constraints. "
                "Every GET operation answers HEAD too: the same status and headers, without the body."
            },
        )
        spec = app[SWAGGER_DICT] = contract(clean(app[SWAGGER_DICT]))
    spec_body = json.dumps(spec).encode()
    with open(SWAGGER_UI_STATIC_FILES / INDEX_PAGE, encoding="utf-8") as fh:
        index = Template(fh.read()).substitute(path=SPEC_PATH, static=STATIC_PATH, layout=LayoutOption.Standalone.value)
    # Only the files apigami ships, by name: nothing else under the folder can be asked for.
    files = {path.name: path for path in SWAGGER_UI_STATIC_FILES.iterdir() if path.is_file()}

    async def openapi_json(request: web.Request) -> web.Response:
        return web.Response(body=spec_body, content_type="application/json")

    async def swagger_ui(request: web.Request) -> web.Response:
        return web.Response(text=index, content_type="text/html")

    async def static(request: web.Request) -> web.FileResponse:
        path = files.get(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    app.router.add_get(SPEC_PATH, wrap(openapi_json))
    app.router.add_get(DOCS_PATH, wrap(swagger_ui))
    app.router.add_get(STATIC_PATH + "/{name}", wrap(static))


def document() -> dict[str, Any]:
    from eidosd.app import create_app
    from eidosd.settings import Settings

    app = create_app(Settings())
    spec: dict[str, Any] = app[SWAGGER_DICT]
    return spec


if __name__ == "__main__":
    sys.stdout.write(yaml.dump(document()))
