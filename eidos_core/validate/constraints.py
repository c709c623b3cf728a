"""The ``constraints`` of a recipe document, read tolerantly, and those of the accelerator
overlays snapshot mode left out of it (``metadata.excludedAcceleratorOverlays``).

Accepts what ``recipe_to_document`` writes and what the Go reference writes: other fields are
ignored, field names also match case-insensitively (Go's JSON decoding does), and a missing
``name``/``value`` becomes ``""`` so the constraint is reported as skipped rather than
aborting the whole run. Only shapes that cannot be a constraint are errors, naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.model import Constraint
from eidos_core.recipe.result import RESULT_KIND
from eidos_core.snapshot.model import reading_text
from eidos_core.yaml import Scalar, plain

# Kinds a recipe document may declare; anything else is most likely a swapped argument.


def _field(mapping: Mapping[Any, Any], name: str) -> Any:
    if name in mapping:
        return mapping[name]
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == name:
            return value
    return None


def _text(value: Any, source: str, field: str) -> str:
    if isinstance(value, Scalar):  # read in raw mode: the text as written (``22.10``, not 22.1)
        return "" if value.value is None else value.text
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    # An unquoted YAML scalar (``value: 24.04``) still means its text.
    if isinstance(value, bool | int | float):
        return reading_text(value)
    raise InvalidRequestError(
        f"{source}: {field} must be a string, got {type(value).__name__}", details={"field": field}
    )


def constraints_from_document(doc: Any, *, source: str = "recipe") -> tuple[Constraint, ...]:
    """The constraints in document order (duplicates kept: each is evaluated on its own)."""
    if not isinstance(doc, Mapping):
        raise InvalidRequestError(f"{source}: a recipe must be a mapping, got {type(doc).__name__}")
    kind = plain(_field(doc, "kind"))
    # Matched loosely, as the bundler does: older reference builds wrote ``RecipeResult``.
    if kind is not None and str(kind).lower() != RESULT_KIND.lower():
        raise InvalidRequestError(
            f"{source}: kind must be recipeResult, got {kind!r}"
            + (" (are --recipe and --snapshot swapped?)" if kind == "Snapshot" else ""),
            details={"field": "kind"},
        )
    raw = _field(doc, "constraints")
    if isinstance(raw, Scalar):
        raw = raw.value
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidRequestError(
            f"{source}: constraints must be a list of {{name, value}}, got {type(raw).__name__}",
            details={"field": "constraints"},
        )
    out: list[Constraint] = []
    for i, item in enumerate(raw):
        where = f"constraints[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidRequestError(
                f"{source}: {where} must be a mapping with name and value, got {type(item).__name__}",
                details={"field": where},
            )
        name = _text(_field(item, "name"), source, f"{where}.name")
        value = _text(_field(item, "value"), source, f"{where}.value")
        out.append(Constraint(name, value))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ExcludedConstraint:
    """A constraint of an accelerator overlay that snapshot mode left out of the recipe."""

    overlay: str
    constraint: Constraint


def _list(value: Any, source: str, field: str) -> list[Any]:
    if isinstance(value, Scalar):
        value = value.value
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequestError(
            f"{source}: {field} must be a list, got {type(value).__name__}", details={"field": field}
        )
    return value


def excluded_constraints_from_document(doc: Any, *, source: str = "recipe") -> tuple[ExcludedConstraint, ...]:
    """The ``constraintWarnings`` of the overlays in ``metadata.excludedAcceleratorOverlays``.

    The recipe lacks those overlays, so their constraints are not in ``constraints``; ``validate``
    checks them too, so such a recipe never passes on a cluster that still fails them (issue 11).
    Order as in the document; a recipe without the field (any other recipe) gives ``()``.
    """
    if not isinstance(doc, Mapping):
        return ()
    meta = _field(doc, "metadata")
    if isinstance(meta, Scalar):
        meta = meta.value
    if not isinstance(meta, Mapping):  # validate never read metadata before: stay as tolerant
        return ()
    names = _list(_field(meta, "excludedacceleratoroverlays"), source, "metadata.excludedAcceleratorOverlays")
    dropped = {_text(n, source, f"metadata.excludedAcceleratorOverlays[{i}]") for i, n in enumerate(names)}
    if not dropped:
        return ()
    out: list[ExcludedConstraint] = []
    for i, item in enumerate(_list(_field(meta, "constraintwarnings"), source, "metadata.constraintWarnings")):
        where = f"metadata.constraintWarnings[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidRequestError(
                f"{source}: {where} must be a mapping, got {type(item).__name__}", details={"field": where}
            )
        overlay = _text(_field(item, "overlay"), source, f"{where}.overlay")
        if overlay not in dropped:
            continue
        name = _text(_field(item, "constraint"), source, f"{where}.constraint")
        expected = _text(_field(item, "expected"), source, f"{where}.expected")
        out.append(ExcludedConstraint(overlay, Constraint(name, expected)))
    return tuple(out)
