"""Assemble a validated :class:`RecipeStore` from a set of files (relative path → bytes).

Layout: ``registry.yaml``; ``overlays/*.yaml`` (``overlays/base.yaml`` is the base);
``components/<name>/...`` (values files and manifests, kept as bytes). Everything is checked
before a store exists, and every problem is reported with its file and field — a store that
loads can answer every query its overlays were written for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from eidos_core.codec import decode_all
from eidos_core.errors import Problem, RecipeBuildError, RecipeDataError
from eidos_core.recipe.build import BASE
from eidos_core.recipe.match import sort_key
from eidos_core.recipe.merge import merge_refs
from eidos_core.recipe.model import (
    ComponentRef,
    RecipeMetadata,
    RecipeStore,
    Registry,
    RegistryComponent,
    RegistryDocument,
)
from eidos_core.recipe.order import deployment_order
from eidos_core.yaml import YamlSyntaxError, load

REGISTRY_FILE = "registry.yaml"
BASE_FILE = "overlays/base.yaml"
OVERLAY_DIR = "overlays/"
COMPONENT_DIR = "components/"


def content_version(files: Mapping[str, bytes]) -> str:
    """A short hash of the whole data set: equal data, equal version, on every replica."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(files[path]).digest())
    return digest.hexdigest()[:12]


def _parse(path: str, data: bytes, problems: list[Problem]) -> object:
    try:
        return load(data, source=path, raw=True)
    except YamlSyntaxError as exc:
        problems.append(Problem(path, "", exc.reason, exc.line))
        return None


def _chain(name: str, overlays: Mapping[str, RecipeMetadata]) -> tuple[tuple[str, ...], Problem | None]:
    """``name`` and its ancestors, root first (the root base excluded)."""
    chain: list[str] = []
    current = name
    while current and current != BASE:
        if current in chain:
            loop = " -> ".join([*reversed(chain), current])
            return (), Problem(overlays[name].file, "spec.base", f"circular inheritance: {loop}")
        overlay = overlays.get(current)
        if overlay is None:
            child = overlays[chain[-1]] if chain else overlays[name]
            return (), Problem(child.file, "spec.base", f'unknown base recipe "{current}"')
        chain.append(current)
        current = overlay.base
    return tuple(reversed(chain)), None


def _check_refs(
    recipe: RecipeMetadata, registry: Registry, files: Mapping[str, bytes], problems: list[Problem]
) -> None:
    for i, ref in enumerate(recipe.component_refs):
        field = f"spec.componentRefs[{i}]"
        if registry.get(ref.name) is None:
            known = ", ".join(registry.components)
            problems.append(
                Problem(recipe.file, f"{field}.name", f"unknown component {ref.name!r} (registry: {known})")
            )
        if ref.values_file and ref.values_file not in files:
            problems.append(
                Problem(recipe.file, f"{field}.valuesFile", f"file {ref.values_file!r} not found in the data")
            )
        elif ref.values_file:
            _parse(ref.values_file, files[ref.values_file], problems)
        for j, manifest in enumerate(ref.manifest_files):
            if manifest not in files:
                problems.append(
                    Problem(recipe.file, f"{field}.manifestFiles[{j}]", f"file {manifest!r} not found in the data")
                )


def decode_metadata(raw: Any, file: str) -> tuple[RecipeMetadata | None, list[Problem]]:
    """A ``recipeMetadata`` document (base or overlay) and every problem in it."""
    found, problems = decode_all(RecipeMetadata, raw, source=file)
    return (replace(found, file=file) if found is not None else None), problems


def decode_registry(raw: Any, file: str) -> tuple[dict[str, RegistryComponent], list[Problem]]:
    """A ``ComponentRegistry`` document: components by name, in file order, and every problem."""
    found, problems = decode_all(RegistryDocument, raw, source=file)
    return ({c.name: c for c in found.components} if found is not None else {}), problems


def _registry(files: Mapping[str, bytes], problems: list[Problem]) -> Registry:
    if REGISTRY_FILE not in files:
        problems.append(Problem(REGISTRY_FILE, "", "missing: a data set needs a component registry"))
        return Registry()
    comps, found = decode_registry(_parse(REGISTRY_FILE, files[REGISTRY_FILE], problems), REGISTRY_FILE)
    problems.extend(found)
    return Registry(MappingProxyType(comps))


def _overlay_file(path: str, data: bytes, problems: list[Problem]) -> RecipeMetadata | None:
    """The recipe in one ``overlays/`` file, or None (not a recipe file, or unusable)."""
    if path.endswith(".yml"):
        problems.append(Problem(path, "", "overlay files must end in .yaml"))
        return None
    if not path.endswith(".yaml"):
        return None
    raw = _parse(path, data, problems)
    if raw is None:
        return None
    recipe, found = decode_metadata(raw, path)
    problems.extend(found)
    return recipe if recipe is not None and recipe.name else None


def _base_problems(recipe: RecipeMetadata) -> list[Problem]:
    out = []
    if recipe.criteria is not None:
        out.append(Problem(recipe.file, "spec.criteria", "the base recipe applies to every query; remove criteria"))
    if recipe.base:
        out.append(Problem(recipe.file, "spec.base", "the base recipe cannot have a base"))
    return out


def _recipes(
    files: Mapping[str, bytes], problems: list[Problem]
) -> tuple[RecipeMetadata | None, dict[str, RecipeMetadata]]:
    """The base recipe and the overlays by name (names checked: reserved, unique)."""
    base: RecipeMetadata | None = None
    overlays: dict[str, RecipeMetadata] = {}
    for path in sorted(p for p in files if p.startswith(OVERLAY_DIR)):
        recipe = _overlay_file(path, files[path], problems)
        if recipe is None:
            continue
        if path == BASE_FILE:
            problems.extend(_base_problems(recipe))
            base = recipe
        elif recipe.name == BASE:
            problems.append(Problem(path, "metadata.name", f"the name {BASE!r} is reserved for {BASE_FILE}"))
        elif recipe.name in overlays:
            other = overlays[recipe.name].file
            problems.append(Problem(path, "metadata.name", f"duplicate overlay name {recipe.name!r} (also in {other})"))
        else:
            overlays[recipe.name] = recipe
    return base, overlays


def _chains(overlays: Mapping[str, RecipeMetadata], problems: list[Problem]) -> dict[str, tuple[str, ...]]:
    chains: dict[str, tuple[str, ...]] = {}
    for name in overlays:
        chain, problem = _chain(name, overlays)
        if problem is not None:
            problems.append(problem)
        else:
            chains[name] = chain
    return chains


def _check_orders(
    base: RecipeMetadata,
    overlays: Mapping[str, RecipeMetadata],
    chains: Mapping[str, tuple[str, ...]],
    problems: list[Problem],
) -> None:
    """The base, and each overlay with its ancestors, must give a valid recipe on its own."""
    base_refs = {r.name: r for r in base.component_refs}
    try:
        deployment_order(base_refs)
    except RecipeBuildError as exc:
        problems.append(Problem(base.file, "spec.componentRefs", exc.message))
        return
    for name, chain in chains.items():
        refs: dict[str, ComponentRef] = dict(base_refs)
        for member in chain:
            merge_refs(refs, overlays[member].component_refs)
        try:
            deployment_order(refs)
        except RecipeBuildError as exc:
            problems.append(Problem(overlays[name].file, "spec.componentRefs", exc.message))


def _index(
    overlays: Mapping[str, RecipeMetadata],
) -> tuple[dict[tuple[str, str, str, str, int], tuple[str, ...]], dict[str, int]]:
    """The overlays with criteria by criteria key, and each one's rank in application order."""
    matchable = sorted(
        (o for o in overlays.values() if o.criteria is not None),
        key=lambda o: sort_key(o.criteria, o.name),  # type: ignore[arg-type]
    )
    index: dict[tuple[str, str, str, str, int], list[str]] = {}
    for overlay in matchable:
        assert overlay.criteria is not None
        index.setdefault(overlay.criteria.key(), []).append(overlay.name)
    return {k: tuple(v) for k, v in index.items()}, {o.name: i for i, o in enumerate(matchable)}


def load_store(files: Mapping[str, bytes], *, source: str) -> RecipeStore:
    """Validate ``files`` and build the store, or raise :class:`RecipeDataError` listing every problem."""
    problems: list[Problem] = []
    registry = _registry(files, problems)
    base, overlays = _recipes(files, problems)
    if base is None:
        if BASE_FILE not in files:
            problems.append(Problem(BASE_FILE, "", "missing: a data set needs a base recipe"))
        raise RecipeDataError(problems)
    for recipe in (base, *overlays.values()):
        _check_refs(recipe, registry, files, problems)
    chains = _chains(overlays, problems)
    _check_orders(base, overlays, chains, problems)
    if problems:
        raise RecipeDataError(problems)
    index, rank = _index(overlays)
    return RecipeStore(
        base=base,
        overlays=MappingProxyType(overlays),
        registry=registry,
        files=MappingProxyType(dict(files)),
        version=content_version(files),
        source=source,
        chains=MappingProxyType(chains),
        index=MappingProxyType(index),
        rank=MappingProxyType(rank),
    )
