"""The two kinds of document ``diff`` compares, and what a difference is for each.

Snapshots (drift): every reading as ``Type/subtype/key`` and every metadata entry as
``metadata/key``, compared as text (Go's ``%v``: a reading written ``8`` or ``"8"`` is the same
reading). A subtype listed twice under one type counts once, the first, as
:meth:`Snapshot.lookup` and ``validate`` read it. A subtype's ``context`` describes the reading
and is not compared.

Recipes (an upgrade): ``metadata/…`` (appliedOverlays, …), ``criteria/<field>``,
``constraints/<name>`` (its value), ``componentRefs/<name>`` for a component added or removed
(its version, or its tag), and for a component in both each field that differs —
``componentRefs/<name>/version``, ``…/valuesFile``, ``…/manifestFiles``, … — then
``deploymentOrder`` (the whole list). Values compare with their type
(:func:`eidos_core.diff.paths.same_value`).

Helm values, two ways:

* given each component's merged values (``values=``, from :func:`merged_values`: what
  ``query --selector componentRefs.<name>.values`` answers — values file(s) from the recipe
  data, then the recipe's overrides), each leaf as ``componentRefs/<name>/values/<dotted.path>``.
  These are the values deployed, so a values file whose contents changed under one name shows,
  and an override that sets what the file already has does not. The ``overrides`` field is then
  not compared on its own: every effective change to it is a change of the merged values.
* without them (the recipe documents alone), the recipe's overrides as
  ``componentRefs/<name>/overrides/<dotted.path>``; a values file's contents are not in a
  recipeResult, so only a changed file name shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eidos_core.codec import scalar_text
from eidos_core.diff.model import DEFAULT_IGNORES, Change, ChangeKind, Diff
from eidos_core.diff.paths import Flat, check_patterns, compare, drop_ignored, flatten_values
from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.model import RESULT_KIND, Recipe, Registry
from eidos_core.recipe.query import hydrate
from eidos_core.snapshot.model import SNAPSHOT_KIND, Snapshot
from eidos_core.yaml import plain

SNAPSHOT = SNAPSHOT_KIND
RECIPE = RESULT_KIND
SUBJECTS = (SNAPSHOT, RECIPE)

# Component name → its merged Helm values (see merged_values).
ComponentValues = Mapping[str, Mapping[str, Any]]

# Sections of a recipe's changes, in the order they are listed.
_RECIPE_SECTIONS = ("metadata", "criteria", "constraints", "componentRefs", "deploymentOrder")


def document_subject(doc: Any, *, source: str) -> str:
    """:data:`SNAPSHOT` or :data:`RECIPE`, by ``kind`` (any case) or, without one, by the
    document's list: ``measurements`` or ``componentRefs``."""
    if not isinstance(doc, Mapping):
        raise InvalidRequestError(f"{source}: not a Snapshot or recipeResult document (not a mapping)")
    fields = {str(plain(k)).lower(): v for k, v in doc.items()}
    kind = plain(fields.get("kind"))
    if kind is not None:
        text = scalar_text(kind).strip()
        for subject in SUBJECTS:
            if text.lower() == subject.lower():
                return subject
        raise InvalidRequestError(
            f"{source}: kind {text!r} cannot be compared (allowed: {', '.join(SUBJECTS)})",
            details={"field": "kind", "value": text, "allowed": list(SUBJECTS)},
        )
    if "measurements" in fields:
        return SNAPSHOT
    if "componentrefs" in fields:
        return RECIPE
    raise InvalidRequestError(
        f"{source}: no kind, measurements or componentRefs: not a Snapshot or recipeResult document",
        details={"field": "kind", "allowed": list(SUBJECTS)},
    )


def _finish(subject: str, changes: list[Change], ignore: Sequence[str], order: Callable[[str], Any]) -> Diff:
    patterns = check_patterns(ignore)
    kept, ignored = drop_ignored(changes, patterns)
    return Diff(subject, tuple(sorted(kept, key=lambda c: order(c.path))), patterns, ignored)


# ---------------------------------------------------------------------------------------------
# Snapshots


def flatten_snapshot(snapshot: Snapshot) -> Flat:
    flat: Flat = {f"metadata/{key}": value for key, value in snapshot.metadata.items()}
    seen: set[tuple[str, str]] = set()
    for measurement in snapshot.measurements:
        for sub in measurement.subtypes:
            if (measurement.type, sub.name) in seen:
                continue
            seen.add((measurement.type, sub.name))
            for key, value in sub.data.items():
                flat[f"{measurement.type}/{sub.name}/{key}"] = value
    return flat


def _same_reading(a: Any, b: Any) -> bool:
    return scalar_text(a) == scalar_text(b)


def _snapshot_order(path: str) -> tuple[int, list[str]]:
    return (0 if path.startswith("metadata/") else 1, path.split("/", 2))


def diff_snapshots(old: Snapshot, new: Snapshot, *, ignore: Sequence[str] = DEFAULT_IGNORES) -> Diff:
    """Drift from ``old`` to ``new``: readings added, removed and changed."""
    changes = compare(flatten_snapshot(old), flatten_snapshot(new), same=_same_reading)
    return _finish(SNAPSHOT, changes, ignore, _snapshot_order)


# ---------------------------------------------------------------------------------------------
# Recipes


def _constraints(items: Sequence[Mapping[str, Any]]) -> Flat:
    flat: Flat = {}
    for item in items:
        path = base = f"constraints/{item['name']}"
        n = 1
        while path in flat:  # a name listed twice: each occurrence is its own entry
            n += 1
            path = f"{base}#{n}"
        flat[path] = item.get("value", "")
    return flat


def flatten_recipe(doc: Mapping[str, Any]) -> Flat:
    """A recipeResult document without its components (see :func:`_component_changes`)."""
    flat: Flat = {f"metadata/{k}": v for k, v in (doc.get("metadata") or {}).items()}
    flat |= {f"criteria/{k}": v for k, v in (doc.get("criteria") or {}).items()}
    flat |= _constraints(doc.get("constraints") or [])
    flat["deploymentOrder"] = list(doc.get("deploymentOrder") or [])
    return flat


def flatten_component(ref: Mapping[str, Any], values: Mapping[str, Any] | None = None) -> Flat:
    """One componentRef's fields by ``<field>``; with ``values`` (its merged values) those by
    ``values/<dotted.path>`` and no overrides, else its overrides by ``overrides/<dotted.path>``."""
    flat: Flat = {}
    for key, value in ref.items():
        if key == "overrides":
            if values is None:
                flat |= {f"overrides/{path}": v for path, v in flatten_values(value).items()}
        elif key != "name":
            flat[key] = value
    if values is not None:
        flat |= {f"values/{path}": v for path, v in flatten_values(values).items()}
    return flat


def _label(ref: Mapping[str, Any]) -> str:
    return str(ref.get("version") or ref.get("tag") or "")


def _component_changes(
    old: Sequence[Mapping[str, Any]],
    new: Sequence[Mapping[str, Any]],
    values: tuple[ComponentValues, ComponentValues] | None,
) -> list[Change]:
    before = {ref["name"]: ref for ref in old}
    after = {ref["name"]: ref for ref in new}
    changes: list[Change] = []
    for name, ref in before.items():
        prefix = f"componentRefs/{name}"
        if name not in after:
            changes.append(Change(prefix, ChangeKind.REMOVED, old=_label(ref)))
            continue
        a = flatten_component(ref, None if values is None else values[0].get(name, {}))
        b = flatten_component(after[name], None if values is None else values[1].get(name, {}))
        for change in compare(a, b):
            changes.append(Change(f"{prefix}/{change.path}", change.kind, change.old, change.new))
    changes += [
        Change(f"componentRefs/{n}", ChangeKind.ADDED, new=_label(r)) for n, r in after.items() if n not in before
    ]
    return changes


def merged_values(recipe: Recipe, files: Mapping[str, bytes], registry: Registry) -> dict[str, dict[str, Any]]:
    """Each component's merged Helm values with the recipe data ``files``, exactly as
    ``query --selector componentRefs.<name>.values`` answers them (:func:`hydrate`). A values
    file the recipe names but ``files`` lacks is a :class:`~eidos_core.errors.NotFoundError`
    naming it."""
    return {name: ref["values"] for name, ref in hydrate(recipe, files, registry)["componentRefs"].items()}


def _recipe_order(path: str) -> tuple[int, list[str]]:
    section = path.split("/", 1)[0]
    rank = _RECIPE_SECTIONS.index(section) if section in _RECIPE_SECTIONS else len(_RECIPE_SECTIONS)
    return (rank, path.split("/"))


def diff_recipes(
    old: Recipe,
    new: Recipe,
    *,
    ignore: Sequence[str] = DEFAULT_IGNORES,
    values: tuple[ComponentValues, ComponentValues] | None = None,
) -> Diff:
    """What moving from recipe ``old`` to recipe ``new`` changes in a cluster; ``values`` is
    (old's, new's) merged values by component (:func:`merged_values`), ``None`` to compare the
    documents alone (overrides rather than values: see the module's docstring)."""
    a, b = old.to_document(), new.to_document()
    changes = compare(flatten_recipe(a), flatten_recipe(b))
    changes += _component_changes(a.get("componentRefs") or [], b.get("componentRefs") or [], values)
    return _finish(RECIPE, changes, ignore, _recipe_order)
