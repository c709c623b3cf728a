"""The response caches of eidosd are bounded LRUs: junk evicts junk, hot entries stay."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eidos_core.recipe.criteria import AllowLists, Criteria
from eidos_core.recipe.model import RecipeStore
from eidosd.metrics import Metrics
from eidosd.recipes import LruCache, RecipeService


def test_lru_evicts_least_recently_used() -> None:
    cache: LruCache[str, int] = LruCache(3)
    for i, key in enumerate("abc"):
        cache.put(key, i)
    assert cache.get("a") == 0  # a is now the most recently used
    cache.put("d", 3)
    assert cache.keys() == ["c", "a", "d"]  # b was the least recently used
    assert cache.get("b") is None
    cache.put("c", 30)  # replacing counts as a use
    cache.put("e", 4)
    assert cache.keys() == ["d", "c", "e"]
    assert cache.get("c") == 30
    assert len(cache) == 3


def test_lru_refuses_zero_capacity() -> None:
    with pytest.raises(ValueError, match="capacity"):
        LruCache[str, int](0)


def test_hot_entry_survives_junk() -> None:
    cache: LruCache[str, str] = LruCache(8)
    cache.put("hot", "H")
    for i in range(1000):
        cache.put(f"junk-{i}", "J")
        if i % 4 == 0:
            assert cache.get("hot") == "H"
    assert "hot" in cache
    assert len(cache) == 8


@pytest.fixture
def service(make_store: Callable[..., RecipeStore]) -> RecipeService:
    # A small capacity keeps the test fast; the behaviour does not depend on the number.
    svc = RecipeService("test", AllowLists(), Metrics(), max_cached=16)
    svc.swap(make_store())
    return svc


def test_service_keeps_caching_after_junk(service: RecipeService) -> None:
    service.render(Criteria(service="eks"), "service=eks")
    for nodes in range(1, 200):  # distinct criteria and query strings: the junk a client can send
        service.render(Criteria(nodes=nodes), f"nodes={nodes}")
        if nodes % 8 == 0:
            assert service.cached_query("service=eks") is not None
    # Fill-and-freeze would have stopped caching long ago: a new query is still cached.
    service.render(Criteria(nodes=5000), "nodes=5000")
    assert service.cached_query("nodes=5000") is not None
    assert service.cached_query("nodes=1") is None  # evicted: cold
    current = service._current
    assert current is not None
    assert len(current.by_query) == 16 and len(current.by_criteria) == 16


def test_long_query_strings_not_cached(service: RecipeService) -> None:
    long_query = "service=eks&" + "service=x&" * 100
    service.render(Criteria(service="eks"), long_query)
    assert service.cached_query(long_query) is None
