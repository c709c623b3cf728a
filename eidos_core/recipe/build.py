"""The recipe pipeline: match → merge each overlay's chain once → order → registry defaults."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from eidos_core.errors import RecipeBuildError
from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.match import select_overlays
from eidos_core.recipe.merge import merge_constraints, merge_refs
from eidos_core.recipe.model import HELM, KUSTOMIZE, ComponentRef, ConstraintWarning, Recipe, RecipeStore, Registry
from eidos_core.recipe.order import deployment_order

BASE = "base"


def apply_registry_defaults(ref: ComponentRef, registry: Registry) -> ComponentRef:
    """Fill an empty type/source/version (Helm) or source/tag/path (Kustomize) from the registry."""
    comp = registry.get(ref.name)
    if comp is None:
        return ref
    kind = ref.type or comp.type
    if kind == HELM:
        return replace(
            ref,
            type=kind,
            source=ref.source or comp.helm_repository,
            version=ref.version or comp.helm_version,
        )
    if kind == KUSTOMIZE:
        return replace(
            ref,
            type=kind,
            source=ref.source or comp.kustomize_source,
            tag=ref.tag or comp.kustomize_tag,
            path=ref.path or comp.kustomize_path,
        )
    return ref


def merge_overlays(
    store: RecipeStore,
    criteria: Criteria,
    roots: Iterable[str],
    *,
    excluded: tuple[str, ...] = (),
    warnings: tuple[ConstraintWarning, ...] = (),
) -> Recipe:
    """Merge the chains of ``roots`` (already in application order) over the base."""
    constraints = {c.name: c for c in store.base.constraints}
    refs = {r.name: r for r in store.base.component_refs}
    applied = [BASE]
    done: set[str] = set()
    for root in roots:
        for name in store.chains[root]:
            if name in done:
                continue
            done.add(name)
            overlay = store.overlays[name]
            merge_constraints(constraints, overlay.constraints)
            merge_refs(refs, overlay.component_refs)
            applied.append(name)
    try:
        order = deployment_order(refs)
    except RecipeBuildError as exc:
        raise RecipeBuildError(
            f"merged recipe validation failed: {exc.message}",
            details={**exc.details, "appliedOverlays": applied},
        ) from None
    return Recipe(
        criteria=criteria,
        applied_overlays=tuple(applied),
        constraints=tuple(constraints[n] for n in sorted(constraints)),
        component_refs=tuple(apply_registry_defaults(refs[n], store.registry) for n in sorted(refs)),
        deployment_order=tuple(order),
        excluded_overlays=excluded,
        constraint_warnings=warnings,
    )


def build_recipe(store: RecipeStore, criteria: Criteria) -> Recipe:
    """The recipe for a query: base plus every matching overlay (and its ancestors)."""
    return merge_overlays(store, criteria, select_overlays(criteria, store.index, store.rank))
