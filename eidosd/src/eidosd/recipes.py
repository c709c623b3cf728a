"""The current recipe store and the rendered responses computed from it.

A response body depends only on (store version, criteria), so it is rendered once and kept
as bytes with its ETag; a new store replaces the whole cache in one assignment.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from eidos_core.errors import UnavailableError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import AllowLists, Criteria
from eidos_core.recipe.model import RecipeStore
from eidos_core.recipe.result import recipe_to_document, to_json

MAX_CACHED = 4096


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    etag: str


class RecipeService:
    def __init__(self, version: str, allowlists: AllowLists) -> None:
        self.version = version
        self.allowlists = allowlists
        self._store: RecipeStore | None = None
        self._cache: dict[tuple[str, str, str, str, int], Rendered] = {}

    @property
    def store(self) -> RecipeStore | None:
        return self._store

    def swap(self, store: RecipeStore) -> None:
        # Two assignments; a request between them at worst renders into the old dict,
        # which is dropped: a stale entry is never served for the new store.
        self._cache = {}
        self._store = store

    def render(self, criteria: Criteria) -> tuple[Rendered, bool]:
        """The response for ``criteria`` and whether it came from the cache."""
        store = self._store
        if store is None:
            raise UnavailableError("recipe data is not loaded yet")
        self.allowlists.check(criteria)
        key = criteria.key()
        cache = self._cache
        hit = cache.get(key)
        if hit is not None:
            return hit, True
        doc = recipe_to_document(build_recipe(store, criteria), self.version)
        body = to_json(doc)
        rendered = Rendered(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        if len(cache) < MAX_CACHED:
            cache[key] = rendered
        return rendered, False
