"""Plain, immutable data of recipe data sets — component refs, constraints, overlays, the
registry, the store — each declared once with its wire form (:mod:`eidos_core.codec`).

An attribute's ``wire(...)`` is its whole contract: the key in recipe data and recipeResult
documents, whether it is required, when it is written, how overlays merge it (as the reference
does: scalars replaced when set, ``overrides`` deep-merged, ``manifestFiles`` accumulated),
its authoring checks (run on recipe data only) and its OpenAPI description. Adding a field to
:class:`ComponentRef` is one line here. Nothing here does I/O; :mod:`eidos_core.data.load`
builds these from files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from eidos_core.codec import Emit, FreeMapping, Group, Header, ListOf, Merge, Nested, OptionalText, Text, encode, wire
from eidos_core.recipe.criteria import Criteria

HELM = "Helm"
KUSTOMIZE = "Kustomize"
COMPONENT_TYPES = (HELM, KUSTOMIZE)
METADATA_KIND = "recipeMetadata"
REGISTRY_KIND = "ComponentRegistry"
RESULT_KIND = "recipeResult"

# ---------------------------------------------------------------------------------------------
# Constraint syntax, shared by the data checks and the validator.

# Snapshot measurement types a constraint name starts with.
MEASUREMENT_TYPES = ("K8s", "GPU", "OS", "SystemD")


class Operator(StrEnum):
    GE = ">="
    LE = "<="
    NE = "!="
    EQ = "=="
    GT = ">"
    LT = "<"
    EXACT = ""

    @property
    def orders(self) -> bool:
        return self in (Operator.GE, Operator.LE, Operator.GT, Operator.LT)


# Prefix test order matters: two-character operators first.
OPERATORS: tuple[Operator, ...] = (Operator.GE, Operator.LE, Operator.NE, Operator.EQ, Operator.GT, Operator.LT)


def split_operator(text: str) -> tuple[Operator, str]:
    """A constraint value as (operator, operand), both trimmed; a bare value is ``EXACT``."""
    expr = text.strip()
    for op in OPERATORS:
        if expr.startswith(op.value):
            return op, expr[len(op.value) :].strip()
    return Operator.EXACT, expr


_CONSTRAINT_NAME = re.compile(r"^[A-Za-z0-9]+\.[A-Za-z0-9_/.-]+\.[A-Za-z0-9_/.-]+$")


def _constraint_name(name: str) -> str | None:
    if _CONSTRAINT_NAME.match(name) and name.split(".", 1)[0] in MEASUREMENT_TYPES:
        return None
    types = ", ".join(MEASUREMENT_TYPES)
    return f"invalid constraint name {name!r} (want <Type>.<subtype>.<key>, Type one of {types})"


def _constraint_value(value: str) -> str | None:
    if not value.strip():
        return "is required"
    op, operand = split_operator(value)
    return f"operator {op.value!r} needs a value" if op is not Operator.EXACT and not operand else None


# ---------------------------------------------------------------------------------------------
# Authoring checks of recipe data

# A Kubernetes namespace name: a DNS-1123 label.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_LABEL_MAX = 63
NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
REFERENCE_FIELDS = ("{namespace}", "{release}", "{component}")


def is_dns_label(value: str) -> bool:
    """``value`` can name a Kubernetes namespace (a DNS-1123 label of at most 63 characters)."""
    return len(value) <= DNS_LABEL_MAX and DNS_LABEL.fullmatch(value) is not None


def _dns_label(value: str) -> str | None:
    if not value or is_dns_label(value):
        return None
    return f"{value!r} is not a DNS-1123 label (lowercase letters, digits, '-', at most 63)"


def _component_type(value: str) -> str | None:
    if not value or value in COMPONENT_TYPES:
        return None
    return f"invalid value {value!r} (allowed: {', '.join(COMPONENT_TYPES)})"


def _recipe_name(value: str) -> str | None:
    return None if NAME.match(value) else f"invalid name {value!r} (letters, digits, '-', '.', '_')"


def _dotted_path(value: str) -> str | None:
    return f"path {value!r} has an empty segment" if any(not s for s in value.split(".")) else None


def _reference_value(value: str) -> str | None:
    leftover = value
    for placeholder in REFERENCE_FIELDS:
        leftover = leftover.replace(placeholder, "")
    if "{" in leftover or "}" in leftover:
        return f"only {', '.join(REFERENCE_FIELDS)} may appear in braces"
    return None


# ---------------------------------------------------------------------------------------------
# Recipes


def _names() -> ListOf:
    return ListOf(Text())


@dataclass(frozen=True, slots=True)
class ComponentRef:
    """One component of a recipe. ``overrides`` are Helm values; never mutate them.

    Declared in recipeResult order: name, type and source always
    written, the rest when set."""

    name: str = wire("name", required=True, emit=Emit.ALWAYS, merge=Merge.KEEP)
    type: str = wire("type", emit=Emit.ALWAYS, checks=(_component_type,), description="Helm or Kustomize.")
    source: str = wire("source", emit=Emit.ALWAYS, description="Helm repository, OCI reference or Git URL.")
    version: str = wire("version")
    tag: str = wire("tag")
    values_file: str = wire("valuesFile")
    overrides: Mapping[str, Any] = wire("overrides", FreeMapping(), merge=Merge.DEEP, description="Inline Helm values.")
    patches: tuple[str, ...] = wire("patches", _names())
    dependency_refs: tuple[str, ...] = wire("dependencyRefs", _names())
    manifest_files: tuple[str, ...] = wire("manifestFiles", _names(), merge=Merge.UNION)
    path: str = wire("path")
    # Where the bundle installs it; empty means the registry's namespace (the namespace plan).
    namespace: str = wire("namespace", checks=(_dns_label,), description="Install namespace; absent = the registry's.")


@dataclass(frozen=True, slots=True)
class Constraint:
    """``name`` is a ``Type.subtype.key`` path into a snapshot; ``value`` an optional operator + value."""

    name: str = wire("name", required=True, emit=Emit.ALWAYS, checks=(_constraint_name,), example="K8s.server.version")
    value: str = wire("value", Text(strip=True), emit=Emit.ALWAYS, checks=(_constraint_value,), example=">= 1.30")


@dataclass(frozen=True, slots=True)
class RecipeMetadata:
    """The base recipe or one overlay (a ``recipeMetadata`` document), as loaded: criteria
    normalised, chain not yet resolved. ``file`` is where it came from (not on the wire)."""

    HEADER: ClassVar[Header] = Header(METADATA_KIND, strict=True, required=True)
    GROUPS: ClassVar[Mapping[str, Group]] = {"metadata": Group(open=True), "spec": Group()}

    name: str = wire("name", group="metadata", required=True, checks=(_recipe_name,))
    file: str = ""
    base: str = wire("base", Text(strip=True), group="spec")
    criteria: Criteria | None = wire("criteria", Nested(Criteria, optional=True), group="spec")
    constraints: tuple[Constraint, ...] = wire(
        "constraints", ListOf(Nested(Constraint), unique="name", noun="constraint"), group="spec"
    )
    component_refs: tuple[ComponentRef, ...] = wire(
        "componentRefs", ListOf(Nested(ComponentRef), unique="name", noun="component"), group="spec"
    )


@dataclass(frozen=True, slots=True)
class ConstraintWarning:
    """Why snapshot mode left an overlay out: one of its constraints the cluster fails (or that
    cannot be checked: ``actual`` is None then)."""

    overlay: str = wire("overlay", emit=Emit.ALWAYS)
    constraint: str = wire("constraint", emit=Emit.ALWAYS)
    expected: str = wire("expected", Text(line=False), emit=Emit.ALWAYS)
    actual: str | None = wire("actual", OptionalText(line=False))
    reason: str = wire("reason", Text(line=False), emit=Emit.ALWAYS)


def _metadata(key: str, kind: Any = None, description: str = "") -> Any:
    return wire(key, kind or ListOf(Text()), group="metadata", description=description)


@dataclass(frozen=True, slots=True)
class Recipe:
    """A resolved recipe, as :func:`eidos_core.recipe.build.build_recipe` makes it and as the
    ``recipeResult`` document carries it (fields in the contract's order).

    Read tolerantly, like the reference: unknown fields are ignored, names match in any case,
    only ``componentRefs[].name`` is required; ``criteria`` is ``None`` when a document has
    none. ``excludedAcceleratorOverlays`` (snapshot mode, right after ``excludedOverlays``)
    names the accelerator overlays left out because the cluster fails their constraints and not
    merged as an ancestor either: hardware support the recipe lacks (issue 11).
    """

    HEADER: ClassVar[Header] = Header(RESULT_KIND, strict=False, fold_case=True)
    GROUPS: ClassVar[Mapping[str, Group]] = {"metadata": Group(schema_name="ResultMetadata")}
    SCHEMA_NAME: ClassVar[str] = "RecipeResult"

    version: str = _metadata("version", Text(), "Version of the producer (eidosd).")
    applied_overlays: tuple[str, ...] = _metadata("appliedOverlays", description="Overlays in merge order.")
    excluded_overlays: tuple[str, ...] = _metadata(
        "excludedOverlays", description="Snapshot mode: overlays left out because the cluster fails their constraints."
    )
    excluded_accelerator_overlays: tuple[str, ...] = _metadata(
        "excludedAcceleratorOverlays",
        description="Snapshot mode: the excluded overlays chosen by an accelerator and not merged as an ancestor "
        "either; validate keeps checking their constraints.",
    )
    constraint_warnings: tuple[ConstraintWarning, ...] = _metadata(
        "constraintWarnings", ListOf(Nested(ConstraintWarning))
    )
    criteria: Criteria | None = wire("criteria", Nested(Criteria, optional=True), emit=Emit.ALWAYS)
    constraints: tuple[Constraint, ...] = wire("constraints", ListOf(Nested(Constraint)))
    component_refs: tuple[ComponentRef, ...] = wire(
        "componentRefs", ListOf(Nested(ComponentRef), unique="name", noun="component"), emit=Emit.ALWAYS
    )
    deployment_order: tuple[str, ...] = wire("deploymentOrder", ListOf(Text()), emit=Emit.ALWAYS)

    def ref(self, name: str) -> ComponentRef | None:
        return next((r for r in self.component_refs if r.name == name), None)

    def to_document(self) -> dict[str, Any]:
        """The recipeResult document (unknown fields read are gone, as in the reference)."""
        return encode(self)


# ---------------------------------------------------------------------------------------------
# The registry


@dataclass(frozen=True, slots=True)
class NodeSchedulingPaths:
    node_selector_paths: tuple[str, ...] = wire("nodeSelectorPaths", _names())
    toleration_paths: tuple[str, ...] = wire("tolerationPaths", _names())


@dataclass(frozen=True, slots=True)
class ValueReference:
    """A value of this component that points at a component (itself when ``component`` is
    empty): set at bundle time at dotted ``path`` to ``value`` with ``{namespace}``,
    ``{release}`` and ``{component}`` replaced by the target's, so no namespace or service
    name is ever hard-coded in values files. Removed when the target is not in the bundle."""

    path: str = wire("path", required=True, checks=(_dotted_path,))
    value: str = wire("value", required=True, checks=(_reference_value,))
    component: str = wire("component")


def _one_installer(comp: RegistryComponent) -> Iterator[tuple[str, str]]:
    if (comp.helm_repository or comp.helm_chart) and comp.kustomize_source:
        yield "", f"component {comp.name!r} sets both helm and kustomize; choose one"


def _namespace_or_name(comp: RegistryComponent) -> Iterator[tuple[str, str]]:
    """The namespace (given, else the component name) must be a DNS-1123 label."""
    problem = _dns_label(comp.namespace or comp.name)
    if problem:
        yield "namespace", problem if comp.namespace else f"is required: the component name {problem}"


@dataclass(frozen=True, slots=True)
class RegistryComponent:
    CHECKS: ClassVar[tuple[Any, ...]] = (_namespace_or_name, _one_installer)
    GROUPS: ClassVar[Mapping[str, Group]] = {"helm": Group(), "kustomize": Group(), "nodeScheduling": Group()}

    name: str = wire("name", required=True)
    display_name: str = wire("displayName", fallback="name")
    namespace: str = wire("namespace", fallback="name")  # where the bundle installs it
    value_override_keys: tuple[str, ...] = wire("valueOverrideKeys", _names())
    helm_repository: str = wire("defaultRepository", group="helm")
    helm_chart: str = wire("defaultChart", group="helm")
    helm_version: str = wire("defaultVersion", group="helm")
    kustomize_source: str = wire("defaultSource", group="kustomize")
    kustomize_path: str = wire("defaultPath", group="kustomize")
    kustomize_tag: str = wire("defaultTag", group="kustomize")
    system: NodeSchedulingPaths = wire("system", Nested(NodeSchedulingPaths), group="nodeScheduling")
    accelerated: NodeSchedulingPaths = wire("accelerated", Nested(NodeSchedulingPaths), group="nodeScheduling")
    value_references: tuple[ValueReference, ...] = wire("valueReferences", ListOf(Nested(ValueReference)))

    @property
    def type(self) -> str:
        return KUSTOMIZE if self.kustomize_source else HELM


def _override_keys_unique(doc: RegistryDocument) -> Iterator[tuple[str, str]]:
    """A component's name and ``valueOverrideKeys`` select it in ``bundle --set``: no key may
    select two components."""
    owner: dict[str, str] = {}
    for i, comp in enumerate(doc.components):
        for key in (comp.name, *comp.value_override_keys):
            other = owner.setdefault(key, comp.name)
            if other != comp.name:
                yield f"components[{i}].valueOverrideKeys", f"key {key!r} is already used by component {other!r}"


@dataclass(frozen=True, slots=True)
class RegistryDocument:
    """``registry.yaml``: the components recipes refer to by name."""

    HEADER: ClassVar[Header] = Header(REGISTRY_KIND, strict=True, required=True)
    CHECKS: ClassVar[tuple[Any, ...]] = (_override_keys_unique,)

    metadata: Mapping[str, Any] = wire("metadata", FreeMapping(), emit=Emit.NEVER)
    components: tuple[RegistryComponent, ...] = wire(
        "components", ListOf(Nested(RegistryComponent), unique="name", noun="component")
    )


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
