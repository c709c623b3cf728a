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
from eidosd.bodies import BodyParser
from eidosd.bundles import add_bundle_routes
from eidosd.inflight import InFlight
from eidosd.keys import (
    BODIES,
    FOLLOWER,
    IN_FLIGHT,
    LIFECYCLE,
    METRICS,
    PIPELINE,
    RECIPES,
    SETTINGS,
    SOURCE,
    Lifecycle,
)
from eidosd.metrics import Metrics
from eidosd.openapi import setup_openapi
from eidosd.pipeline import Pipeline
from eidosd.ratelimit import RateLimiter
from eidosd.recipes import RecipeService
from eidosd.routes import add_fallback, add_routes
from eidosd.settings import Settings
from eidosd.supervise import TaskHealth, supervise

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


def _reload_failed(app: web.Application, exc: BaseException, what: str) -> None:
    """Count and log a data set that could not be loaded; the last good one stays."""
    app[METRICS].reload_errors.inc()
    current = app[RECIPES].store
    serving = f"still serving version {current.version}" if current else "no data loaded yet"
    if isinstance(exc, EidosError):
        log.error("%s; %s: %s", what, serving, exc.message, extra={"details": exc.details})
        # A source wraps what it did not expect (a bug or an input no check caught): keep the trace.
        cause = exc.__cause__
        if cause is not None and not isinstance(cause, EidosError | OSError):
            log.error("%s: unexpected %s", what, type(cause).__name__, exc_info=cause)
    else:
        log.error("%s; %s: unexpected %s: %s", what, serving, type(exc).__name__, exc, exc_info=exc)


async def _load_first(app: web.Application) -> None:
    """Load the first store, retrying with capped backoff; /ready stays 503 until it works."""
    delay = RETRY_FIRST_SECONDS
    while True:
        try:
            store = await app[SOURCE].load()
        except Exception as exc:  # any failure to load is a reload error, never the end of the task
            _reload_failed(app, exc, f"recipe data could not be loaded (retrying in {delay:.1f}s)")
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
            continue
        app[RECIPES].swap(store)
        app[METRICS].reloads.inc()
        log.info("recipe data loaded", extra={"recipe_version": store.version, "source": store.source})
        return


async def _follow(app: web.Application) -> None:
    """Load (unless a store is already served: a restart after a crash) and follow updates."""
    if app[RECIPES].store is None:
        await _load_first(app)
    async for event in app[SOURCE].updates():
        if isinstance(event, BaseException):
            _reload_failed(app, event, "recipe data update rejected")
            continue
        try:
            app[RECIPES].swap(event)
        except Exception as exc:
            _reload_failed(app, exc, "recipe data update could not be served")
            continue
        app[METRICS].reloads.inc()
        log.info("recipe data reloaded", extra={"recipe_version": event.version, "source": event.source})


async def recipe_data(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: load and follow recipe data in the background while the app runs.

    Supervised: if following ever raises (the source's update stream ended with an error),
    the crash is logged and counted, /ready is 503, and following starts again after a backoff.
    """
    follower = app[FOLLOWER]
    task = asyncio.create_task(
        supervise(follower, lambda: _follow(app), app[METRICS].task_restarts), name=follower.name
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def deadline_watchdog(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the task that cuts off handlers running past WRITE_TIMEOUT (supervised)."""
    health = TaskHealth("deadlines")
    task = asyncio.create_task(supervise(health, app[IN_FLIGHT].watch, app[METRICS].task_restarts), name=health.name)
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def body_parser(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the threads that parse request bodies stop with the app."""
    yield
    app[BODIES].close()


def create_app(settings: Settings, source: RecipeSource | None = None) -> web.Application:
    in_flight = InFlight(settings.write_timeout)
    metrics = Metrics(in_flight.tasks)
    limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
    # Content-Encoding is decoded by the handler, under the body limit (bodies.py).
    app = web.Application(client_max_size=settings.max_body_bytes, handler_args={"auto_decompress": False})
    app[SETTINGS] = settings
    app[SOURCE] = source or make_source(settings)
    app[METRICS] = metrics
    app[RECIPES] = RecipeService(__version__, settings.allowlists, metrics)
    app[LIFECYCLE] = Lifecycle()
    app[IN_FLIGHT] = in_flight
    app[FOLLOWER] = TaskHealth("recipe-data")
    app[BODIES] = BodyParser(settings.max_body_bytes)
    pipeline = app[PIPELINE] = Pipeline(metrics, limiter, in_flight, app[LIFECYCLE])
    add_routes(app, pipeline)
    add_bundle_routes(app, pipeline)  # before the OpenAPI document and the catch-all route
    setup_openapi(app, pipeline.exempt)
    add_fallback(app, pipeline)
    app.on_startup.append(pipeline.on_startup)
    app.cleanup_ctx.append(recipe_data)
    app.cleanup_ctx.append(deadline_watchdog)
    app.cleanup_ctx.append(body_parser)
    return app
