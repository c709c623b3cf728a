"""Snapshot mode (recipe-engine spec §12): leave out overlays the cluster does not satisfy.

Each matched overlay's *own* constraints are checked against the snapshot; one that fails or
cannot be checked excludes the overlay as a merge root (it may still apply as the ancestor of
an overlay that passes). Every failing constraint becomes a warning in the result metadata.
"""

from __future__ import annotations

from eidos_core.errors import EidosError
from eidos_core.recipe.build import ConstraintWarning, Recipe, merge_overlays
from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.match import select_overlays
from eidos_core.recipe.model import RecipeStore
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
    return merge_overlays(store, criteria, roots, excluded=tuple(excluded), warnings=tuple(warnings))
