"""Folding overlays over the base: component refs by name, constraints by name, values deeply.

Rules (design.md §3.2, recipe-engine.md §8): scalar fields of a ref are replaced when the
overlay sets them; ``overrides`` merge deeply (mappings per key, lists and scalars replaced);
``patches`` and ``dependencyRefs`` are replaced when non-empty; ``manifestFiles`` accumulate.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from eidos_core.recipe.model import ComponentRef, Constraint


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """A new mapping: ``over`` on top of ``base``. Neither input is modified or shared."""
    result: dict[str, Any] = {k: copy.deepcopy(v) for k, v in base.items()}
    for key, value in over.items():
        current = result.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            result[key] = deep_merge(current, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def merge_ref(base: ComponentRef, over: ComponentRef) -> ComponentRef:
    """``over`` (a later overlay's ref of the same component) applied to ``base``."""
    manifests = base.manifest_files + tuple(m for m in over.manifest_files if m not in base.manifest_files)
    return ComponentRef(
        name=base.name,
        type=over.type or base.type,
        source=over.source or base.source,
        version=over.version or base.version,
        tag=over.tag or base.tag,
        path=over.path or base.path,
        values_file=over.values_file or base.values_file,
        overrides=deep_merge(base.overrides, over.overrides) if over.overrides else base.overrides,
        patches=over.patches or base.patches,
        dependency_refs=over.dependency_refs or base.dependency_refs,
        manifest_files=manifests,
        namespace=over.namespace or base.namespace,
    )


def merge_refs(into: dict[str, ComponentRef], refs: tuple[ComponentRef, ...]) -> None:
    for ref in refs:
        existing = into.get(ref.name)
        into[ref.name] = ref if existing is None else merge_ref(existing, ref)


def merge_constraints(into: dict[str, Constraint], constraints: tuple[Constraint, ...]) -> None:
    for constraint in constraints:
        into[constraint.name] = constraint
