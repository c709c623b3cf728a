"""The ``recipeResult`` document (recipe-engine.md §9.4): field names and order are the contract."""

from __future__ import annotations

import json
from typing import Any

from eidos_core import API_VERSION
from eidos_core.recipe.build import Recipe
from eidos_core.recipe.model import ComponentRef

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
    return out


def recipe_to_document(recipe: Recipe, version: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    if version:
        metadata["version"] = version
    metadata["appliedOverlays"] = list(recipe.applied_overlays)
    if recipe.excluded_overlays:
        metadata["excludedOverlays"] = list(recipe.excluded_overlays)
    if recipe.constraint_warnings:
        metadata["constraintWarnings"] = [
            {
                "overlay": w.overlay,
                "constraint": w.constraint,
                "expected": w.expected,
                **({"actual": w.actual} if w.actual is not None else {}),
                "reason": w.reason,
            }
            for w in recipe.constraint_warnings
        ]
    doc: dict[str, Any] = {
        "kind": RESULT_KIND,
        "apiVersion": API_VERSION,
        "metadata": metadata,
        "criteria": recipe.criteria.to_dict(),
    }
    if recipe.constraints:
        doc["constraints"] = [{"name": c.name, "value": c.value} for c in recipe.constraints]
    doc["componentRefs"] = [ref_to_dict(r) for r in recipe.component_refs]
    doc["deploymentOrder"] = list(recipe.deployment_order)
    return doc


def to_json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
