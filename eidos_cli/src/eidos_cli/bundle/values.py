"""Each component's Helm values, in the order the reference builds them:

1. the component's values file from the recipe data — an overlay file
   (``components/<name>/values-eks.yaml``) goes over ``components/<name>/values.yaml`` when
   that exists;
2. the recipe's ``overrides`` deep-merged on top (mappings merge, lists and scalars replace);
3. ``--set`` entries for the component;
4. node selectors and tolerations at the registry's paths.

A values file named by the recipe but missing from the data, or not a YAML mapping, is an
error naming the component and the file (the reference falls back to ``{}`` with a warning,
which drops the recipe's overrides too and bundles an unconfigured component).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eidos_cli.bundle.overrides import SetOverride, apply_overrides, for_component
from eidos_cli.bundle.scheduling import Scheduling, apply_scheduling
from eidos_core import yaml
from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.recipe.merge import deep_merge
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


def component_values(
    ref: ComponentRef,
    files: Mapping[str, bytes],
    registry: Registry,
    overrides: Sequence[SetOverride] = (),
    scheduling: Scheduling | None = None,
    parsed: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """All four steps for one component."""
    values = recipe_values(ref, files, parsed)
    apply_overrides(values, for_component(overrides, ref.name, registry), ref.name)
    apply_scheduling(values, registry.get(ref.name), scheduling or Scheduling())
    return values


def bundle_values(
    refs: Sequence[ComponentRef],
    files: Mapping[str, bytes],
    registry: Registry,
    overrides: Sequence[SetOverride] = (),
    scheduling: Scheduling | None = None,
) -> dict[str, dict[str, Any]]:
    """Values of every component, keyed by component name, in recipe order."""
    parsed: dict[str, dict[str, Any]] = {}  # each values file parsed once, however many components name it
    return {ref.name: component_values(ref, files, registry, overrides, scheduling, parsed) for ref in refs}
