"""Snapshot mode: overlays whose own constraints the snapshot fails are excluded as merge roots."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.model import RecipeStore
from eidos_core.recipe.result import recipe_from_document, recipe_to_document
from eidos_core.resolve.snapshot_mode import build_recipe_for_snapshot
from eidos_core.snapshot.model import Snapshot, snapshot_from_document
from eidos_core.sources.embedded import embedded_store


def snapshot(version: str, *, gpu: str = "", driver: str = "") -> Snapshot:
    measurements: list[dict[str, object]] = [
        {"type": "K8s", "subtypes": [{"subtype": "server", "data": {"version": version}}]}
    ]
    if gpu:
        smi = {"gpu.model": gpu, "driver": driver}
        measurements.append({"type": "GPU", "subtypes": [{"subtype": "smi", "data": smi}]})
    return snapshot_from_document({"kind": "Snapshot", "measurements": measurements})


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
    # Only gpu names an accelerator; eks (a service overlay) stays a warning.
    assert recipe.excluded_accelerator_overlays == ("gpu",)
    assert meta["excludedAcceleratorOverlays"] == ["gpu"]
    assert list(meta) == ["version", "appliedOverlays", "excludedOverlays", "excludedAcceleratorOverlays",
                          "constraintWarnings"]  # fmt: skip


def test_passing_overlays_are_all_applied(make_store: Callable[..., RecipeStore]) -> None:
    store = make_store(
        eks={"criteria": {"service": "eks"}, "constraints": [{"name": "K8s.server.version", "value": ">= 1.30"}]},
    )
    recipe = build_recipe_for_snapshot(store, Criteria(service="eks"), snapshot("v1.31.0-eks-1"))
    assert recipe.excluded_overlays == () and recipe.constraint_warnings == ()
    assert recipe.applied_overlays == ("base", "eks")


def test_an_accelerator_overlay_applied_as_an_ancestor_is_not_dropped(
    make_store: Callable[..., RecipeStore],
) -> None:
    # gpu fails, but its child passes and merges it: the recipe has gpu's refs and constraints.
    store = make_store(
        gpu={"criteria": {"accelerator": "h100"}, "constraints": [{"name": "K8s.server.version", "value": ">= 1.32"}]},
        child={"base": "gpu", "criteria": {"accelerator": "h100", "intent": "training"}},
    )
    recipe = build_recipe_for_snapshot(store, Criteria(accelerator="h100", intent="training"), snapshot("v1.31.0"))
    assert recipe.excluded_overlays == ("gpu",) and "gpu" in recipe.applied_overlays
    assert recipe.excluded_accelerator_overlays == ()
    assert "excludedAcceleratorOverlays" not in recipe_to_document(recipe, "t")["metadata"]


# The embedded data: GB200 NVL72 needs the gb200 overlay (DRA driver, IMEX), which needs Kubernetes >= 1.32.
GB200 = Criteria(accelerator="gb200", intent="training")


def test_gb200_on_kubernetes_1_31_drops_the_gb200_overlay_and_says_so() -> None:
    store = embedded_store()
    recipe = build_recipe_for_snapshot(store, GB200, snapshot("v1.31.4", gpu="NVIDIA GB200", driver="580.82.07"))
    assert recipe.excluded_accelerator_overlays == ("gb200",)
    assert "gb200" not in recipe.applied_overlays
    assert "nvidia-dra-driver-gpu" not in {r.name for r in recipe.component_refs}
    (warning,) = (w for w in recipe.constraint_warnings if w.overlay == "gb200")
    assert (warning.constraint, warning.expected, warning.actual) == ("K8s.server.version", ">= 1.32", "v1.31.4")
    doc = recipe_to_document(recipe, "t")
    assert doc["metadata"]["excludedAcceleratorOverlays"] == ["gb200"]
    # validate and bundle read recipes back: the field survives, in its place.
    back = recipe_from_document(doc)
    assert back.excluded_accelerator_overlays == ("gb200",)
    assert back.to_document() == doc


@pytest.mark.parametrize("version", ["v1.33.5-eks-3025e55", "v1.32.0"])
def test_gb200_on_a_new_enough_kubernetes_drops_nothing(version: str) -> None:
    recipe = build_recipe_for_snapshot(
        embedded_store(), GB200, snapshot(version, gpu="NVIDIA GB200", driver="580.82.07")
    )
    assert recipe.excluded_overlays == () and recipe.excluded_accelerator_overlays == ()
    assert "gb200" in recipe.applied_overlays
    assert "excludedAcceleratorOverlays" not in recipe_to_document(recipe, "t")["metadata"]


def test_gb300_on_kubernetes_1_31_keeps_gb200_as_its_ancestor() -> None:
    # gb300 extends gb200: gb300's own constraints pass, so gb200 is merged (with its >= 1.32
    # constraint, which validate then fails); nothing is left out.
    recipe = build_recipe_for_snapshot(
        embedded_store(), Criteria(accelerator="gb300"), snapshot("v1.31.4", gpu="NVIDIA GB300", driver="580.82.07")
    )
    assert recipe.excluded_accelerator_overlays == ()
    assert {"gb200", "gb300"} <= set(recipe.applied_overlays)
    assert any(c.name == "K8s.server.version" and c.value == ">= 1.32" for c in recipe.constraints)


def test_an_os_overlay_left_out_is_no_accelerator_overlay() -> None:
    snap = snapshot_from_document(
        {
            "kind": "Snapshot",
            "measurements": [
                {"type": "K8s", "subtypes": [{"subtype": "server", "data": {"version": "v1.33.0"}}]},
                {"type": "OS", "subtypes": [{"subtype": "release", "data": {"ID": "ubuntu", "VERSION_ID": "20.04"}}]},
            ],
        }
    )
    recipe = build_recipe_for_snapshot(embedded_store(), Criteria(os="ubuntu", intent="training"), snap)
    assert "ubuntu" in recipe.excluded_overlays
    assert recipe.excluded_accelerator_overlays == ()
