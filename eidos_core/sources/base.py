"""The :class:`RecipeSource` protocol: the seam between recipe data and its consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from eidos_core.errors import EidosError
from eidos_core.recipe.model import RecipeStore

# What an update stream yields: a new valid store, or why an update was rejected (the
# consumer keeps its last good store and counts the error).
ReloadEvent = RecipeStore | EidosError


@runtime_checkable
class RecipeSource(Protocol):
    @property
    def description(self) -> str:
        """Where the data comes from, for logs and the ``source`` metric label."""
        ...

    async def load(self) -> RecipeStore:
        """The current data set, fully validated; raises :class:`EidosError` if there is none."""
        ...

    def updates(self) -> AsyncIterator[ReloadEvent]:
        """Every later change: a new store, or the error that kept the old one.

        Runs until cancelled; a source that never changes simply never yields.
        """
        ...
