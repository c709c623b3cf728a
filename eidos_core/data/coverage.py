"""A recipe data set described in Markdown: its components, its overlays, and which overlays
each service × accelerator × intent × OS combination gets (``eidos-cli data coverage``).

Everything is computed from a loaded :class:`RecipeStore` — the coverage tables by running the
real matcher (:func:`build_recipe`) for every combination — so new overlays show up without
touching this module. The output is deterministic (sorted, no timestamps): the README's
"Recipe data" section is this text, and a test fails when the two drift apart.
``splice`` puts the text between the README's markers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from eidos_core.errors import InvalidRequestError, RecipeBuildError
from eidos_core.recipe.build import BASE, build_recipe
from eidos_core.recipe.criteria import ACCELERATORS, ANY, INTENTS, OS_TYPES, SERVICES, Criteria
from eidos_core.recipe.model import KUSTOMIZE, ComponentRef, RecipeMetadata, RecipeStore, RegistryComponent

COMMAND = "eidos-cli data coverage"
BEGIN = f"<!-- BEGIN GENERATED: {COMMAND} -->"
END = f"<!-- END GENERATED: {COMMAND} -->"
NONE = "—"

# ---------------------------------------------------------------------------------------------
# Markdown pieces


def code(text: str) -> str:
    """``text`` as a code span that survives a table cell (``|`` escaped, as GFM tables want)."""
    escaped = text.replace("|", "\\|")
    return f"`` {escaped} ``" if "`" in text else f"`{escaped}`"


def prose(text: str) -> str:
    """Free text (a comment, an error) for a table cell: one line, ``|`` escaped everywhere and
    ``<`` outside code spans, so a comment's ``<name>`` shows instead of vanishing as a tag."""
    parts = re.split(r"(`+[^`]*`+)", " ".join(text.split()))
    # Odd parts are the code spans the split kept.
    return "".join((p if i % 2 else p.replace("<", "&lt;")).replace("|", "\\|") for i, p in enumerate(parts))


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub table; an empty cell shows as ``—`` so no row looks cut short."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(cell or NONE for cell in row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def summary(store: RecipeStore, recipe: RecipeMetadata) -> str:
    """The first sentence of the file's leading ``#`` comment (the YAML loader drops comments,
    so the raw file is read); empty when the file starts with no comment."""
    words: list[str] = []
    for line in store.files.get(recipe.file, b"").decode(errors="replace").splitlines():
        if not line.startswith("#"):
            break
        words.append(line.lstrip("#").strip())
    text = " ".join(w for w in words if w)
    match = re.match(r"(.*?[.!?])(?:\s|$)", text)
    return match.group(1) if match else text


# ---------------------------------------------------------------------------------------------
# Components


def _recipes(store: RecipeStore) -> list[RecipeMetadata]:
    """The base, then the overlays by name: the order every table lists them in."""
    return [store.base, *(store.overlays[name] for name in sorted(store.overlays))]


def _own_ref(recipe: RecipeMetadata, name: str) -> ComponentRef | None:
    return next((r for r in recipe.component_refs if r.name == name), None)


def _inherited(store: RecipeStore, recipe: RecipeMetadata) -> set[str]:
    """Components a recipe finds already present: the base's and its ancestors' (none for the base)."""
    if recipe is store.base:
        return set()
    names = {r.name for r in store.base.component_refs}
    for ancestor in store.chains[recipe.name][:-1]:
        names.update(r.name for r in store.overlays[ancestor].component_refs)
    return names


def _adds(store: RecipeStore, recipe: RecipeMetadata, name: str) -> bool:
    return _own_ref(recipe, name) is not None and name not in _inherited(store, recipe)


def _version(ref: ComponentRef, comp: RegistryComponent | None) -> str:
    if comp is not None and (ref.type or comp.type) == KUSTOMIZE:
        return ref.tag
    return ref.version


def _default_version(comp: RegistryComponent | None) -> str:
    if comp is None:
        return ""
    return comp.kustomize_tag if comp.type == KUSTOMIZE else comp.helm_version


def _variants(
    store: RecipeStore, name: str, pick: Callable[[ComponentRef], str], default: str
) -> list[tuple[str, list[str]]]:
    """Each distinct value of one setting of component ``name`` with the recipes that give it:
    the base's first, then every overlay that adds the component or sets a different value."""
    found: dict[str, list[str]] = {}
    base_ref = _own_ref(store.base, name)
    base_value = (pick(base_ref) or default) if base_ref is not None else None
    if base_value is not None:
        found[base_value] = [BASE]
    for recipe in _recipes(store)[1:]:
        ref = _own_ref(recipe, name)
        if ref is None:
            continue
        value = pick(ref) or (default if _adds(store, recipe, name) else "")
        if value and value != base_value:
            found.setdefault(value, []).append(recipe.name)
    return list(found.items())


def _show_variants(variants: list[tuple[str, list[str]]]) -> str:
    if len(variants) == 1:
        return code(variants[0][0]) if variants[0][0] else NONE
    return "<br>".join(f"{code(value) if value else NONE} ({', '.join(who)})" for value, who in variants)


def _chart(comp: RegistryComponent | None, store: RecipeStore, name: str) -> str:
    if comp is None:
        return NONE
    if comp.type == KUSTOMIZE:
        where = f"{code(comp.kustomize_path)} from " if comp.kustomize_path else ""
        sources = _variants(store, name, lambda r: r.source, comp.kustomize_source)
        return where + _show_variants(sources or [(comp.kustomize_source, [])])
    sources = _variants(store, name, lambda r: r.source, comp.helm_repository)
    return f"{code(comp.helm_chart or name)} from {_show_variants(sources or [(comp.helm_repository, [])])}"


def _brought_in_by(store: RecipeStore, name: str) -> list[str]:
    """Overlays whose recipe gains the component: those adding it and their descendants."""
    adders = {r.name for r in _recipes(store)[1:] if _adds(store, r, name)}
    return sorted(o for o, chain in store.chains.items() if adders.intersection(chain))


def component_rows(store: RecipeStore) -> list[list[str]]:
    """One row per component named by the registry or any recipe, by name."""
    names = set(store.registry.components)
    for recipe in _recipes(store):
        names.update(r.name for r in recipe.component_refs)
    rows = []
    for name in sorted(names):
        comp = store.registry.get(name)
        versions = _variants(store, name, partial(_version, comp=comp), _default_version(comp))
        namespaces = _variants(store, name, lambda r: r.namespace, comp.namespace if comp else name)
        if _own_ref(store.base, name) is not None:
            used = "every recipe (base)"
        else:
            used = ", ".join(code(o) for o in _brought_in_by(store, name)) or "no recipe (registry only)"
        changed = [r.name for r in _recipes(store)[1:] if _own_ref(r, name) and not _adds(store, r, name)]
        rows.append(
            [
                code(name),
                _chart(comp, store, name),
                _show_variants(versions or [(_default_version(comp), [])]),
                _show_variants(namespaces or [(comp.namespace if comp else name, [])]),
                used,
                ", ".join(code(o) for o in changed),
            ]
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Overlays


def _leaves(tree: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the values an ``overrides`` mapping sets."""
    out: list[str] = []
    for key in sorted(tree, key=str):
        path = f"{prefix}{key}"
        value = tree[key]
        if isinstance(value, Mapping) and value:
            out.extend(_leaves(value, path + "."))
        else:
            out.append(path)
    return out


def _change(store: RecipeStore, recipe: RecipeMetadata, ref: ComponentRef) -> str:
    """What one componentRef of ``recipe`` does, in a few words."""
    comp = store.registry.get(ref.name)
    if _adds(store, recipe, ref.name):
        version = _version(ref, comp) or _default_version(comp)
        return f"adds {code(ref.name)}" + (f" {code(version)}" if version else "")
    parts = []
    if _version(ref, comp):
        parts.append(f"version {code(_version(ref, comp))}")
    if ref.source:
        parts.append(f"source {code(ref.source)}")
    if ref.values_file:
        parts.append(f"values {code(ref.values_file.rsplit('/', 1)[-1])}")
    if ref.overrides:
        parts.append("sets " + ", ".join(code(p) for p in _leaves(ref.overrides)))
    if ref.manifest_files:
        parts.append("manifests " + ", ".join(code(m.rsplit("/", 1)[-1]) for m in ref.manifest_files))
    if ref.patches:
        parts.append("patches " + ", ".join(code(p.rsplit("/", 1)[-1]) for p in ref.patches))
    if ref.namespace:
        parts.append(f"namespace {code(ref.namespace)}")
    if ref.dependency_refs:
        parts.append("after " + ", ".join(code(d) for d in ref.dependency_refs))
    return f"{code(ref.name)}: " + ("; ".join(parts) or "listed")


def _criterion(value: str) -> str:
    return NONE if value == ANY else code(value)


def overlay_rows(store: RecipeStore) -> tuple[list[str], list[list[str]]]:
    """The Overlays table; a ``nodes`` column only when some overlay matches on node count."""
    with_nodes = any(o.criteria is not None and o.criteria.nodes for o in store.overlays.values())
    header = ["overlay", "service", "accelerator", "intent", "os", *(["nodes"] if with_nodes else [])]
    header += ["base", "components", "constraints", "summary"]
    rows = []
    for recipe in _recipes(store):
        crit = recipe.criteria or Criteria()
        criteria = [_criterion(v) for v in (crit.service, crit.accelerator, crit.intent, crit.os)]
        if with_nodes:
            criteria.append(str(crit.nodes) if crit.nodes else NONE)
        name = code(recipe.name)
        if recipe.name != BASE and recipe.criteria is None:
            name += " (parent only)"
        rows.append(
            [
                name,
                *criteria,
                code(recipe.base) if recipe.base else NONE,
                "<br>".join(_change(store, recipe, ref) for ref in recipe.component_refs),
                "<br>".join(code(f"{c.name}: {c.value}") for c in recipe.constraints),
                prose(summary(store, recipe)),
            ]
        )
    return header, rows


# ---------------------------------------------------------------------------------------------
# Coverage


def applied(store: RecipeStore, query: Criteria) -> tuple[str, ...]:
    """The overlays beyond the base that a query gets, in the order applied (the real matcher)."""
    return build_recipe(store, query).applied_overlays[1:]


def _dedicated(store: RecipeStore, name: str) -> bool:
    """Written for a combination: criteria on two or more fields."""
    criteria = store.overlays[name].criteria
    return criteria is not None and criteria.specificity >= 2


def _cell(store: RecipeStore, query: Criteria, shown: set[str]) -> str:
    """The overlays ``query`` gets, dedicated ones in bold; records them in ``shown``."""
    try:
        names = applied(store, query)
    except RecipeBuildError as exc:
        return f"does not resolve: {prose(exc.message)}"
    shown.update(names)
    parts = [f"**{code(n)}**" if _dedicated(store, n) else code(n) for n in names]
    return ", ".join(parts) or "base only"


def _by_accelerator(store: RecipeStore, shown: set[str]) -> str:
    services = (*SERVICES, ANY)
    return table(
        ["service", "accelerator", *INTENTS],
        (
            [code(s), code(a), *(_cell(store, Criteria(s, a, i, ANY), shown) for i in INTENTS)]
            for s in services
            for a in (*ACCELERATORS, ANY)
        ),
    )


def _by_os(store: RecipeStore, shown: set[str]) -> str:
    services = (*SERVICES, ANY)
    return table(
        ["os", *(code(s) for s in services)],
        ([code(o), *(_cell(store, Criteria(s, ANY, ANY, o), shown) for s in services)] for o in OS_TYPES),
    )


def _query_row(store: RecipeStore, query: Criteria, shown: set[str], nodes: bool) -> list[str]:
    values = [code(v) for v in (query.service, query.accelerator, query.intent, query.os)]
    return [*values, *([str(query.nodes or NONE)] if nodes else []), _cell(store, query, shown)]


def _leftovers(store: RecipeStore, shown: set[str]) -> list[str]:
    """Overlays neither table shows: those with criteria (each queried with its own criteria),
    then those nothing applies."""
    hidden = [n for n in sorted(store.overlays) if n not in shown]
    queries = [c for c in (store.overlays[n].criteria for n in hidden) if c is not None]
    parents = {p for chain in store.chains.values() for p in chain[:-1]}
    unused = [n for n in hidden if store.overlays[n].criteria is None and n not in parents]
    out: list[str] = []
    if queries:
        nodes = any(q.nodes for q in queries)
        header = ["service", "accelerator", "intent", "os", *(["nodes"] if nodes else []), "overlays"]
        out.append("Combinations the tables above leave at `any` (one query per such overlay's criteria):\n")
        out.append(table(header, (_query_row(store, q, shown, nodes) for q in queries)))
    if unused:
        listed = ", ".join(code(n) for n in unused)
        out.append(f"Never applied (no criteria, and no overlay names it as its base): {listed}.\n")
    return out


def coverage(store: RecipeStore) -> str:
    """The Coverage part: two tables from the matcher, then any overlay neither table shows
    (so an overlay on, say, accelerator + OS is never silently missing)."""
    shown: set[str] = set()
    by_accelerator = _by_accelerator(store, shown)
    by_os = _by_os(store, shown)
    out = [
        "### Coverage\n",
        "What a query gets on top of `base`, computed with the recipe matcher, in the order the overlays "
        "apply (a later one wins where two set the same value). **Bold**: an overlay written for a "
        "combination (criteria on two or more fields); the others apply to every query with that one "
        "service, accelerator, intent or OS. `any` is a field the query leaves unset.\n",
        "Service × accelerator × intent, any OS:\n",
        by_accelerator,
        "OS × service, any accelerator and intent:\n",
        by_os,
        *_leftovers(store, shown),
    ]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# The whole text


def markdown(store: RecipeStore) -> str:
    """The generated part of the README's "Recipe data" section, for ``store``."""
    header, rows = overlay_rows(store)
    return "\n".join(
        [
            "### Components\n",
            "Chart and version as the recipes install them (the registry's defaults where a recipe "
            "names none); *brought in by* lists the overlays whose recipes gain the component.\n",
            table(["component", "chart", "version", "namespace", "brought in by", "changed by"], component_rows(store)),
            "### Overlays\n",
            "Criteria `—` match any value. *base* is the overlay applied first as this one's parent; "
            "the summary is the first sentence of the file's leading comment.\n",
            table(header, rows),
            coverage(store),
        ]
    )


def splice(document: str, generated: str, *, where: str = "the document") -> str:
    """``document`` with the text between the BEGIN/END markers replaced by ``generated``."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise InvalidRequestError(f"{where} has no {BEGIN} … {END} markers (in this order)")
    head = document[: start + len(BEGIN)]
    return f"{head}\n{generated}{document[end:]}"


def generated_part(document: str) -> str:
    """The text between the markers (what :func:`splice` wrote), for drift checks."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise InvalidRequestError(f"no {BEGIN} … {END} markers (in this order)")
    return document[start + len(BEGIN) + 1 : end]
