"""The OpenAPI 3.0.3 document (aiohttp-apigami from the handlers' decorators) and Swagger UI.

apigami leaves a few Swagger-2 keys in 3.x output; :func:`clean` removes them so the served
document validates. ``python -m eidosd.openapi`` prints it (that is how api/openapi.yaml is made).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from aiohttp import web
from aiohttp.web_exceptions import NotAppKeyWarning
from aiohttp_apigami import setup_aiohttp_apispec
from aiohttp_apigami.constants import SWAGGER_DICT

from eidos_core import __version__, yaml

_SWAGGER2_KEYS = {"produces", "consumes", "swagger", "basePath", "definitions"}
NULLABLE_REF = "x-eidos-nullable"  # field metadata: this nested object may also be null
# What POST /v1/recipe parses as YAML (api-server.md §8.3); JSON is YAML, so one schema serves.
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


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


def contract(spec: dict[str, Any]) -> dict[str, Any]:
    """What the decorators cannot say about /v1/recipe, added so the document matches the server.

    * Every query parameter may be sent empty (``?service=`` means any): ``allowEmptyValue``.
    * The POST body may be JSON or YAML; it is optional (empty, like ``{}`` or ``null``, is all any).
    """
    recipe = spec.get("paths", {}).get("/v1/recipe", {})
    for param in recipe.get("get", {}).get("parameters", []):
        if param.get("in") == "query":
            param["allowEmptyValue"] = True
    body = recipe.get("post", {}).get("requestBody")
    if body is not None:
        body["required"] = False
        content = body["content"]
        schema = content["application/json"]["schema"]
        if "$ref" in schema:  # a null document is valid too (all any)
            content["application/json"]["schema"] = {"allOf": [schema], "nullable": True}
        for media in YAML_TYPES:
            content.setdefault(media, content["application/json"])
    return spec


def setup_openapi(app: web.Application) -> None:
    """Call after every route is added: the document is built from the router at once."""
    # apigami keys the app with a plain string; the warning is about its code, not ours.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotAppKeyWarning)
        _setup(app)


def _setup(app: web.Application) -> None:
    setup_aiohttp_apispec(
        app,
        title="Eidos API",
        version=__version__,
        url="/openapi.json",
        swagger_path="/docs",
        static_path="/docs/static",
        openapi_version="3.0.3",
        in_place=True,
        info={"description": "Validated GPU cluster recipes: components, versions, values and constraints."},
    )
    app[SWAGGER_DICT] = contract(clean(app[SWAGGER_DICT]))


def document() -> dict[str, Any]:
    from eidosd.app import create_app
    from eidosd.settings import Settings

    app = create_app(Settings())
    spec: dict[str, Any] = app[SWAGGER_DICT]
    return spec


if __name__ == "__main__":
    sys.stdout.write(yaml.dump(document()))
