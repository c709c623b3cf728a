"""HTTP handlers. Each one is small: parse, call the library, answer. Errors are raised as
:class:`EidosError` and rendered by the pipeline (pipeline.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

from aiohttp import web
from aiohttp_apigami import docs, json_schema, querystring_schema, response_schema
from multidict import MultiMapping, istr
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from eidos_core import __version__
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.criteria import ANY, Criteria, parse_criteria, parse_field, parse_nodes
from eidosd import SERVICE_NAME
from eidosd.bodies import read_body
from eidosd.errors import JSON, timestamp
from eidosd.keys import BODIES, FOLLOWER, LIFECYCLE, METRICS, RECIPES, SETTINGS
from eidosd.pipeline import Cached, Handler, Pipeline, fallback
from eidosd.recipes import Rendered
from eidosd.schemas import (
    QUERY_ANSWER,
    CriteriaQuerySchema,
    ErrorSchema,
    HealthSchema,
    QueryQuerySchema,
    ReadySchema,
    RecipeCriteriaSchema,
    RecipeResultSchema,
    SelectorQuerySchema,
    ServiceInfoSchema,
    document_errors,
)

IF_NONE_MATCH = istr("If-None-Match")
CONTENT_TYPE = istr("Content-Type")
QUERY_PARAMS = ("service", "accelerator", "gpu", "intent", "os", "nodes")
SELECTOR = "selector"
PUBLIC_ROUTES = (
    "/", "/docs", "/health", "/metrics", "/openapi.json", "/ready", "/v1/bundle", "/v1/query", "/v1/recipe",
)  # fmt: skip
_ERRORS = {
    400: "Invalid criteria (the message names the field and the allowed values).",
    429: "Rate limit exceeded; see Retry-After.",
    503: "Recipe data not loaded yet.",
}
_QUERY_ERRORS = {
    **_ERRORS,
    400: "Invalid criteria or a malformed selector (the message names the field and what is allowed).",
    404: "Nothing at the selector: details.found is the longest path that exists, details.missing the next "
    "segment, details.available the keys there.",
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
    # gpu is accelerator's alias: one group. The OpenAPI document cannot say that a gpu beside a
    # different accelerator is refused, so tests/schemathesis.toml expects this 400 for schema-valid
    # input of /v1/recipe and /v1/query.
    groups = (("service",), ("accelerator", "gpu"), ("intent",), ("os",), ("nodes",))
    for group in groups:
        seen: list[tuple[str, str, object]] = []
        for name, value in query.items():  # in the order sent: the first value is named first
            if name in group:
                canonical = _canonical(name, value)
                if canonical in (ANY, 0):  # "" and any are the default: absent, not a conflict
                    continue
                for first_name, first_value, first_canonical in seen:
                    if canonical != first_canonical:
                        where = name if name == first_name else f"{first_name} and {name}"
                        # parameters and values pair up, in the order sent (one name when repeated)
                        names = [name] if name == first_name else [first_name, name]
                        raise InvalidRequestError(
                            f"conflicting values for {where}: {first_value!r} and {value!r} (send one value)",
                            details={"parameter": name, "parameters": names, "values": [first_value, value]},
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
    """The query string is not in the query cache (``from_cache`` looked first)."""
    criteria = _query_criteria(request.query, QUERY_PARAMS)
    return _recipe_response(request, request.app[RECIPES].render(criteria, request.query_string))


def _refuse_unknown(query: MultiMapping[str], allowed: tuple[str, ...]) -> None:
    for name in query:
        if name not in allowed:
            raise InvalidRequestError(
                f"unknown query parameter {name!r} (allowed: {', '.join(allowed)})",
                details={"parameter": name, "allowed": list(allowed)},
            )


def _query_criteria(query: MultiMapping[str], allowed: tuple[str, ...]) -> Criteria:
    """The criteria of a GET query string (unknown parameters and conflicting repeats refused)."""
    _refuse_unknown(query, allowed)
    _refuse_conflicts(query)
    # exact: the spellings the OpenAPI enums list, no case folding (schemathesis holds us to it).
    return parse_criteria(
        query.get("service"),
        query.get("accelerator"),
        query.get("intent"),
        query.get("os"),
        query.get("nodes"),
        gpu=query.get("gpu"),
        exact=True,
    )


def _selector(query: MultiMapping[str]) -> str:
    """The one ``selector`` parameter (required; repeats must agree, like the criteria's)."""
    values = query.getall(SELECTOR, ())
    if not values:
        raise InvalidRequestError(
            "query parameter 'selector' is required (a dot path such as componentRefs.gpu-operator.version)",
            details={"field": SELECTOR},
        )
    for value in values[1:]:
        if value != values[0]:
            raise InvalidRequestError(
                f"conflicting values for selector: {values[0]!r} and {value!r} (send one value)",
                details={"parameter": SELECTOR, "parameters": [SELECTOR], "values": [values[0], value]},
            )
    return values[0]


async def _body_criteria(request: web.Request) -> Criteria:
    """The criteria of a POST body (recipeCriteria, JSON or YAML; empty refused)."""
    body = await read_body(request, request.app[SETTINGS].read_timeout)
    if not body.strip():
        raise InvalidRequestError(
            "request body is empty (send a recipeCriteria document; {} is all any)", details={"field": "body"}
        )
    # Decoded and parsed in a worker thread: a large body must not stall the loop (bodies.py).
    headers = request.headers
    return await request.app[BODIES].criteria(body, headers.get("Content-Encoding", ""), headers.get(CONTENT_TYPE, ""))


@docs(tags=["recipes"], summary="Resolve a recipe from a recipeCriteria document (JSON or YAML)")
@json_schema(RecipeCriteriaSchema())
@response_schema(RecipeResultSchema(), 200, description="The recipe.")
@response_schema(ErrorSchema(), 408, description="The body did not arrive within READ_TIMEOUT.")
@response_schema(ErrorSchema(), 413, description="The body is larger than the limit.")
@response_schema(ErrorSchema(), 415, description="The Content-Encoding is not gzip, deflate or identity.")
@document_errors(_ERRORS)
async def post_recipe(request: web.Request) -> web.Response:
    criteria = await _body_criteria(request)
    return _recipe_response(request, request.app[RECIPES].render(criteria))


_SELECTOR_TEXT = (
    "The selector is a dot path into the recipe: componentRefs.<component>.<field> (values: the "
    "component's Helm values as a bundle of the recipe writes them before --set and node scheduling: "
    "its values file(s), the recipe's overrides, and the registry's references to other components "
    "set from the namespace plan), constraints.<constraint name> (its value expression), "
    "deploymentOrder, criteria.service, ...; a list item by its index from 0, without leading zeros "
    "(00 is a 404); a key with dots in it (a constraint name) by its segments; a YAML int or bool "
    "key by its text (80, true). The answer is the JSON value there, a scalar too."
)


@docs(tags=["recipes"], summary="One value of the recipe resolved from query parameters",
      description="The criteria parameters are those of GET /v1/recipe (same rules), plus the required "
                  "selector. " + _SELECTOR_TEXT + " ETag and 304 as GET /v1/recipe.",
      responses=QUERY_ANSWER)  # fmt: skip
@querystring_schema(QueryQuerySchema())
@document_errors(_QUERY_ERRORS)
async def get_query(request: web.Request) -> web.Response:
    """The query string is not in the answer cache (``from_cache`` looked first)."""
    query = request.query
    criteria = _query_criteria(query, (*QUERY_PARAMS, SELECTOR))
    rendered = request.app[RECIPES].query(criteria, _selector(query), request.query_string)
    return _recipe_response(request, rendered)


@docs(tags=["recipes"], summary="One value of the recipe resolved from a recipeCriteria document",
      description="The body is the recipeCriteria document of POST /v1/recipe (JSON or YAML); the selector "
                  "is the query parameter selector (the only one). " + _SELECTOR_TEXT,
      responses=QUERY_ANSWER)  # fmt: skip
@querystring_schema(SelectorQuerySchema())
@json_schema(RecipeCriteriaSchema())
@response_schema(ErrorSchema(), 408, description="The body did not arrive within READ_TIMEOUT.")
@response_schema(ErrorSchema(), 413, description="The body is larger than the limit.")
@response_schema(ErrorSchema(), 415, description="The Content-Encoding is not gzip, deflate or identity.")
@document_errors(_QUERY_ERRORS)
async def post_query(request: web.Request) -> web.Response:
    query = request.query
    _refuse_unknown(query, (SELECTOR,))
    selector = _selector(query)
    criteria = await _body_criteria(request)
    return _recipe_response(request, request.app[RECIPES].query(criteria, selector))


def json_response(data: object, status: int = 200) -> web.Response:
    """A small JSON answer with the ``Content-Type`` every JSON response of eidosd has
    (``application/json``, no charset: JSON is UTF-8 by definition, RFC 8259)."""
    return web.Response(status=status, body=json.dumps(data).encode(), content_type=JSON)


@docs(tags=["service"], summary="Service name, version and routes")
@response_schema(ServiceInfoSchema(), 200)
async def root(request: web.Request) -> web.Response:
    return json_response({"service": SERVICE_NAME, "version": __version__, "routes": list(PUBLIC_ROUTES)})


@docs(tags=["probes"], summary="Liveness: 200 while the process serves HTTP")
@response_schema(HealthSchema(), 200)
async def health(request: web.Request) -> web.Response:
    return json_response({"status": "healthy", "timestamp": timestamp()})


@docs(tags=["probes"], summary="Readiness: 200 once recipe data is loaded, 503 before that and while draining")
@response_schema(ReadySchema(), 200)
@response_schema(ReadySchema(), 503)
async def ready(request: web.Request) -> web.Response:
    store = request.app[RECIPES].store
    if request.app[LIFECYCLE].draining:
        return not_ready("shutting down")
    if store is None:
        return not_ready("recipe data not loaded")
    follower = request.app[FOLLOWER]
    if not follower.running:  # serving, but no longer following changes: take the replica out
        return not_ready(follower.reason)
    return json_response(
        {"status": "ready", "timestamp": timestamp(), "recipeVersion": store.version, "recipeSource": store.source}
    )


def not_ready(reason: str) -> web.Response:
    """/ready's 503, in the reference's words ("not_ready") with why."""
    return json_response({"status": "not_ready", "timestamp": timestamp(), "reason": reason}, status=503)


_METRICS_RESPONSE = {200: {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}


@docs(tags=["service"], summary="Prometheus metrics (text exposition format)", responses=_METRICS_RESPONSE)
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def plain_method_not_allowed(request: web.Request) -> web.Response:
    raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"], text="Method not allowed\n")


def from_cache(lookup: Callable[[str], Rendered | None]) -> Cached:
    """GET /v1/recipe or /v1/query for a query string answered before (``lookup`` is the route's
    cache): the pipeline calls it before the handler, so a cache hit, the hot path, costs no
    coroutine."""

    def answer(request: web.Request) -> web.Response | None:
        rendered = lookup(request.query_string)
        return None if rendered is None else _recipe_response(request, rendered)

    return answer


def head_of(handler: Handler) -> Handler:
    """``handler`` for HEAD: the same call (aiohttp sends the GET response's status and headers,
    Content-Length included, without the body), without the OpenAPI attributes, so the document
    lists GET alone and the HEAD route gets a wrapper, and metrics labels, of its own."""
    return partial(handler)


def add_get(router: web.UrlDispatcher, path: str, handler: Handler, wrap: Callable[[Handler, str], Handler]) -> None:
    """GET ``path`` and HEAD beside it, each wrapped by ``wrap(handler, method)``."""
    router.add_get(path, wrap(handler, "GET"), allow_head=False)
    router.add_route("HEAD", path, wrap(head_of(handler), "HEAD"))


def add_routes(app: web.Application, pipeline: Pipeline) -> None:
    """Application routes go through the pipeline; probes and metrics only through its thin
    wrapper (never limited, never counted). Every GET route answers HEAD too (a route of its
    own: counted with method HEAD, limited or exempt as the GET)."""
    router = app.router
    recipes = app[RECIPES]

    def exempt(handler: Handler, method: str) -> Handler:
        return pipeline.exempt(handler)

    add_get(router, "/", root, lambda h, method: pipeline.wrap(h, "/", method))
    add_get(router, "/health", health, exempt)
    add_get(router, "/ready", ready, exempt)
    add_get(router, "/metrics", metrics, exempt)
    # Other methods: a plain-text 405 as the reference's probes answer, never limited or counted
    # (the catch-all would do both). The reference's /metrics answers any method; ours keeps to
    # what the OpenAPI document lists.
    for path in ("/health", "/ready", "/metrics"):
        router.add_route("*", path, pipeline.exempt(plain_method_not_allowed))
    recipe_hit = from_cache(recipes.cached_query)
    add_get(router, "/v1/recipe", get_recipe, lambda h, m: pipeline.wrap(h, "/v1/recipe", m, cached=recipe_hit))
    router.add_post("/v1/recipe", pipeline.wrap(post_recipe, "/v1/recipe", "POST"))
    answer_hit = from_cache(recipes.cached_answer)
    add_get(router, "/v1/query", get_query, lambda h, m: pipeline.wrap(h, "/v1/query", m, cached=answer_hit))
    router.add_post("/v1/query", pipeline.wrap(post_query, "/v1/query", "POST"))


def add_fallback(app: web.Application, pipeline: Pipeline) -> None:
    """Last route of all: unknown paths and wrong methods, as JSON envelopes."""
    app.router.add_route("*", "/{tail:.*}", pipeline.wrap(fallback, None))
