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


def clean(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: clean(v) for k, v in node.items() if k not in _SWAGGER2_KEYS}
    if isinstance(node, list):
        return [clean(v) for v in node]
    return node


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
    app[SWAGGER_DICT] = clean(app[SWAGGER_DICT])


def document() -> dict[str, Any]:
    from eidosd.app import create_app
    from eidosd.settings import Settings

    app = create_app(Settings())
    spec: dict[str, Any] = app[SWAGGER_DICT]
    return spec


if __name__ == "__main__":
    sys.stdout.write(yaml.dump(document()))
