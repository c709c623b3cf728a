"""The aiohttp application factory and the recipe-data lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from eidos_core import __version__
from eidos_core.errors import EidosError, UnavailableError
from eidos_core.sources.base import RecipeSource
from eidos_core.sources.directory import DirectorySource
from eidos_core.sources.embedded import EmbeddedSource
from eidosd.keys import IN_FLIGHT, LIFECYCLE, METRICS, RECIPES, SETTINGS, SOURCE, Lifecycle
from eidosd.metrics import Metrics
from eidosd.middleware import InFlight, make_middleware
from eidosd.openapi import setup_openapi
from eidosd.ratelimit import RateLimiter
from eidosd.recipes import RecipeService
from eidosd.routes import add_routes
from eidosd.settings import Settings

log = logging.getLogger("eidosd")

RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 10.0


def make_source(settings: Settings) -> RecipeSource:
    if settings.recipe_data_path:
        return DirectorySource(settings.recipe_data_path)
    if settings.recipe_configmap:
        raise UnavailableError("RECIPE_CONFIGMAP is not supported by this version of eidosd yet")
    return EmbeddedSource()


async def _load_first(app: web.Application) -> None:
    """Load the first store, retrying with capped backoff; /ready stays 503 until it works."""
    delay = RETRY_FIRST_SECONDS
    while True:
        try:
            store = await app[SOURCE].load()
        except EidosError as exc:
            app[METRICS].reload_errors.inc()
            log.error("recipe data could not be loaded; retrying in %.1fs: %s", delay, exc.message)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
            continue
        app[RECIPES].swap(store)
        app[METRICS].reloads.inc()
        log.info("recipe data loaded", extra={"recipe_version": store.version, "source": store.source})
        return


async def _follow(app: web.Application) -> None:
    await _load_first(app)
    async for event in app[SOURCE].updates():
        if isinstance(event, EidosError):
            app[METRICS].reload_errors.inc()
            current = app[RECIPES].store
            log.error(
                "recipe data update rejected; still serving version %s: %s",
                current.version if current else "none",
                event.message,
                extra={"details": event.details},
            )
            continue
        app[RECIPES].swap(event)
        app[METRICS].reloads.inc()
        log.info("recipe data reloaded", extra={"recipe_version": event.version, "source": event.source})


async def recipe_data(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: load and follow recipe data in the background while the app runs."""
    task = asyncio.create_task(_follow(app), name="recipe-data")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings, source: RecipeSource | None = None) -> web.Application:
    metrics = Metrics()
    limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
    in_flight = InFlight()
    app = web.Application(
        middlewares=[make_middleware(metrics, limiter, in_flight, settings.write_timeout)],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[SOURCE] = source or make_source(settings)
    app[METRICS] = metrics
    app[RECIPES] = RecipeService(__version__, settings.allowlists, metrics)
    app[LIFECYCLE] = Lifecycle()
    app[IN_FLIGHT] = in_flight
    add_routes(app)
    setup_openapi(app)
    app.cleanup_ctx.append(recipe_data)
    return app
