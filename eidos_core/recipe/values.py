"""A component's Helm values as its recipe gives them: its values file(s), then the recipe's
``overrides``. One implementation for the bundle (eidos_cli.bundle.values, which adds the
bundle-time steps on top) and the query (eidos_core.recipe.query).

1. the component's values file from the recipe data — an overlay file
   (``components/<name>/values-eks.yaml``) goes over ``components/<name>/values.yaml`` when
   that exists;
2. the recipe's ``overrides`` deep-merged on top (mappings merge, lists and scalars replace).

A values file named by the recipe but missing from the data, or not a YAML mapping, is an
error naming the component and the file (the reference falls back to ``{}`` with a warning,
which drops the recipe's overrides too and bundles an unconfigured component).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eidos_core import yaml
from eidos_core.codec import deep_merge
from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.recipe.model import ComponentRef

__all__ = ["recipe_values", "values_file"]


def values_file(
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
            values = values_file(files, base, ref.name, parsed)
        values = deep_merge(values, values_file(files, ref.values_file, ref.name, parsed))
    if ref.overrides:
        values = deep_merge(values, ref.overrides)
    return values
