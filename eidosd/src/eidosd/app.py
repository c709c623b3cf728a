"""The aiohttp application factory and the recipe-data lifecycle (load, then follow updates)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from eidos_core import __version__
from eidos_core.errors import EidosError, InvalidRequestError
from eidos_core.recipe.criteria import parse_criteria
from eidos_core.sources.base import RecipeSource
from eidos_core.sources.directory import DirectorySource
from eidos_core.sources.embedded import EmbeddedSource
from eidosd import SERVICE_NAME
from eidosd.recipes import RecipeService
from eidosd.settings import Settings

log = logging.getLogger("eidosd")

SETTINGS = web.AppKey("settings", Settings)
SOURCE = web.AppKey("source", RecipeSource)
RECIPES = web.AppKey("recipes", RecipeService)

QUERY_PARAMS = ("service", "accelerator", "gpu", "intent", "os", "nodes")


def error_response(exc: EidosError) -> web.Response:
    body = {"code": exc.code, "message": exc.message, "retryable": exc.retryable}
    if exc.details:
        body["details"] = exc.details
    return web.json_response(body, status=exc.http_status)


async def get_recipe(request: web.Request) -> web.Response:
    query = request.query
    unknown = sorted(set(query) - set(QUERY_PARAMS))
    try:
        if unknown:
            raise InvalidRequestError(
                f"unknown query parameter {unknown[0]!r} (allowed: {', '.join(QUERY_PARAMS)})",
                details={"parameter": unknown[0], "allowed": list(QUERY_PARAMS)},
            )
        criteria = parse_criteria(
            query.get("service"),
            query.get("accelerator") or query.get("gpu"),
            query.get("intent"),
            query.get("os"),
            query.get("nodes"),
        )
        rendered, _ = request.app[RECIPES].render(criteria)
    except EidosError as exc:
        return error_response(exc)
    return web.Response(body=rendered.body, content_type="application/json", headers={"ETag": rendered.etag})


async def root(request: web.Request) -> web.Response:
    return web.json_response({"service": SERVICE_NAME, "version": __version__, "routes": ["/v1/recipe"]})


def make_source(settings: Settings) -> RecipeSource:
    if settings.recipe_data_path:
        return DirectorySource(settings.recipe_data_path)
    return EmbeddedSource()


async def _follow_updates(app: web.Application) -> None:
    recipes, source = app[RECIPES], app[SOURCE]
    async for event in source.updates():
        if isinstance(event, EidosError):
            log.error("recipe data update rejected; keeping the last good data: %s", event.message)
            continue
        recipes.swap(event)
        log.info("recipe data reloaded", extra={"version": event.version, "source": event.source})


async def recipe_data(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: load the data before serving, follow changes while serving."""
    store = await app[SOURCE].load()
    app[RECIPES].swap(store)
    log.info("recipe data loaded", extra={"version": store.version, "source": store.source})
    task = asyncio.create_task(_follow_updates(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings, source: RecipeSource | None = None) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app[SOURCE] = source or make_source(settings)
    app[RECIPES] = RecipeService(__version__, settings.allowlists)
    app.router.add_get("/", root)
    app.router.add_get("/v1/recipe", get_recipe)
    app.cleanup_ctx.append(recipe_data)
    return app
