"""Assemble a validated :class:`RecipeStore` from a set of files (relative path → bytes).

Layout: ``registry.yaml``; ``overlays/*.yaml`` (``overlays/base.yaml`` is the base);
``components/<name>/...`` (values files and manifests, kept as bytes). Everything is checked
before a store exists, and every problem is reported with its file and field — a store that
loads can answer every query its overlays were written for.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType

from eidos_core.data.decode import decode_metadata, decode_registry
from eidos_core.errors import Problem, RecipeBuildError, RecipeDataError
from eidos_core.recipe.build import BASE
from eidos_core.recipe.match import sort_key
from eidos_core.recipe.merge import merge_refs
from eidos_core.recipe.model import ComponentRef, RecipeMetadata, RecipeStore, Registry
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


def load_store(files: Mapping[str, bytes], *, source: str) -> RecipeStore:
    """Validate ``files`` and build the store, or raise :class:`RecipeDataError` listing every problem."""
    problems: list[Problem] = []
    registry = Registry()
    if REGISTRY_FILE not in files:
        problems.append(Problem(REGISTRY_FILE, "", "missing: a data set needs a component registry"))
    else:
        comps, found = decode_registry(_parse(REGISTRY_FILE, files[REGISTRY_FILE], problems), REGISTRY_FILE)
        problems.extend(found)
        registry = Registry(MappingProxyType(comps))

    base: RecipeMetadata | None = None
    overlays: dict[str, RecipeMetadata] = {}
    for path in sorted(files):
        if not path.startswith(OVERLAY_DIR):
            continue
        if path.endswith(".yml"):
            problems.append(Problem(path, "", "overlay files must end in .yaml"))
            continue
        if not path.endswith(".yaml"):
            continue
        raw = _parse(path, files[path], problems)
        if raw is None:
            continue
        recipe, found = decode_metadata(raw, path)
        problems.extend(found)
        if recipe is None or not recipe.name:
            continue
        if path == BASE_FILE:
            if recipe.criteria is not None:
                problems.append(
                    Problem(path, "spec.criteria", "the base recipe applies to every query; remove criteria")
                )
            if recipe.base:
                problems.append(Problem(path, "spec.base", "the base recipe cannot have a base"))
            base = recipe
            continue
        if recipe.name == BASE:
            problems.append(Problem(path, "metadata.name", f"the name {BASE!r} is reserved for {BASE_FILE}"))
            continue
        if recipe.name in overlays:
            other = overlays[recipe.name].file
            problems.append(Problem(path, "metadata.name", f"duplicate overlay name {recipe.name!r} (also in {other})"))
            continue
        overlays[recipe.name] = recipe
    if base is None:
        if BASE_FILE not in files:
            problems.append(Problem(BASE_FILE, "", "missing: a data set needs a base recipe"))
        raise RecipeDataError(problems)

    for recipe in (base, *overlays.values()):
        _check_refs(recipe, registry, files, problems)

    chains: dict[str, tuple[str, ...]] = {}
    for name in overlays:
        chain, problem = _chain(name, overlays)
        if problem is not None:
            problems.append(problem)
        else:
            chains[name] = chain

    base_refs = {r.name: r for r in base.component_refs}
    try:
        deployment_order(base_refs)
    except RecipeBuildError as exc:
        problems.append(Problem(base.file, "spec.componentRefs", exc.message))
    else:
        # Each overlay with its ancestors must give a valid recipe on its own.
        for name, chain in chains.items():
            refs: dict[str, ComponentRef] = dict(base_refs)
            for member in chain:
                merge_refs(refs, overlays[member].component_refs)
            try:
                deployment_order(refs)
            except RecipeBuildError as exc:
                problems.append(Problem(overlays[name].file, "spec.componentRefs", exc.message))

    if problems:
        raise RecipeDataError(problems)

    matchable = sorted(
        (o for o in overlays.values() if o.criteria is not None),
        key=lambda o: sort_key(o.criteria, o.name),  # type: ignore[arg-type]
    )
    index: dict[tuple[str, str, str, str, int], list[str]] = {}
    for overlay in matchable:
        assert overlay.criteria is not None
        index.setdefault(overlay.criteria.key(), []).append(overlay.name)
    return RecipeStore(
        base=base,
        overlays=MappingProxyType(overlays),
        registry=registry,
        files=MappingProxyType(dict(files)),
        version=content_version(files),
        source=source,
        chains=MappingProxyType(chains),
        index=MappingProxyType({k: tuple(v) for k, v in index.items()}),
        rank=MappingProxyType({o.name: i for i, o in enumerate(matchable)}),
    )
