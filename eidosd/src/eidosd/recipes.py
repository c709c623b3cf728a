"""The current recipe store and the responses rendered from it.

A response body depends only on (store, normalised criteria), so it is built once and kept as
bytes with its ETag and headers. A second cache keyed by the raw query string skips even the
parsing for repeated queries. A new store replaces both caches at once.

Both caches are bounded LRUs: junk queries evict each other (and only cold entries), so hot
queries stay cached whatever the traffic, and memory stays bounded between reloads.

``/v1/query`` answers the same way, from caches of its own beside them (the recipe's hot path
is untouched): the hydrated recipe per criteria (:mod:`eidos_core.recipe.query`), the rendered
answer per (criteria, selector) and per raw query string. Answers larger than
``MAX_CACHED_ANSWER_BYTES`` (a whole values tree) are selected again from the cached hydrated
recipe each time rather than kept, so the answer caches stay small whatever is asked.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from multidict import CIMultiDict

from eidos_core.errors import UnavailableError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import AllowLists, Criteria
from eidos_core.recipe.model import RecipeStore
from eidos_core.recipe.query import hydrate, parse_selector, select
from eidos_core.recipe.result import recipe_to_document, to_json
from eidosd.metrics import Metrics

MAX_CACHED = 4096
# Real query strings are well under 100 characters; longer ones are answered but not cached,
# so hostile 8 KB query strings cannot make the query cache hold 4,096 keys of 8 KB.
MAX_CACHED_QUERY_CHARS = 512
CACHE_CONTROL = "public, max-age=600"
# Hydrated recipes (every component's merged values: tens of KB each) kept per store; there are
# about a hundred distinct recipes in the embedded data.
MAX_HYDRATED = 128
MAX_CACHED_ANSWER_BYTES = 16 * 1024

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """A bounded mapping that evicts the least recently used entry (get and put both use).

    OrderedDict's ``move_to_end`` and ``popitem`` are O(1) in C: a hit costs one more call
    than a plain dict lookup.
    """

    __slots__ = ("_data", "capacity")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._data: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: K) -> bool:
        return key in self._data

    def keys(self) -> list[K]:
        """Least recently used first."""
        return list(self._data)

    def get(self, key: K) -> V | None:
        data = self._data
        value = data.get(key)
        if value is not None:
            data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        data = self._data
        data[key] = value
        data.move_to_end(key)
        if len(data) > self.capacity:
            data.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    etag: str
    headers: Mapping[str, str]


CriteriaKey = tuple[str, str, str, str, int]


def _rendered(body: bytes) -> Rendered:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = CIMultiDict({"Content-Type": "application/json", "ETag": etag, "Cache-Control": CACHE_CONTROL})
    return Rendered(body, etag, headers)


@dataclass(slots=True)
class _Caches:
    store: RecipeStore
    capacity: int
    by_criteria: LruCache[CriteriaKey, Rendered] = field(init=False)
    by_query: LruCache[str, Rendered] = field(init=False)
    # /v1/query's: hydrated recipes, answers by (criteria, selector), answers by query string.
    hydrated: LruCache[CriteriaKey, dict[str, Any]] = field(init=False)
    answers: LruCache[tuple[CriteriaKey, str], Rendered] = field(init=False)
    answers_by_query: LruCache[str, Rendered] = field(init=False)

    def __post_init__(self) -> None:
        self.by_criteria = LruCache(self.capacity)
        self.by_query = LruCache(self.capacity)
        self.hydrated = LruCache(min(self.capacity, MAX_HYDRATED))
        self.answers = LruCache(self.capacity)
        self.answers_by_query = LruCache(self.capacity)


class RecipeService:
    def __init__(self, version: str, allowlists: AllowLists, metrics: Metrics, *, max_cached: int = MAX_CACHED) -> None:
        self.version = version
        self.allowlists = allowlists
        self.metrics = metrics
        self._http = metrics.http  # per-request counters (the hot path: one attribute away)
        self.max_cached = max_cached
        self._current: _Caches | None = None

    @property
    def store(self) -> RecipeStore | None:
        return self._current.store if self._current else None

    def swap(self, store: RecipeStore) -> None:
        """Serve ``store`` from now on; one assignment, so no request sees a mix."""
        self._current = _Caches(store, self.max_cached)
        self.metrics.set_store(store.version, store.source)

    def cached_query(self, query_string: str) -> Rendered | None:
        current = self._current
        if current is None:
            return None
        hit = current.by_query.get(query_string)
        if hit is not None:
            self._http.cache_hits += 1
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
            rendered = _rendered(body)
            current.by_criteria.put(key, rendered)
        if query_string is not None and len(query_string) <= MAX_CACHED_QUERY_CHARS:
            current.by_query.put(query_string, rendered)
        return rendered

    def cached_answer(self, query_string: str) -> Rendered | None:
        """GET /v1/query's answer for a query string answered before."""
        current = self._current
        if current is None:
            return None
        hit = current.answers_by_query.get(query_string)
        if hit is not None:
            self._http.cache_hits += 1
        return hit

    def query(self, criteria: Criteria, selector: str, query_string: str | None = None) -> Rendered:
        """The value at ``selector`` in the recipe for ``criteria``, as a JSON response (allow-lists
        and the selector checked first: a 400 is never cached; a 404 is not either, but costs
        only a walk of the cached hydrated recipe)."""
        current = self._current
        if current is None:
            raise UnavailableError("recipe data is not loaded yet; retry shortly")
        self.allowlists.check(criteria)
        path = parse_selector(selector)
        key = criteria.key()
        rendered = current.answers.get((key, selector))
        if rendered is not None:
            self._http.cache_hits += 1
        else:
            self._http.cache_misses += 1
            document = current.hydrated.get(key)
            if document is None:
                started = time.perf_counter()
                recipe = replace(build_recipe(current.store, criteria), version=self.version)
                self.metrics.build_duration.observe(time.perf_counter() - started)
                document = hydrate(recipe, current.store.files, current.store.registry)
                current.hydrated.put(key, document)
            rendered = _rendered(to_json(select(document, path)))
            if len(rendered.body) > MAX_CACHED_ANSWER_BYTES:
                return rendered
            current.answers.put((key, selector), rendered)
        if query_string is not None and len(query_string) <= MAX_CACHED_QUERY_CHARS:
            current.answers_by_query.put(query_string, rendered)
        return rendered
