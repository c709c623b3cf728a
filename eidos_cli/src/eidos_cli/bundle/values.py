"""Each component's Helm values, in the order the reference builds them:

1. the component's values file from the recipe data — an overlay file
   (``components/<name>/values-eks.yaml``) goes over ``components/<name>/values.yaml`` when
   that exists;
2. the recipe's ``overrides`` deep-merged on top (mappings merge, lists and scalars replace);
3. references to other components (``registry valueReferences``) set from the namespace plan,
   or removed when their component is not in the bundle — after the recipe, so that no
   hard-coded namespace survives, and before ``--set``, so that the user can still point a
   value elsewhere (at a Prometheus of their own);
4. ``--set`` entries for the component;
5. node selectors and tolerations at the registry's paths.

A values file named by the recipe but missing from the data, or not a YAML mapping, is an
error naming the component and the file (the reference falls back to ``{}`` with a warning,
which drops the recipe's overrides too and bundles an unconfigured component).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eidos_cli.bundle.overrides import SetOverride, apply_overrides, for_component
from eidos_cli.bundle.scheduling import Scheduling, apply_scheduling, put_path
from eidos_core import yaml
from eidos_core.codec import deep_merge
from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.recipe.model import ComponentRef, Registry


def _values_file(
    files: Mapping[str, bytes], path: str, component: str, parsed: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The values file as a mapping; ``parsed`` caches it by path (callers copy, never modify)."""
    if parsed is not None and path in parsed:
        return parsed[path]
    data = files.get(path)
    if data is None:
        raise NotFoundError(
            f"values file {path} of component {component} is not in the recipe data "
            "(is the recipe from another data set? pass it with --data)",
            details={"component": component, "file": path},
        )
    doc = yaml.load(data, source=path)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise InvalidRequestError(
            f"values file {path} of component {component} must be a YAML mapping",
            details={"component": component, "file": path},
        )
    if parsed is not None:
        parsed[path] = doc
    return doc


def recipe_values(
    ref: ComponentRef, files: Mapping[str, bytes], parsed: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Steps 1–2: values file(s) and the recipe's overrides. A fresh dict each call (deep_merge
    copies), so files parsed once into ``parsed`` can serve every component naming them."""
    values: dict[str, Any] = {}
    if ref.values_file:
        base = f"components/{ref.name}/values.yaml"
        if ref.values_file != base and base in files:
            values = _values_file(files, base, ref.name, parsed)
        values = deep_merge(values, _values_file(files, ref.values_file, ref.name, parsed))
    if ref.overrides:
        values = deep_merge(values, ref.overrides)
    return values


def apply_references(values: dict[str, Any], references: Mapping[str, Any | None]) -> None:
    """Set each dotted path to its value, or remove it where the value is ``None``."""
    for path, value in references.items():
        segments = path.split(".")
        if value is None:
            node: Any = values
            for segment in segments[:-1]:
                node = node.get(segment) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(segments[-1], None)
            continue
        put_path(values, path, value)


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
    gives each component's step-3 paths (see ``plan.value_references``)."""
    parsed: dict[str, dict[str, Any]] = {}  # each values file parsed once, however many components name it
    refs_by = references or {}
    return {
        ref.name: component_values(ref, files, registry, overrides, scheduling, parsed, refs_by.get(ref.name))
        for ref in refs
    }
