"""Each component's Helm values, in the order the reference builds them:

1. the component's values file from the recipe data — an overlay file
   (``components/<name>/values-eks.yaml``) goes over ``components/<name>/values.yaml`` when
   that exists;
2. the recipe's ``overrides`` deep-merged on top (mappings merge, lists and scalars replace);
3. references to other components (``registry valueReferences``) set from the namespace plan,
   or removed when their component is not in the bundle — after the recipe, so that no
   hard-coded namespace survives, and before ``--set``, so that the user can still point a
   value elsewhere (at a Prometheus of their own); steps 1–3 are
   :mod:`eidos_core.recipe.values` (``recipe_values``, ``apply_references``), shared with
   ``/v1/query``;
4. ``--set`` entries for the component;
5. node selectors and tolerations at the registry's paths.

A values file named by the recipe but missing from the data, or not a YAML mapping, is an
error naming the component and the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eidos_cli.bundle.overrides import SetOverride, apply_overrides, for_component
from eidos_cli.bundle.scheduling import Scheduling, apply_scheduling
from eidos_core.recipe.model import ComponentRef, Registry
from eidos_core.recipe.values import apply_references, recipe_values

__all__ = ["apply_references", "bundle_values", "component_values", "recipe_values"]


def component_values(
    ref: ComponentRef,
    files: Mapping[str, bytes],
    registry: Registry,
    overrides: Sequence[SetOverride] = (),
    scheduling: Scheduling | None = None,
    parsed: dict[str, dict[str, Any]] | None = None,
    references: Mapping[str, Any | None] | None = None,
) -> dict[str, Any]:
    """All five steps for one component."""
    values = recipe_values(ref, files, parsed)
    apply_references(values, references or {})
    apply_overrides(values, for_component(overrides, ref.name, registry), ref.name)
    apply_scheduling(values, registry.get(ref.name), scheduling or Scheduling())
    return values


def bundle_values(
    refs: Sequence[ComponentRef],
    files: Mapping[str, bytes],
    registry: Registry,
    overrides: Sequence[SetOverride] = (),
    scheduling: Scheduling | None = None,
    references: Mapping[str, Mapping[str, Any | None]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Values of every component, keyed by component name, in recipe order; ``references``
    gives each component's step-3 paths (see ``eidos_core.recipe.namespaces.value_references``)."""
    parsed: dict[str, dict[str, Any]] = {}  # each values file parsed once, however many components name it
    refs_by = references or {}
    return {
        ref.name: component_values(ref, files, registry, overrides, scheduling, parsed, refs_by.get(ref.name))
        for ref in refs
    }
