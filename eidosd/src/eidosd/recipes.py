"""The current recipe store and the responses rendered from it.

A response body depends only on (store, normalised criteria), so it is built once and kept as
bytes with its ETag and headers. A second cache keyed by the raw query string skips even the
parsing for repeated queries. A new store replaces both caches at once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from multidict import CIMultiDict

from eidos_core.errors import UnavailableError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import AllowLists, Criteria
from eidos_core.recipe.model import RecipeStore
from eidos_core.recipe.result import recipe_to_document, to_json
from eidosd.metrics import Metrics

MAX_CACHED = 4096
CACHE_CONTROL = "public, max-age=600"


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    etag: str
    headers: Mapping[str, str]


@dataclass(slots=True)
class _Caches:
    store: RecipeStore
    by_criteria: dict[tuple[str, str, str, str, int], Rendered] = field(default_factory=dict)
    by_query: dict[str, Rendered] = field(default_factory=dict)


class RecipeService:
    def __init__(self, version: str, allowlists: AllowLists, metrics: Metrics) -> None:
        self.version = version
        self.allowlists = allowlists
        self.metrics = metrics
        self._current: _Caches | None = None

    @property
    def store(self) -> RecipeStore | None:
        return self._current.store if self._current else None

    def swap(self, store: RecipeStore) -> None:
        """Serve ``store`` from now on; one assignment, so no request sees a mix."""
        self._current = _Caches(store)
        self.metrics.set_store(store.version, store.source)

    def cached_query(self, query_string: str) -> Rendered | None:
        current = self._current
        hit = current.by_query.get(query_string) if current else None
        if hit is not None:
            self.metrics.http.cache_hits += 1
        return hit

    def render(self, criteria: Criteria, query_string: str | None = None) -> Rendered:
        """The response for ``criteria`` (allow-lists checked first)."""
        current = self._current
        if current is None:
            raise UnavailableError("recipe data is not loaded yet; retry shortly")
        self.allowlists.check(criteria)
        key = criteria.key()
        rendered = current.by_criteria.get(key)
        if rendered is not None:
            self.metrics.http.cache_hits += 1
        else:
            self.metrics.http.cache_misses += 1
            started = time.perf_counter()
            body = to_json(recipe_to_document(build_recipe(current.store, criteria), self.version))
            self.metrics.build_duration.observe(time.perf_counter() - started)
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            headers = CIMultiDict({"Content-Type": "application/json", "ETag": etag, "Cache-Control": CACHE_CONTROL})
            rendered = Rendered(body, etag, headers)
            if len(current.by_criteria) < MAX_CACHED:
                current.by_criteria[key] = rendered
        if query_string is not None and len(current.by_query) < MAX_CACHED:
            current.by_query[query_string] = rendered
        return rendered
