"""Snapshot mode: overlays whose own constraints the snapshot fails are excluded as merge roots."""

from __future__ import annotations

from collections.abc import Callable

from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.model import RecipeStore
from eidos_core.recipe.result import recipe_to_document
from eidos_core.recipe.snapshot_mode import build_recipe_for_snapshot
from eidos_core.snapshot.model import Snapshot, snapshot_from_document


def snapshot(version: str) -> Snapshot:
    return snapshot_from_document(
        {
            "kind": "Snapshot",
            "measurements": [{"type": "K8s", "subtypes": [{"subtype": "server", "data": {"version": version}}]}],
        }
    )


def test_failing_overlay_is_excluded_but_still_applies_as_an_ancestor(make_store: Callable[..., RecipeStore]) -> None:
    store = make_store(
        eks={"criteria": {"service": "eks"}, "constraints": [{"name": "K8s.server.version", "value": ">= 1.32"}]},
        child={"base": "eks", "criteria": {"service": "eks", "intent": "training"}},
        gpu={"criteria": {"accelerator": "h100"}, "constraints": [{"name": "GPU.smi.driver", "value": ">= 550"}]},
    )
    criteria = Criteria(service="eks", accelerator="h100", intent="training")
    recipe = build_recipe_for_snapshot(store, criteria, snapshot("v1.30.14-eks-3025e55"))
    assert recipe.excluded_overlays == ("eks", "gpu")
    assert "child" in recipe.applied_overlays and "eks" in recipe.applied_overlays  # eks as child's ancestor
    assert "gpu" not in recipe.applied_overlays
    by_overlay = {w.overlay: w for w in recipe.constraint_warnings}
    assert by_overlay["eks"].reason == "expected >= 1.32, got v1.30.14-eks-3025e55"
    assert by_overlay["eks"].actual == "v1.30.14-eks-3025e55"
    assert by_overlay["gpu"].actual is None and "GPU" in by_overlay["gpu"].reason  # not in the snapshot
    meta = recipe_to_document(recipe, "t")["metadata"]
    assert meta["excludedOverlays"] == ["eks", "gpu"] and len(meta["constraintWarnings"]) == 2


def test_passing_overlays_are_all_applied(make_store: Callable[..., RecipeStore]) -> None:
    store = make_store(
        eks={"criteria": {"service": "eks"}, "constraints": [{"name": "K8s.server.version", "value": ">= 1.30"}]},
    )
    recipe = build_recipe_for_snapshot(store, Criteria(service="eks"), snapshot("v1.31.0-eks-1"))
    assert recipe.excluded_overlays == () and recipe.constraint_warnings == ()
    assert recipe.applied_overlays == ("base", "eks")
