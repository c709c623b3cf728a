"""External recipe data layered over the embedded data (the CLI's ``--data``).

The external set must carry a ``registry.yaml``; its components replace embedded ones of the
same name (in place) and new ones are appended. Every other external file replaces the
embedded file at the same path, or adds a new one. The result is validated as a whole by
``load_store``, so a layer that breaks a reference fails with file and field named.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eidos_core import yaml
from eidos_core.data.load import REGISTRY_FILE
from eidos_core.errors import Problem, RecipeDataError
from eidos_core.yaml import Scalar


def _components(doc: Any, origin: str) -> list[Any]:
    if not isinstance(doc, Mapping):
        raise RecipeDataError([Problem(origin, "", "the registry must be a mapping")])
    components = doc.get("components") or []
    if not isinstance(components, list):
        raise RecipeDataError([Problem(origin, "components", "must be a list")])
    return components


def _as_written(value: Any) -> Any:
    """Raw-mode data back to plain data, numbers kept as the text they were written as.

    Registry fields are strings (``defaultVersion: 1.10`` means "1.10"); re-dumping the float
    would make it 1.1, so numbers travel as their text.
    """
    if isinstance(value, Scalar):
        if isinstance(value.value, int | float) and not isinstance(value.value, bool):
            return value.text
        return value.value
    if isinstance(value, dict):
        return {k: _as_written(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_written(v) for v in value]
    return value


def merge_registries(embedded: bytes, external: bytes, *, origin: str) -> bytes:
    """The embedded registry with the external components merged in by ``name``."""
    base = _as_written(yaml.load(embedded, source=REGISTRY_FILE, raw=True))
    extra = _as_written(yaml.load(external, source=origin, raw=True))
    merged = list(_components(base, REGISTRY_FILE))
    position = {c.get("name"): i for i, c in enumerate(merged) if isinstance(c, Mapping)}
    for index, component in enumerate(_components(extra, origin)):
        name = component.get("name") if isinstance(component, Mapping) else None
        if not isinstance(name, str) or not name:
            raise RecipeDataError([Problem(origin, f"components[{index}].name", "required")])
        if name in position:
            merged[position[name]] = component
        else:
            position[name] = len(merged)
            merged.append(component)
    # The embedded header wins: an external registry from another release still layers.
    return yaml.dump({**base, "components": merged}).encode()


def layer_files(embedded: Mapping[str, bytes], external: Mapping[str, bytes], *, origin: str) -> dict[str, bytes]:
    """``external`` over ``embedded``, per the module rules; ``origin`` names the external set."""
    if REGISTRY_FILE not in external:
        raise RecipeDataError(
            [Problem(f"{origin}/{REGISTRY_FILE}", "", "missing: external recipe data must include registry.yaml")]
        )
    files = dict(embedded)
    files.update(external)
    files[REGISTRY_FILE] = merge_registries(
        embedded[REGISTRY_FILE], external[REGISTRY_FILE], origin=f"{origin}/{REGISTRY_FILE}"
    )
    return files
