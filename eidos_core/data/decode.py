"""Decode recipe-metadata and registry documents into model objects, collecting problems.

Documents are read in raw mode (:class:`eidos_core.yaml.Scalar`), so string fields keep the
literal text (``version: 1.10`` stays ``"1.10"``) and problems carry line numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eidos_core import API_VERSION
from eidos_core.errors import CriteriaError, Problem
from eidos_core.recipe.criteria import FIELDS, Criteria, parse_field, parse_nodes
from eidos_core.recipe.model import (
    COMPONENT_TYPES,
    ComponentRef,
    Constraint,
    NodeSchedulingPaths,
    RecipeMetadata,
    RegistryComponent,
    ValueReference,
)
from eidos_core.yaml import Scalar, plain

METADATA_KIND = "recipeMetadata"
REGISTRY_KIND = "ComponentRegistry"
CONSTRAINT_TYPES = ("K8s", "OS", "GPU", "SystemD")
CONSTRAINT_NAME = re.compile(r"^[A-Za-z0-9]+\.[A-Za-z0-9_/.-]+\.[A-Za-z0-9_/.-]+$")
OPERATORS = (">=", "<=", "!=", "==", ">", "<")
NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
# A Kubernetes namespace name: a DNS-1123 label.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_LABEL_MAX = 63
REFERENCE_FIELDS = ("{namespace}", "{release}", "{component}")

_REF_KEYS = (
    "name", "type", "source", "version", "tag", "path", "valuesFile",
    "overrides", "patches", "dependencyRefs", "manifestFiles", "namespace",
)  # fmt: skip


class Decoder:
    """Typed access to one raw document; every complaint becomes a :class:`Problem`."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, field: str, message: str, value: Any = None) -> None:
        line = value.line if isinstance(value, Scalar) else None
        self.problems.append(Problem(self.file, field, message, line))

    def mapping(self, value: Any, field: str, *, allowed: Sequence[str] | None = None) -> dict[str, Any]:
        if value is None or (isinstance(value, Scalar) and value.value is None):
            return {}
        if not isinstance(value, dict):
            self.problem(field, "must be a mapping", value)
            return {}
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(plain(key))
            if allowed is not None and name not in allowed:
                where = f"{field}.{name}" if field else name
                self.problem(where, f"unknown field (allowed: {', '.join(allowed)})", key)
                continue
            out[name] = item
        return out

    def sequence(self, value: Any, field: str) -> list[Any]:
        if value is None or (isinstance(value, Scalar) and value.value is None):
            return []
        if not isinstance(value, list):
            self.problem(field, "must be a list", value)
            return []
        return value

    def text(self, value: Any, field: str, *, required: bool = False) -> str:
        if value is None:
            text = ""
        elif isinstance(value, Scalar):
            text = "" if value.value is None else value.text
        else:
            self.problem(field, "must be a string")
            return ""
        if required and not text.strip():
            self.problem(field, "is required", value)
        return text

    def texts(self, value: Any, field: str) -> tuple[str, ...]:
        items = [self.text(v, f"{field}[{i}]", required=True) for i, v in enumerate(self.sequence(value, field))]
        return tuple(i for i in items if i)

    def header(self, doc: dict[str, Any], kind: str) -> None:
        got_kind = self.text(doc.get("kind"), "kind", required=True)
        if got_kind and got_kind != kind:
            self.problem("kind", f"must be {kind!r}, got {got_kind!r}", doc.get("kind"))
        api = self.text(doc.get("apiVersion"), "apiVersion", required=True)
        if api and api != API_VERSION:
            self.problem("apiVersion", f"must be {API_VERSION!r}, got {api!r}", doc.get("apiVersion"))


def _criteria(d: Decoder, raw: Any) -> Criteria | None:
    if raw is None:
        return None
    spec = d.mapping(raw, "spec.criteria", allowed=(*FIELDS, "nodes"))
    values: dict[str, Any] = {}
    for field, allowed in FIELDS.items():
        text = d.text(spec.get(field), f"spec.criteria.{field}")
        try:
            values[field] = parse_field(field, text)
        except CriteriaError:
            d.problem(
                f"spec.criteria.{field}",
                f"invalid value {text!r} (allowed: {', '.join((*allowed, 'any'))})",
                spec.get(field),
            )
            values[field] = "any"
    nodes = spec.get("nodes")
    try:
        values["nodes"] = parse_nodes(plain(nodes) if nodes is not None else 0)
        if isinstance(plain(nodes), str):
            raise CriteriaError("nodes", str(plain(nodes)), ())
    except CriteriaError:
        d.problem("spec.criteria.nodes", "must be an integer >= 0", nodes)
        values["nodes"] = 0
    return Criteria(**values)


def check_constraint(d: Decoder, name: str, value: str, field: str, raw: Any) -> None:
    if not CONSTRAINT_NAME.match(name) or name.split(".", 1)[0] not in CONSTRAINT_TYPES:
        d.problem(
            f"{field}.name",
            f"invalid constraint name {name!r} "
            f"(want <Type>.<subtype>.<key>, Type one of {', '.join(CONSTRAINT_TYPES)})",
            raw,
        )
    stripped = value.strip()
    for op in OPERATORS:
        if stripped.startswith(op):
            if not stripped[len(op) :].strip():
                d.problem(f"{field}.value", f"operator {op!r} needs a value", raw)
            break


def _constraints(d: Decoder, raw: Any) -> tuple[Constraint, ...]:
    out: dict[str, Constraint] = {}
    for i, item in enumerate(d.sequence(raw, "spec.constraints")):
        field = f"spec.constraints[{i}]"
        m = d.mapping(item, field, allowed=("name", "value"))
        name = d.text(m.get("name"), f"{field}.name", required=True)
        value = d.text(m.get("value"), f"{field}.value", required=True)
        if not name:
            continue
        check_constraint(d, name, value, field, m.get("name"))
        if name in out:
            d.problem(f"{field}.name", f"duplicate constraint {name!r}", m.get("name"))
        out[name] = Constraint(name, value.strip())
    return tuple(out.values())


def _component_ref(d: Decoder, raw: Any, field: str) -> ComponentRef | None:
    m = d.mapping(raw, field, allowed=_REF_KEYS)
    name = d.text(m.get("name"), f"{field}.name", required=True)
    if not name:
        return None
    kind = d.text(m.get("type"), f"{field}.type")
    if kind and kind not in COMPONENT_TYPES:
        d.problem(f"{field}.type", f"invalid value {kind!r} (allowed: {', '.join(COMPONENT_TYPES)})", m.get("type"))
    overrides = plain(m.get("overrides"))
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, dict):
        d.problem(f"{field}.overrides", "must be a mapping")
        overrides = {}
    return ComponentRef(
        name=name,
        type=kind,
        source=d.text(m.get("source"), f"{field}.source"),
        version=d.text(m.get("version"), f"{field}.version"),
        tag=d.text(m.get("tag"), f"{field}.tag"),
        path=d.text(m.get("path"), f"{field}.path"),
        values_file=d.text(m.get("valuesFile"), f"{field}.valuesFile"),
        overrides=overrides,
        patches=d.texts(m.get("patches"), f"{field}.patches"),
        dependency_refs=d.texts(m.get("dependencyRefs"), f"{field}.dependencyRefs"),
        manifest_files=d.texts(m.get("manifestFiles"), f"{field}.manifestFiles"),
        namespace=_ref_namespace(d, m.get("namespace"), f"{field}.namespace"),
    )


def decode_metadata(raw: Any, file: str) -> tuple[RecipeMetadata | None, list[Problem]]:
    """A ``recipeMetadata`` document (base or overlay)."""
    d = Decoder(file)
    doc = d.mapping(raw, "", allowed=("kind", "apiVersion", "metadata", "spec"))
    if not doc:
        if not d.problems:
            d.problem("", "empty document")
        return None, d.problems
    d.header(doc, METADATA_KIND)
    meta = d.mapping(doc.get("metadata"), "metadata")
    name = d.text(meta.get("name"), "metadata.name", required=True)
    if name and not NAME.match(name):
        d.problem("metadata.name", f"invalid name {name!r} (letters, digits, '-', '.', '_')", meta.get("name"))
    spec = d.mapping(doc.get("spec"), "spec", allowed=("base", "criteria", "constraints", "componentRefs"))
    refs: dict[str, ComponentRef] = {}
    for i, item in enumerate(d.sequence(spec.get("componentRefs"), "spec.componentRefs")):
        ref = _component_ref(d, item, f"spec.componentRefs[{i}]")
        if ref is None:
            continue
        if ref.name in refs:
            d.problem(f"spec.componentRefs[{i}].name", f"duplicate component {ref.name!r}")
        refs[ref.name] = ref
    metadata = RecipeMetadata(
        name=name,
        file=file,
        base=d.text(spec.get("base"), "spec.base").strip(),
        criteria=_criteria(d, spec.get("criteria")),
        constraints=_constraints(d, spec.get("constraints")),
        component_refs=tuple(refs.values()),
    )
    return metadata, d.problems


def _scheduling(d: Decoder, raw: Any, field: str) -> NodeSchedulingPaths:
    m = d.mapping(raw, field, allowed=("nodeSelectorPaths", "tolerationPaths"))
    return NodeSchedulingPaths(
        node_selector_paths=d.texts(m.get("nodeSelectorPaths"), f"{field}.nodeSelectorPaths"),
        toleration_paths=d.texts(m.get("tolerationPaths"), f"{field}.tolerationPaths"),
    )


def _namespace(d: Decoder, raw: Any, field: str, name: str) -> str:
    """The component's namespace: given, else its name; either way a DNS-1123 label."""
    given = d.text(raw, field)
    value = given or name
    if value and (not DNS_LABEL.match(value) or len(value) > DNS_LABEL_MAX):
        why = f"{value!r} is not a DNS-1123 label (lowercase letters, digits, '-', at most 63)"
        d.problem(field, why if given else f"is required: the component name {why}", raw)
    return value


def _ref_namespace(d: Decoder, raw: Any, field: str) -> str:
    """A recipe's namespace override: absent, or a DNS-1123 label."""
    value = d.text(raw, field)
    if value and (not DNS_LABEL.match(value) or len(value) > DNS_LABEL_MAX):
        d.problem(field, f"{value!r} is not a DNS-1123 label (lowercase letters, digits, '-', at most 63)", raw)
    return value


def _references(d: Decoder, raw: Any, field: str) -> tuple[ValueReference, ...]:
    out = []
    for j, item in enumerate(d.sequence(raw, field)):
        where = f"{field}[{j}]"
        m = d.mapping(item, where, allowed=("path", "value", "component"))
        path = d.text(m.get("path"), f"{where}.path", required=True)
        value = d.text(m.get("value"), f"{where}.value", required=True)
        if path and any(not s for s in path.split(".")):
            d.problem(f"{where}.path", f"path {path!r} has an empty segment", m.get("path"))
        leftover = value
        for placeholder in REFERENCE_FIELDS:
            leftover = leftover.replace(placeholder, "")
        if "{" in leftover or "}" in leftover:
            d.problem(f"{where}.value", f"only {', '.join(REFERENCE_FIELDS)} may appear in braces", m.get("value"))
        if path and value:
            out.append(
                ValueReference(path=path, value=value, component=d.text(m.get("component"), f"{where}.component"))
            )
    return tuple(out)


def decode_registry(raw: Any, file: str) -> tuple[dict[str, RegistryComponent], list[Problem]]:
    """A ``ComponentRegistry`` document: components by name, in file order."""
    d = Decoder(file)
    doc = d.mapping(raw, "", allowed=("kind", "apiVersion", "metadata", "components"))
    if not doc:
        if not d.problems:
            d.problem("", "empty document")
        return {}, d.problems
    d.header(doc, REGISTRY_KIND)
    out: dict[str, RegistryComponent] = {}
    override_keys: dict[str, str] = {}
    for i, item in enumerate(d.sequence(doc.get("components"), "components")):
        field = f"components[{i}]"
        m = d.mapping(
            item, field,
            allowed=(
                "name", "displayName", "namespace", "valueOverrideKeys", "helm", "kustomize",
                "nodeScheduling", "valueReferences",
            ),
        )  # fmt: skip
        name = d.text(m.get("name"), f"{field}.name", required=True)
        display = d.text(m.get("displayName"), f"{field}.displayName") or name
        helm = d.mapping(
            m.get("helm"), f"{field}.helm", allowed=("defaultRepository", "defaultChart", "defaultVersion")
        )
        kust = d.mapping(
            m.get("kustomize"), f"{field}.kustomize", allowed=("defaultSource", "defaultPath", "defaultTag")
        )
        sched = d.mapping(m.get("nodeScheduling"), f"{field}.nodeScheduling", allowed=("system", "accelerated"))
        keys = d.texts(m.get("valueOverrideKeys"), f"{field}.valueOverrideKeys")
        comp = RegistryComponent(
            name=name,
            display_name=display,
            namespace=_namespace(d, m.get("namespace"), f"{field}.namespace", name),
            value_override_keys=keys,
            helm_repository=d.text(helm.get("defaultRepository"), f"{field}.helm.defaultRepository"),
            helm_chart=d.text(helm.get("defaultChart"), f"{field}.helm.defaultChart"),
            helm_version=d.text(helm.get("defaultVersion"), f"{field}.helm.defaultVersion"),
            kustomize_source=d.text(kust.get("defaultSource"), f"{field}.kustomize.defaultSource"),
            kustomize_path=d.text(kust.get("defaultPath"), f"{field}.kustomize.defaultPath"),
            kustomize_tag=d.text(kust.get("defaultTag"), f"{field}.kustomize.defaultTag"),
            system=_scheduling(d, sched.get("system"), f"{field}.nodeScheduling.system"),
            accelerated=_scheduling(d, sched.get("accelerated"), f"{field}.nodeScheduling.accelerated"),
            value_references=_references(d, m.get("valueReferences"), f"{field}.valueReferences"),
        )
        if not name:
            continue
        if (comp.helm_repository or comp.helm_chart) and comp.kustomize_source:
            d.problem(field, f"component {name!r} sets both helm and kustomize; choose one")
        if name in out:
            d.problem(f"{field}.name", f"duplicate component {name!r}", m.get("name"))
        for key in (name, *keys):
            other = override_keys.get(key)
            if other is not None and other != name:
                d.problem(f"{field}.valueOverrideKeys", f"key {key!r} is already used by component {other!r}")
            override_keys[key] = name
        out[name] = comp
    return out, d.problems
