"""Typed application state (``web.AppKey``): what the app holds and who may read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from eidos_core.sources.base import RecipeSource
from eidosd.bodies import BodyParser
from eidosd.inflight import InFlight
from eidosd.metrics import Metrics
from eidosd.recipes import RecipeService
from eidosd.settings import Settings
from eidosd.supervise import TaskHealth

if TYPE_CHECKING:  # the pipeline renders errors (errors.py), which read SETTINGS from here
    from eidosd.pipeline import Pipeline


@dataclass(slots=True)
class Lifecycle:
    """Set on SIGTERM: /ready answers 503 so load balancers stop sending traffic."""

    draining: bool = False


SETTINGS = web.AppKey("settings", Settings)
SOURCE = web.AppKey("source", RecipeSource)
RECIPES = web.AppKey("recipes", RecipeService)
METRICS = web.AppKey("metrics", Metrics)
LIFECYCLE = web.AppKey("lifecycle", Lifecycle)
IN_FLIGHT = web.AppKey("in_flight", InFlight)
PIPELINE: web.AppKey[Pipeline] = web.AppKey("pipeline")
# The recipe-data follower's state: /ready is 503 while it is not running.
FOLLOWER = web.AppKey("follower", TaskHealth)
BODIES = web.AppKey("bodies", BodyParser)
