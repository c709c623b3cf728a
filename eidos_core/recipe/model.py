"""Plain, immutable data of recipe data sets: component refs, overlays, the registry, the store.

Nothing here does I/O; :mod:`eidos_core.data.load` builds these from files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eidos_core.recipe.criteria import Criteria

HELM = "Helm"
KUSTOMIZE = "Kustomize"
COMPONENT_TYPES = (HELM, KUSTOMIZE)


@dataclass(frozen=True, slots=True)
class ComponentRef:
    """One component of a recipe. ``overrides`` are Helm values; never mutate them."""

    name: str
    type: str = ""
    source: str = ""
    version: str = ""
    tag: str = ""
    path: str = ""
    values_file: str = ""
    overrides: Mapping[str, Any] = field(default_factory=dict)
    patches: tuple[str, ...] = ()
    dependency_refs: tuple[str, ...] = ()
    manifest_files: tuple[str, ...] = ()
    # Where the bundle installs it; empty means the registry's namespace (the namespace plan).
    namespace: str = ""


@dataclass(frozen=True, slots=True)
class Constraint:
    """``name`` is a ``Type.subtype.key`` path into a snapshot; ``value`` an optional operator + value."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class RecipeMetadata:
    """The base recipe or one overlay, as loaded (criteria normalised, chain not yet resolved)."""

    name: str
    file: str
    base: str = ""
    criteria: Criteria | None = None
    constraints: tuple[Constraint, ...] = ()
    component_refs: tuple[ComponentRef, ...] = ()


@dataclass(frozen=True, slots=True)
class NodeSchedulingPaths:
    node_selector_paths: tuple[str, ...] = ()
    toleration_paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ValueReference:
    """A value of this component that points at a component (itself when ``component`` is
    empty): set at bundle time at dotted ``path`` to ``value`` with ``{namespace}``,
    ``{release}`` and ``{component}`` replaced by the target's, so no namespace or service
    name is ever hard-coded in values files. Removed when the target is not in the bundle."""

    path: str
    value: str
    component: str = ""


@dataclass(frozen=True, slots=True)
class RegistryComponent:
    name: str
    display_name: str
    namespace: str = ""  # where the bundle installs it; the decoder defaults it to ``name``
    value_override_keys: tuple[str, ...] = ()
    helm_repository: str = ""
    helm_chart: str = ""
    helm_version: str = ""
    kustomize_source: str = ""
    kustomize_path: str = ""
    kustomize_tag: str = ""
    system: NodeSchedulingPaths = field(default_factory=NodeSchedulingPaths)
    accelerated: NodeSchedulingPaths = field(default_factory=NodeSchedulingPaths)
    value_references: tuple[ValueReference, ...] = ()

    @property
    def type(self) -> str:
        return KUSTOMIZE if self.kustomize_source else HELM


@dataclass(frozen=True, slots=True)
class Registry:
    """Registry components by name, in file order."""

    components: Mapping[str, RegistryComponent] = field(default_factory=dict)

    def get(self, name: str) -> RegistryComponent | None:
        return self.components.get(name)


@dataclass(frozen=True, slots=True)
class RecipeStore:
    """A complete, validated recipe data set. Consumers treat it as read-only.

    ``ordered`` holds the overlays that have criteria, sorted by (specificity, name); ``index``
    maps each criteria key to its overlays so a query looks up at most 32 keys instead of
    scanning every overlay. ``chains`` holds each overlay's inheritance chain (root excluded).
    """

    base: RecipeMetadata
    overlays: Mapping[str, RecipeMetadata]
    registry: Registry
    files: Mapping[str, bytes]
    version: str
    source: str
    chains: Mapping[str, tuple[str, ...]]
    index: Mapping[tuple[str, str, str, str, int], tuple[str, ...]]
    rank: Mapping[str, int]
