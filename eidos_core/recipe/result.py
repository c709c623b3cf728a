"""The ``recipeResult`` document (recipe-engine.md §9.4): field names and order are the contract."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from eidos_core import API_VERSION
from eidos_core.recipe.build import ConstraintWarning, Recipe
from eidos_core.recipe.criteria import Criteria
from eidos_core.recipe.model import ComponentRef, Constraint

RESULT_KIND = "recipeResult"


def ref_to_dict(ref: ComponentRef) -> dict[str, Any]:
    """name, type and source always; the optional fields only when set."""
    out: dict[str, Any] = {"name": ref.name, "type": ref.type, "source": ref.source}
    if ref.version:
        out["version"] = ref.version
    if ref.tag:
        out["tag"] = ref.tag
    if ref.values_file:
        out["valuesFile"] = ref.values_file
    if ref.overrides:
        out["overrides"] = ref.overrides
    if ref.patches:
        out["patches"] = list(ref.patches)
    if ref.dependency_refs:
        out["dependencyRefs"] = list(ref.dependency_refs)
    if ref.manifest_files:
        out["manifestFiles"] = list(ref.manifest_files)
    if ref.path:
        out["path"] = ref.path
    if ref.namespace:
        out["namespace"] = ref.namespace
    return out


def result_document(
    *,
    version: str,
    applied_overlays: Sequence[str],
    excluded_overlays: Sequence[str],
    constraint_warnings: Sequence[ConstraintWarning],
    criteria: Criteria | None,
    constraints: Sequence[Constraint],
    component_refs: Sequence[ComponentRef],
    deployment_order: Sequence[str],
    excluded_accelerator_overlays: Sequence[str] = (),
) -> dict[str, Any]:
    """The document in the contract's field order; empty optional fields are left out.

    ``excludedAcceleratorOverlays`` (right after ``excludedOverlays``) names the accelerator
    overlays snapshot mode left out, so ``validate`` and ``bundle`` can tell such a recipe apart.
    """
    metadata: dict[str, Any] = {}
    if version:
        metadata["version"] = version
    if applied_overlays:
        metadata["appliedOverlays"] = list(applied_overlays)
    if excluded_overlays:
        metadata["excludedOverlays"] = list(excluded_overlays)
    if excluded_accelerator_overlays:
        metadata["excludedAcceleratorOverlays"] = list(excluded_accelerator_overlays)
    if constraint_warnings:
        metadata["constraintWarnings"] = [
            {
                "overlay": w.overlay,
                "constraint": w.constraint,
                "expected": w.expected,
                **({"actual": w.actual} if w.actual is not None else {}),
                "reason": w.reason,
            }
            for w in constraint_warnings
        ]
    doc: dict[str, Any] = {"kind": RESULT_KIND, "apiVersion": API_VERSION}
    if metadata:
        doc["metadata"] = metadata
    doc["criteria"] = criteria.to_dict() if criteria is not None else None
    if constraints:
        doc["constraints"] = [{"name": c.name, "value": c.value} for c in constraints]
    doc["componentRefs"] = [ref_to_dict(r) for r in component_refs]
    doc["deploymentOrder"] = list(deployment_order)
    return doc


def recipe_to_document(recipe: Recipe, version: str) -> dict[str, Any]:
    return result_document(
        version=version,
        applied_overlays=recipe.applied_overlays,
        excluded_overlays=recipe.excluded_overlays,
        excluded_accelerator_overlays=recipe.excluded_accelerator_overlays,
        constraint_warnings=recipe.constraint_warnings,
        criteria=recipe.criteria,
        constraints=recipe.constraints,
        component_refs=recipe.component_refs,
        deployment_order=recipe.deployment_order,
    )


def to_json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
