"""Folding overlays over the base: component refs by name, constraints by name.

How two refs of the same component merge is declared field by field on :class:`ComponentRef`
(as the reference merges: scalar fields replaced when the overlay sets them, ``overrides`` merged
deeply — mappings per key, lists and scalars replaced —, ``patches`` and ``dependencyRefs``
replaced when non-empty, ``manifestFiles`` accumulated); :func:`eidos_core.codec.merge` applies it.
"""

from __future__ import annotations

from eidos_core.codec import deep_merge, merge
from eidos_core.recipe.model import ComponentRef, Constraint

__all__ = ["deep_merge", "merge_constraints", "merge_refs"]


def merge_refs(into: dict[str, ComponentRef], refs: tuple[ComponentRef, ...]) -> None:
    for ref in refs:
        existing = into.get(ref.name)
        into[ref.name] = ref if existing is None else merge(existing, ref)


def merge_constraints(into: dict[str, Constraint], constraints: tuple[Constraint, ...]) -> None:
    for constraint in constraints:
        into[constraint.name] = constraint
