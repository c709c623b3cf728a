"""The constraints ``validate`` checks beyond a recipe's own: those of the accelerator overlays
snapshot mode left out of it (``metadata.excludedAcceleratorOverlays``, issue 11).

The recipe itself is read by :func:`eidos_core.recipe.result.recipe_from_document`, the one
reader of recipeResult documents, so ``validate`` and ``bundle`` accept the same documents.
"""

from __future__ import annotations

from dataclasses import dataclass

from eidos_core.recipe.model import Constraint, Recipe


@dataclass(frozen=True, slots=True)
class ExcludedConstraint:
    """A constraint of an accelerator overlay that snapshot mode left out of the recipe."""

    overlay: str
    constraint: Constraint


def excluded_constraints(recipe: Recipe) -> tuple[ExcludedConstraint, ...]:
    """The ``constraintWarnings`` of the overlays in ``metadata.excludedAcceleratorOverlays``.

    The recipe lacks those overlays, so their constraints are not in ``constraints``; ``validate``
    checks them too, so such a recipe never passes on a cluster that still fails them (issue 11).
    Order as in the document; a recipe without the field (any other recipe) gives ``()``.
    """
    dropped = set(recipe.excluded_accelerator_overlays)
    return tuple(
        ExcludedConstraint(w.overlay, Constraint(w.constraint, w.expected))
        for w in recipe.constraint_warnings
        if w.overlay in dropped
    )
