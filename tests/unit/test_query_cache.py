"""RecipeService.query (GET|POST /v1/query): answers cached like recipes, bounded, large values trees
and errors never kept, and a new store replaces every cache."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.recipe.criteria import AllowLists, Criteria
from eidos_core.recipe.model import RecipeStore
from eidosd.metrics import Metrics
from eidosd.recipes import MAX_CACHED_ANSWER_BYTES, RecipeService

CAPACITY = 16


@pytest.fixture
def service(make_store: Callable[..., RecipeStore]) -> RecipeService:
    svc = RecipeService("test", AllowLists(), Metrics(), max_cached=CAPACITY)
    big = {"componentRefs": [{"name": "a", "overrides": {"big": "x" * MAX_CACHED_ANSWER_BYTES}}]}
    svc.swap(make_store(eks={"criteria": {"service": "eks"}, **big}))
    return svc


def test_answers_are_json_values_cached_by_criteria_and_query_string(service: RecipeService) -> None:
    first = service.query(Criteria(), "componentRefs.b.version", "selector=componentRefs.b.version")
    assert json.loads(first.body) == "2.0.0" and first.headers["ETag"] == first.etag
    assert service.cached_answer("selector=componentRefs.b.version") is first
    assert service.query(Criteria(), "componentRefs.b.version") is first  # by (criteria, selector)
    assert service.cached_answer("selector=other") is None
    assert json.loads(service.query(Criteria(), "componentRefs.a.values").body) == {
        "replicas": 1,
        "image": {"tag": "v1"},
    }
    assert json.loads(service.query(Criteria(), "constraints.K8s.server.version").body) == ">= 1.28"
    assert service.metrics.http.cache_hits == 2 and service.metrics.http.cache_misses == 3


def test_errors_are_raised_and_never_cached(service: RecipeService) -> None:
    with pytest.raises(InvalidRequestError):
        service.query(Criteria(), "a..b", "selector=a..b")
    assert service.cached_answer("selector=a..b") is None
    for _ in range(2):
        with pytest.raises(NotFoundError) as caught:
            service.query(Criteria(), "componentRefs.b.nope", "selector=componentRefs.b.nope")
        assert caught.value.details["found"] == "componentRefs.b"
    assert service.cached_answer("selector=componentRefs.b.nope") is None


def test_a_large_answer_is_selected_again_not_kept(service: RecipeService) -> None:
    eks = Criteria(service="eks")
    big = service.query(eks, "componentRefs.a.values", "service=eks&selector=componentRefs.a.values")
    assert len(big.body) > MAX_CACHED_ANSWER_BYTES
    assert service.cached_answer("service=eks&selector=componentRefs.a.values") is None
    again = service.query(eks, "componentRefs.a.values")
    assert again is not big and again.body == big.body and again.etag == big.etag
    small = service.query(eks, "componentRefs.a.values.replicas", "q")
    assert service.cached_answer("q") is small


def test_caches_stay_bounded_under_junk(service: RecipeService) -> None:
    for nodes in range(1, 200):
        service.query(Criteria(nodes=nodes), "deploymentOrder", f"nodes={nodes}&selector=deploymentOrder")
    current = service._current
    assert current is not None
    assert len(current.hydrated) <= CAPACITY and len(current.answers) == CAPACITY
    assert len(current.answers_by_query) == CAPACITY
    assert service.cached_answer("nodes=199&selector=deploymentOrder") is not None


def test_a_new_store_replaces_the_answers(service: RecipeService, make_store: Callable[..., RecipeStore]) -> None:
    assert json.loads(service.query(Criteria(), "componentRefs.b.version", "q").body) == "2.0.0"
    service.swap(make_store(eks={"criteria": {"service": "any"}}))
    assert service.cached_answer("q") is None
    service.swap(
        make_store(newer={"criteria": {"intent": "training"}, "componentRefs": [{"name": "b", "version": "3.0.0"}]})
    )
    assert json.loads(service.query(Criteria(intent="training"), "componentRefs.b.version").body) == "3.0.0"
