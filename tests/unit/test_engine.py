"""Matching, merging, ordering and registry defaults on small hand-made data."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eidos_core.codec import merge as merge_ref
from eidos_core.errors import RecipeBuildError
from eidos_core.recipe.build import build_recipe
from eidos_core.recipe.criteria import Criteria, parse_criteria
from eidos_core.recipe.match import overlay_matches
from eidos_core.recipe.merge import deep_merge
from eidos_core.recipe.model import ComponentRef, RecipeStore
from eidos_core.recipe.order import deployment_order

Make = Callable[..., RecipeStore]


@pytest.mark.parametrize(
    ("overlay", "query", "matches"),
    [
        (Criteria(service="eks"), Criteria(service="eks", accelerator="h100"), True),
        (Criteria(service="eks"), Criteria(), False),  # a generic query never selects a specific overlay
        (Criteria(service="eks"), Criteria(service="gke"), False),
        (Criteria(), Criteria(service="gke"), True),
        (Criteria(nodes=8), Criteria(nodes=8), True),
        (Criteria(nodes=8), Criteria(), False),
        (Criteria(), Criteria(nodes=8), True),
    ],
)
def test_match_rule(overlay: Criteria, query: Criteria, matches: bool) -> None:
    assert overlay_matches(overlay, query) is matches


def test_index_agrees_with_match_rule(make_store: Make) -> None:
    store = make_store(
        eks={"criteria": {"service": "eks"}},
        eksh100={"criteria": {"service": "eks", "accelerator": "h100"}},
        big={"criteria": {"nodes": 16}},
        all={"criteria": {"intent": "any"}},
    )
    for query in (
        parse_criteria(),
        parse_criteria(service="eks"),
        parse_criteria(service="eks", accelerator="h100", nodes=16),
    ):
        applied = build_recipe(store, query).applied_overlays[1:]
        expected = sorted(
            (n for n, o in store.overlays.items() if o.criteria and overlay_matches(o.criteria, query)),
            key=lambda n: (store.overlays[n].criteria.specificity, n),  # type: ignore[union-attr]
        )
        assert list(applied) == expected


def test_more_specific_overlay_wins_and_ties_break_by_name(make_store: Make) -> None:
    store = make_store(
        zeta={"criteria": {"service": "eks"}, "componentRefs": [{"name": "a", "version": "z"}]},
        alpha={"criteria": {"accelerator": "h100"}, "componentRefs": [{"name": "a", "version": "a"}]},
        both={"criteria": {"service": "eks", "accelerator": "h100"}, "componentRefs": [{"name": "b", "version": "9"}]},
    )
    r = build_recipe(store, parse_criteria(service="eks", accelerator="h100"))
    assert r.applied_overlays == ("base", "alpha", "zeta", "both")
    versions = {c.name: c.version for c in r.component_refs}
    assert versions == {"a": "z", "b": "9"}


def test_overrides_merge_deeply_and_lists_replace() -> None:
    base = ComponentRef("a", overrides={"driver": {"version": "1", "rdma": {"enabled": False}}, "env": [1, 2]})
    over = ComponentRef("a", overrides={"driver": {"rdma": {"enabled": True}}, "env": [3]})
    merged = merge_ref(base, over)
    assert merged.overrides == {"driver": {"version": "1", "rdma": {"enabled": True}}, "env": [3]}
    assert base.overrides["driver"]["rdma"]["enabled"] is False  # inputs untouched


def test_deep_merge_copies() -> None:
    inner = {"x": [1]}
    out = deep_merge({}, {"a": inner})
    out["a"]["x"].append(2)
    assert inner == {"x": [1]}


def test_manifests_accumulate_other_lists_replace() -> None:
    base = ComponentRef("a", manifest_files=("m1",), dependency_refs=("b",), patches=("p1",))
    merged = merge_ref(base, ComponentRef("a", manifest_files=("m2", "m1"), patches=("p2",)))
    assert merged.manifest_files == ("m1", "m2")
    assert merged.dependency_refs == ("b",)
    assert merged.patches == ("p2",)


def test_deployment_order_is_smallest_topological_order() -> None:
    refs = {
        "z": ComponentRef("z"),
        "b": ComponentRef("b", dependency_refs=("z",)),
        "a": ComponentRef("a", dependency_refs=("b",)),
        "c": ComponentRef("c"),
    }
    assert deployment_order(refs) == ["c", "z", "b", "a"]


def test_unknown_dependency_and_cycle() -> None:
    with pytest.raises(RecipeBuildError, match='component "a" references unknown dependency "x"'):
        deployment_order({"a": ComponentRef("a", dependency_refs=("x",))})
    with pytest.raises(RecipeBuildError, match="circular dependency detected: a -> b -> a"):
        deployment_order(
            {"a": ComponentRef("a", dependency_refs=("b",)), "b": ComponentRef("b", dependency_refs=("a",))}
        )


def test_cycle_across_two_overlays_is_a_build_error(make_store: Make) -> None:
    store = make_store(
        one={"criteria": {"service": "eks"}, "componentRefs": [{"name": "a", "dependencyRefs": ["c"]}, {"name": "c"}]},
        two={"criteria": {"accelerator": "h100"}, "componentRefs": [{"name": "c", "dependencyRefs": ["a"]}]},
    )
    build_recipe(store, parse_criteria(service="eks"))  # each alone is fine
    with pytest.raises(RecipeBuildError, match="merged recipe validation failed: circular dependency") as caught:
        build_recipe(store, parse_criteria(service="eks", accelerator="h100"))
    # The reference's words for the cause, the cycle printed as a Go slice.
    assert caught.value.details["error"] == "circular dependency detected: [a c a]"


def test_registry_defaults(make_store: Make) -> None:
    store = make_store(k={"criteria": {"service": "oke"}, "componentRefs": [{"name": "c"}]})
    c = {r.name: r for r in build_recipe(store, parse_criteria(service="oke")).component_refs}
    assert (c["a"].source, c["a"].version) == ("https://charts.example/a", "1.0.0")
    assert (c["b"].source, c["b"].version) == ("https://charts.example/b", "2.0.0")  # explicit version kept
    assert (c["c"].type, c["c"].source, c["c"].path, c["c"].tag) == (
        "Kustomize",
        "https://git.example/c",
        "deploy",
        "v1",
    )


def test_inheritance_applies_ancestors_once(make_store: Make) -> None:
    store = make_store(
        parent={"componentRefs": [{"name": "c", "type": "Kustomize"}]},
        child={"base": "parent", "criteria": {"service": "eks"}},
        sibling={"base": "parent", "criteria": {"intent": "training"}},
    )
    r = build_recipe(store, parse_criteria(service="eks", intent="training"))
    assert r.applied_overlays == ("base", "parent", "child", "sibling")
    assert "parent" not in build_recipe(store, parse_criteria(service="gke")).applied_overlays
