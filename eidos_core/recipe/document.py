"""Reading a ``recipeResult`` document back (recipe-engine.md §9.4): what ``bundle`` and
``validate`` consume.

Tolerant like the reference: unknown fields are ignored, every key but ``componentRefs[].name``
is optional, and scalars in string fields keep their text (a hand-written ``version: 1.10``
stays ``"1.10"`` when the document was loaded in raw mode). Anything of the wrong shape is an
:class:`InvalidRequestError` that names the field, e.g. ``componentRefs[2].overrides``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eidos_core import API_VERSION
from eidos_core.errors import CriteriaError, InvalidRequestError
from eidos_core.recipe.build import ConstraintWarning
from eidos_core.recipe.criteria import FIELDS, Criteria, parse_field, parse_nodes
from eidos_core.recipe.model import ComponentRef, Constraint
from eidos_core.recipe.result import RESULT_KIND, result_document
from eidos_core.yaml import Scalar, plain


@dataclass(frozen=True, slots=True)
class RecipeDocument:
    """A recipe as a consumer sees it. ``criteria`` is ``None`` when the document has none."""

    version: str = ""
    applied_overlays: tuple[str, ...] = ()
    excluded_overlays: tuple[str, ...] = ()
    excluded_accelerator_overlays: tuple[str, ...] = ()
    constraint_warnings: tuple[ConstraintWarning, ...] = ()
    criteria: Criteria | None = None
    constraints: tuple[Constraint, ...] = ()
    component_refs: tuple[ComponentRef, ...] = ()
    deployment_order: tuple[str, ...] = ()

    def ref(self, name: str) -> ComponentRef | None:
        for ref in self.component_refs:
            if ref.name == name:
                return ref
        return None

    def to_document(self) -> dict[str, Any]:
        """The §9.4 field order again (unknown input fields are gone, as in the reference)."""
        return result_document(
            version=self.version,
            applied_overlays=self.applied_overlays,
            excluded_overlays=self.excluded_overlays,
            excluded_accelerator_overlays=self.excluded_accelerator_overlays,
            constraint_warnings=self.constraint_warnings,
            criteria=self.criteria,
            constraints=self.constraints,
            component_refs=self.component_refs,
            deployment_order=self.deployment_order,
        )


_CONTROL = re.compile("[\x00-\x1f\x7f]")


class _Reader:
    """Typed field access that turns every shape problem into one error naming the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, message: str) -> InvalidRequestError:
        return InvalidRequestError(f"{self.source}: {field}: {message}", details={"field": field})

    def mapping(self, value: Any, field: str) -> Mapping[Any, Any]:
        if _is_null(value):
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(field, f"must be a mapping, not {_kind(value)}")
        return value

    def sequence(self, value: Any, field: str) -> list[Any]:
        if _is_null(value):
            return []
        if not isinstance(value, list):
            raise self.fail(field, f"must be a list, not {_kind(value)}")
        return value

    def text(self, value: Any, field: str) -> str:
        text = self._text(value, field)
        # Names, versions and URLs end up in file names, comments and Chart.yaml lines: a line
        # break or other control character there could forge content, so refuse it here.
        if _CONTROL.search(text):
            raise self.fail(field, "must be a single line without control characters")
        return text

    def _text(self, value: Any, field: str) -> str:
        if isinstance(value, Scalar):
            return "" if value.value is None else value.text
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        # go-yaml decodes any scalar into a string field; keep that leniency for numbers/bools.
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float) and math.isfinite(value):
            return repr(value)
        raise self.fail(field, f"must be a string, not {_kind(value)}")

    def texts(self, value: Any, field: str) -> tuple[str, ...]:
        return tuple(self.text(item, f"{field}[{i}]") for i, item in enumerate(self.sequence(value, field)))


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, Scalar) and value.value is None)


def _kind(value: Any) -> str:
    value = plain(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _criteria(r: _Reader, value: Any) -> Criteria | None:
    if _is_null(value):
        return None
    raw = r.mapping(value, "criteria")
    fields: dict[str, str] = {}
    for name in FIELDS:
        text = r.text(raw.get(name), f"criteria.{name}")
        try:
            fields[name] = parse_field(name, text)
        except CriteriaError as exc:
            raise r.fail(f"criteria.{name}", exc.message) from None
    try:
        nodes = parse_nodes(plain(raw.get("nodes")))
    except CriteriaError as exc:
        raise r.fail("criteria.nodes", exc.message) from None
    return Criteria(nodes=nodes, **fields)


def _ref(r: _Reader, value: Any, field: str) -> ComponentRef:
    raw = r.mapping(value, field)
    name = r.text(raw.get("name"), f"{field}.name")
    if not name:
        raise r.fail(f"{field}.name", "required")
    overrides = plain(r.mapping(raw.get("overrides"), f"{field}.overrides"))
    return ComponentRef(
        name=name,
        type=r.text(raw.get("type"), f"{field}.type"),
        source=r.text(raw.get("source"), f"{field}.source"),
        version=r.text(raw.get("version"), f"{field}.version"),
        tag=r.text(raw.get("tag"), f"{field}.tag"),
        path=r.text(raw.get("path"), f"{field}.path"),
        values_file=r.text(raw.get("valuesFile"), f"{field}.valuesFile"),
        overrides=dict(overrides),
        patches=r.texts(raw.get("patches"), f"{field}.patches"),
        dependency_refs=r.texts(raw.get("dependencyRefs"), f"{field}.dependencyRefs"),
        manifest_files=r.texts(raw.get("manifestFiles"), f"{field}.manifestFiles"),
        namespace=r.text(raw.get("namespace"), f"{field}.namespace"),
    )


def _warning(r: _Reader, value: Any, field: str) -> ConstraintWarning:
    raw = r.mapping(value, field)
    actual = raw.get("actual")
    return ConstraintWarning(
        overlay=r.text(raw.get("overlay"), f"{field}.overlay"),
        constraint=r.text(raw.get("constraint"), f"{field}.constraint"),
        expected=r.text(raw.get("expected"), f"{field}.expected"),
        actual=None if _is_null(actual) else r.text(actual, f"{field}.actual"),
        reason=r.text(raw.get("reason"), f"{field}.reason"),
    )


def recipe_from_document(doc: Any, *, source: str = "recipe") -> RecipeDocument:
    """Parse a recipeResult (ours or the Go reference's); ``source`` prefixes error messages."""
    r = _Reader(source)
    if _is_null(doc):
        raise InvalidRequestError(f"{source}: empty document; expected a recipeResult")
    root = r.mapping(doc, "document")
    kind = r.text(root.get("kind"), "kind")
    # The kind is matched loosely: older reference builds wrote ``RecipeResult``.
    if kind and kind.lower() != RESULT_KIND.lower():
        raise r.fail("kind", f"expected {RESULT_KIND!r}, got {kind!r} (is this a recipe?)")
    api = r.text(root.get("apiVersion"), "apiVersion")
    if api and api != API_VERSION:
        raise r.fail("apiVersion", f"expected {API_VERSION!r}, got {api!r}")
    meta = r.mapping(root.get("metadata"), "metadata")
    refs = tuple(
        _ref(r, item, f"componentRefs[{i}]")
        for i, item in enumerate(r.sequence(root.get("componentRefs"), "componentRefs"))
    )
    seen: dict[str, int] = {}
    for i, ref in enumerate(refs):
        if ref.name in seen:
            raise r.fail(
                f"componentRefs[{i}].name", f"duplicate component {ref.name!r} (also componentRefs[{seen[ref.name]}])"
            )
        seen[ref.name] = i
    constraints = []
    for i, item in enumerate(r.sequence(root.get("constraints"), "constraints")):
        raw = r.mapping(item, f"constraints[{i}]")
        name = r.text(raw.get("name"), f"constraints[{i}].name")
        if not name:
            raise r.fail(f"constraints[{i}].name", "required")
        constraints.append(Constraint(name=name, value=r.text(raw.get("value"), f"constraints[{i}].value")))
    warnings = r.sequence(meta.get("constraintWarnings"), "metadata.constraintWarnings")
    return RecipeDocument(
        version=r.text(meta.get("version"), "metadata.version"),
        applied_overlays=r.texts(meta.get("appliedOverlays"), "metadata.appliedOverlays"),
        excluded_overlays=r.texts(meta.get("excludedOverlays"), "metadata.excludedOverlays"),
        excluded_accelerator_overlays=r.texts(
            meta.get("excludedAcceleratorOverlays"), "metadata.excludedAcceleratorOverlays"
        ),
        constraint_warnings=tuple(
            _warning(r, item, f"metadata.constraintWarnings[{i}]") for i, item in enumerate(warnings)
        ),
        criteria=_criteria(r, root.get("criteria")),
        constraints=tuple(constraints),
        component_refs=refs,
        deployment_order=r.texts(root.get("deploymentOrder"), "deploymentOrder"),
    )
