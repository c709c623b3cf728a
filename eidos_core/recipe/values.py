"""A component's Helm values as its recipe gives them, before ``--set`` and node scheduling.
One implementation for the bundle (eidos_cli.bundle.values, which adds the bundle-time steps
on top) and the query (eidos_core.recipe.query).

1. the component's values file from the recipe data — an overlay file
   (``components/<name>/values-eks.yaml``) goes over ``components/<name>/values.yaml`` when
   that exists;
2. the recipe's ``overrides`` deep-merged on top (mappings merge, lists and scalars replace);
3. references to other components (registry ``valueReferences``) set from the namespace plan,
   or removed when their component is not planned (:mod:`eidos_core.recipe.namespaces`).

A values file named by the recipe but missing from the data, or not a YAML mapping, is an
error naming the component and the file (the reference falls back to ``{}`` with a warning,
which drops the recipe's overrides too and bundles an unconfigured component).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eidos_core import yaml
from eidos_core.codec import deep_merge
from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.recipe.model import ComponentRef, Registry
from eidos_core.recipe.namespaces import namespace_plan, value_references

__all__ = ["apply_references", "put_path", "recipe_values", "referenced_values", "values_file"]


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


def put_path(values: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path``, replacing anything on the way that is not a mapping (unlike ``--set``)."""
    segments = [s for s in path.split(".") if s]
    if not segments:
        return
    node = values
    for segment in segments[:-1]:
        child = node.get(segment)
        if not isinstance(child, dict):
            child = node[segment] = {}
        node = child
    node[segments[-1]] = value


def apply_references(values: dict[str, Any], references: Mapping[str, Any | None]) -> None:
    """Step 3: set each dotted path to its value, or remove it where the value is ``None``."""
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


def referenced_values(
    refs: Sequence[ComponentRef], files: Mapping[str, bytes], registry: Registry
) -> dict[str, dict[str, Any]]:
    """Steps 1–3 for every component of ``refs`` (all of them planned), by name in ``refs``
    order: what a bundle of them writes before ``--set`` and node scheduling."""
    # Only the namespaces that references point at: a component whose name is no namespace
    # (a bundle refuses it) does not keep the other components' values from being read.
    targets: set[str] = set()
    for ref in refs:
        comp = registry.get(ref.name)
        targets.update(item.component or ref.name for item in (comp.value_references if comp else ()))
    namespaces = namespace_plan([ref for ref in refs if ref.name in targets], registry)
    references, _, _ = value_references(refs, registry, namespaces)
    parsed: dict[str, dict[str, Any]] = {}  # a values file named by several components parsed once
    out: dict[str, dict[str, Any]] = {}
    for ref in refs:
        values = recipe_values(ref, files, parsed)
        apply_references(values, references.get(ref.name, {}))
        out[ref.name] = values
    return out
