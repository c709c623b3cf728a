"""HTTP handlers. Each one is small: parse, call the library, answer. Errors are raised as
:class:`EidosError` and rendered by the pipeline (pipeline.py)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp_apigami import docs, json_schema, querystring_schema, response_schema
from multidict import MultiMapping, istr
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from eidos_core import __version__
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.criteria import ANY, parse_criteria, parse_field, parse_nodes
from eidosd import SERVICE_NAME
from eidosd.errors import RequestTimeoutError
from eidosd.keys import BODIES, FOLLOWER, LIFECYCLE, METRICS, RECIPES, SETTINGS
from eidosd.pipeline import Cached, Pipeline, fallback
from eidosd.recipes import RecipeService, Rendered
from eidosd.schemas import (
    CriteriaQuerySchema,
    ErrorSchema,
    HealthSchema,
    ReadySchema,
    RecipeCriteriaSchema,
    RecipeResultSchema,
    ServiceInfoSchema,
    document_errors,
)

IF_NONE_MATCH = istr("If-None-Match")
QUERY_PARAMS = ("service", "accelerator", "gpu", "intent", "os", "nodes")
PUBLIC_ROUTES = ("/", "/docs", "/health", "/metrics", "/openapi.json", "/ready", "/v1/bundle", "/v1/recipe")
_ERRORS = {
    400: "Invalid criteria (the message names the field and the allowed values).",
    429: "Rate limit exceeded; see Retry-After.",
    503: "Recipe data not loaded yet.",
}


def _recipe_response(request: web.Request, rendered: Rendered) -> web.Response:
    if request.headers.get(IF_NONE_MATCH) == rendered.etag:
        return web.Response(
            status=304, headers={"ETag": rendered.etag, "Cache-Control": rendered.headers["Cache-Control"]}
        )
    return web.Response(body=rendered.body, headers=rendered.headers)


def _canonical(name: str, value: str) -> object:
    """``value`` of query parameter ``name`` as the criteria will read it (a bad one raises)."""
    if name == "nodes":
        return parse_nodes(value)
    return parse_field("accelerator" if name == "gpu" else name, value, exact=True)


def _refuse_conflicts(query: MultiMapping[str]) -> None:
    """Repeated parameters must agree: 400 naming both values.

    Values are compared as read (``H100`` and ``h100`` agree); empty values, ``any`` and nodes 0
    are the default, so absent. Raised before the recipe is rendered, so a conflicting query
    string never enters the query cache.
    """
    # gpu beside a different accelerator is not refused (yet): the OpenAPI document cannot say
    # so, and schemathesis's positive_data_acceptance would flag it (a group ("accelerator", "gpu")
    # here once tests/schemathesis.toml expects that 400).
    groups = (("service",), ("accelerator",), ("gpu",), ("intent",), ("os",), ("nodes",))
    for group in groups:
        seen: list[tuple[str, str, object]] = []
        for name in group:
            for value in query.getall(name, ()):
                canonical = _canonical(name, value)
                if canonical in (ANY, 0):  # "" and any are the default: absent, not a conflict
                    continue
                for first_name, first_value, first_canonical in seen:
                    if canonical != first_canonical:
                        where = name if name == first_name else f"{first_name} and {name}"
                        raise InvalidRequestError(
                            f"conflicting values for {where}: {first_value!r} and {value!r} (send one value)",
                            details={
                                "parameter": name,
                                "parameters": sorted({first_name, name}),
                                "values": [first_value, value],
                            },
                        )
                seen.append((name, value, canonical))


@docs(tags=["recipes"], summary="Resolve a recipe from query parameters",
      description="Every parameter is optional (default any; an empty value is the same as absent). "
                  "Values are matched exactly as listed. A parameter may be repeated with the same value; "
                  "different values are a 400 naming both (any, like empty, is absent). "
                  "Unknown parameters are a 400.")  # fmt: skip
@querystring_schema(CriteriaQuerySchema())
@response_schema(RecipeResultSchema(), 200, description="The recipe (ETag; 304 on If-None-Match).")
@document_errors(_ERRORS)
async def get_recipe(request: web.Request) -> web.Response:
    """The query string is not in the query cache (``recipe_from_cache`` looked first)."""
    recipes = request.app[RECIPES]
    query_string = request.query_string
    query = request.query
    for name in query:
        if name not in QUERY_PARAMS:
            raise InvalidRequestError(
                f"unknown query parameter {name!r} (allowed: {', '.join(QUERY_PARAMS)})",
                details={"parameter": name, "allowed": list(QUERY_PARAMS)},
            )
    _refuse_conflicts(query)
    # exact: the spellings the OpenAPI enums list, no case folding (schemathesis holds us to it).
    criteria = parse_criteria(
        query.get("service"),
        query.get("accelerator"),
        query.get("intent"),
        query.get("os"),
        query.get("nodes"),
        gpu=query.get("gpu"),
        exact=True,
    )
    return _recipe_response(request, recipes.render(criteria, query_string))


@docs(tags=["recipes"], summary="Resolve a recipe from a recipeCriteria document (JSON or YAML)")
@json_schema(RecipeCriteriaSchema())
@response_schema(RecipeResultSchema(), 200, description="The recipe.")
@response_schema(ErrorSchema(), 408, description="The body did not arrive within READ_TIMEOUT.")
@response_schema(ErrorSchema(), 413, description="The body is larger than the limit.")
@response_schema(ErrorSchema(), 415, description="The Content-Encoding is not gzip, deflate or identity.")
@document_errors(_ERRORS)
async def post_recipe(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    try:
        async with asyncio.timeout(settings.read_timeout):
            body = await request.read()
    except TimeoutError:
        raise RequestTimeoutError(f"request body not received within {settings.read_timeout:g}s") from None
    if not body.strip():
        raise InvalidRequestError(
            "request body is empty (send a recipeCriteria document; {} is all any)", details={"field": "body"}
        )
    # Decoded and parsed in a worker thread: a large body must not stall the loop (bodies.py).
    criteria = await request.app[BODIES].criteria(body, request.headers.get("Content-Encoding", ""))
    return _recipe_response(request, request.app[RECIPES].render(criteria))


@docs(tags=["service"], summary="Service name, version and routes")
@response_schema(ServiceInfoSchema(), 200)
async def root(request: web.Request) -> web.Response:
    return web.json_response({"service": SERVICE_NAME, "version": __version__, "routes": list(PUBLIC_ROUTES)})


@docs(tags=["probes"], summary="Liveness: 200 while the process serves HTTP")
@response_schema(HealthSchema(), 200)
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@docs(tags=["probes"], summary="Readiness: 200 once recipe data is loaded, 503 before that and while draining")
@response_schema(ReadySchema(), 200)
@response_schema(ReadySchema(), 503)
async def ready(request: web.Request) -> web.Response:
    store = request.app[RECIPES].store
    if request.app[LIFECYCLE].draining:
        return web.json_response({"status": "not ready", "reason": "shutting down"}, status=503)
    if store is None:
        return web.json_response({"status": "not ready", "reason": "recipe data not loaded"}, status=503)
    follower = request.app[FOLLOWER]
    if not follower.running:  # serving, but no longer following changes: take the replica out
        return web.json_response({"status": "not ready", "reason": follower.reason}, status=503)
    return web.json_response({"status": "ready", "recipeVersion": store.version, "recipeSource": store.source})


_METRICS_RESPONSE = {200: {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}


@docs(tags=["service"], summary="Prometheus metrics (text exposition format)", responses=_METRICS_RESPONSE)
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def recipe_from_cache(recipes: RecipeService) -> Cached:
    """GET /v1/recipe for a query string answered before: the pipeline calls it before
    ``get_recipe`` (no coroutine for a cache hit, the hot path)."""
    cached_query = recipes.cached_query

    def from_cache(request: web.Request) -> web.Response | None:
        rendered = cached_query(request.query_string)
        return None if rendered is None else _recipe_response(request, rendered)

    return from_cache


def add_routes(app: web.Application, pipeline: Pipeline) -> None:
    """Application routes go through the pipeline; probes and metrics only through its thin
    wrapper (never limited, never counted)."""
    router = app.router
    router.add_get("/", pipeline.wrap(root, "/", "GET"), allow_head=False)
    router.add_get("/health", pipeline.exempt(health), allow_head=False)
    router.add_get("/ready", pipeline.exempt(ready), allow_head=False)
    router.add_get("/metrics", pipeline.exempt(metrics), allow_head=False)
    router.add_get(
        "/v1/recipe",
        pipeline.wrap(get_recipe, "/v1/recipe", "GET", cached=recipe_from_cache(app[RECIPES])),
        allow_head=False,
    )
    router.add_post("/v1/recipe", pipeline.wrap(post_recipe, "/v1/recipe", "POST"))


def add_fallback(app: web.Application, pipeline: Pipeline) -> None:
    """Last route of all: unknown paths and wrong methods, as JSON envelopes."""
    app.router.add_route("*", "/{tail:.*}", pipeline.wrap(fallback, None))
