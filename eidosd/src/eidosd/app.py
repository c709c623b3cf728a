"""The aiohttp application factory and the recipe-data lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from eidos_core import __version__
from eidos_core.errors import EidosError
from eidos_core.sources.base import RecipeSource
from eidos_core.sources.directory import DirectorySource
from eidos_core.sources.embedded import EmbeddedSource
from eidosd.deadline import Deadlines
from eidosd.keys import DEADLINES, IN_FLIGHT, LIFECYCLE, METRICS, PIPELINE, RECIPES, SETTINGS, SOURCE, Lifecycle
from eidosd.metrics import Metrics
from eidosd.openapi import setup_openapi
from eidosd.pipeline import InFlight, Pipeline
from eidosd.ratelimit import RateLimiter
from eidosd.recipes import RecipeService
from eidosd.routes import add_fallback, add_routes
from eidosd.settings import Settings

log = logging.getLogger("eidosd")

RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 10.0


def make_source(settings: Settings) -> RecipeSource:
    if settings.recipe_data_path:
        return DirectorySource(settings.recipe_data_path)
    if settings.recipe_configmap:
        from eidos_core.sources.configmap import ConfigMapSource

        namespace, name = settings.recipe_configmap.split("/", 1)
        return ConfigMapSource(namespace, name)
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


async def deadline_watchdog(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the task that cuts off handlers running past WRITE_TIMEOUT."""
    task = asyncio.create_task(app[DEADLINES].watch(), name="deadlines")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings, source: RecipeSource | None = None) -> web.Application:
    metrics = Metrics()
    limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
    in_flight = InFlight()
    deadlines = Deadlines(settings.write_timeout)
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[SOURCE] = source or make_source(settings)
    app[METRICS] = metrics
    app[RECIPES] = RecipeService(__version__, settings.allowlists, metrics)
    app[LIFECYCLE] = Lifecycle()
    app[IN_FLIGHT] = in_flight
    app[DEADLINES] = deadlines
    pipeline = app[PIPELINE] = Pipeline(metrics, limiter, in_flight, deadlines)
    add_routes(app, pipeline)
    setup_openapi(app)
    add_fallback(app, pipeline)
    app.cleanup_ctx.append(recipe_data)
    app.cleanup_ctx.append(deadline_watchdog)
    return app
