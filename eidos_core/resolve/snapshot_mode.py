"""Snapshot mode: leave out overlays the cluster does not satisfy.

Each matched overlay's *own* constraints are checked against the snapshot; one that fails or
cannot be checked excludes the overlay as a merge root (it may still apply as the ancestor of
an overlay that passes). Every failing constraint becomes a warning in the result metadata.

Overlays whose criteria name an accelerator carry what that hardware needs (GB200's DRA driver
and IMEX ComputeDomains, a driver branch, open kernel modules). One of them left out is not a
detail but a recipe that cannot run the cluster's GPUs, so the recipe also records those names
(``excludedAcceleratorOverlays``, issue 11): the CLI refuses to write such a recipe unless told
to, and ``validate`` keeps checking the dropped overlay's constraints.
"""

from __future__ import annotations

from dataclasses import replace

from eidos_core.errors import EidosError
from eidos_core.recipe.build import merge_overlays
from eidos_core.recipe.criteria import ANY, Criteria
from eidos_core.recipe.match import select_overlays
from eidos_core.recipe.model import ConstraintWarning, Recipe, RecipeMetadata, RecipeStore
from eidos_core.snapshot.model import Snapshot
from eidos_core.validate.evaluate import constraint_holds


def overlay_warnings(store: RecipeStore, name: str, snapshot: Snapshot) -> list[ConstraintWarning]:
    warnings: list[ConstraintWarning] = []
    for constraint in store.overlays[name].constraints:
        try:
            holds, actual = constraint_holds(constraint, snapshot)
        except EidosError as exc:
            warnings.append(ConstraintWarning(name, constraint.name, constraint.value, None, exc.message))
            continue
        if not holds:
            reason = f"expected {constraint.value}, got {actual}"
            warnings.append(ConstraintWarning(name, constraint.name, constraint.value, actual, reason))
    return warnings


def is_accelerator_overlay(overlay: RecipeMetadata) -> bool:
    """Whether the overlay is chosen by a specific accelerator (not ``any``): what it carries is
    what that GPU needs, so leaving it out must never go unnoticed."""
    return overlay.criteria is not None and overlay.criteria.accelerator != ANY


def dropped_accelerator_overlays(
    store: RecipeStore, excluded: tuple[str, ...], applied: tuple[str, ...]
) -> tuple[str, ...]:
    """The excluded accelerator overlays that are really missing from the recipe.

    An excluded overlay can still be merged as the ancestor of one that passed (gb300 extends
    gb200); then its components and constraints are in the recipe and nothing was dropped.
    """
    merged = set(applied)
    return tuple(n for n in excluded if n not in merged and is_accelerator_overlay(store.overlays[n]))


def build_recipe_for_snapshot(store: RecipeStore, criteria: Criteria, snapshot: Snapshot) -> Recipe:
    roots: list[str] = []
    excluded: list[str] = []
    warnings: list[ConstraintWarning] = []
    for name in select_overlays(criteria, store.index, store.rank):
        found = overlay_warnings(store, name, snapshot)
        if found:
            excluded.append(name)
            warnings.extend(found)
        else:
            roots.append(name)
    recipe = merge_overlays(store, criteria, roots, excluded=tuple(excluded), warnings=tuple(warnings))
    dropped = dropped_accelerator_overlays(store, recipe.excluded_overlays, recipe.applied_overlays)
    return replace(recipe, excluded_accelerator_overlays=dropped)
