"""The recipe data shipped in the package: loaded once, never changes."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator

from eidos_core.data.files import read_embedded
from eidos_core.data.load import load_store
from eidos_core.recipe.model import RecipeStore
from eidos_core.sources.base import ReloadEvent


@functools.cache
def embedded_store() -> RecipeStore:
    """The embedded store (cached: the package data cannot change under a running process)."""
    return load_store(read_embedded(), source="embedded")


class EmbeddedSource:
    description = "embedded"

    async def load(self) -> RecipeStore:
        return embedded_store()

    async def updates(self) -> AsyncIterator[ReloadEvent]:
        await asyncio.Event().wait()  # never changes; wait until cancelled
        yield embedded_store()  # pragma: no cover - unreachable
