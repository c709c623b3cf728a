"""One value of a recipe by a dot path (``/v1/query``, ``eidos-cli query``): the selector's
syntax, the hydrated recipe it addresses, and the walk.

The hydrated recipe is the ``recipeResult`` document with two lists turned into mappings so that
they are addressed by name, and each component's values merged:

* ``componentRefs.<component>`` — the component's document plus ``values``: its values file(s)
  and the recipe's overrides merged exactly as the bundle merges them before ``--set`` and node
  scheduling (:func:`eidos_core.recipe.values.recipe_values`);
* ``constraints.<name>`` — the constraint's value expression (``constraints.K8s.server.version``
  → ``">= 1.29"``); always present, ``{}`` when the recipe has none.

Everything else is as in the document (``deploymentOrder``, ``criteria.service``,
``metadata.appliedOverlays`` …). A key that itself contains dots (a constraint name, a component
named ``a.b``, a Helm value key such as ``nvidia.com/gpu.present``) is matched by as many segments
as it has dots plus one; the longest such key wins over a shorter one. A list item is addressed
by its index from 0 (``deploymentOrder.0``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from eidos_core.errors import InvalidRequestError, NotFoundError
from eidos_core.recipe.model import Recipe
from eidos_core.recipe.values import recipe_values

__all__ = [
    "MAX_SEGMENTS",
    "MAX_SELECTOR_CHARS",
    "SELECTOR_PATTERN",
    "hydrate",
    "parse_selector",
    "query_recipe",
    "select",
]

MAX_SELECTOR_CHARS = 1024
MAX_SEGMENTS = 64
# Exactly what parse_selector takes (the OpenAPI document carries it; schemathesis holds the
# server to it): segments of anything but dots and control characters, no blanks around one.
_CONTROL = "\\x00-\\x1f\\x7f-\\x9f"
_SEGMENT = f"[^.\\s{_CONTROL}](?:[^.{_CONTROL}]*[^.\\s{_CONTROL}])?"
SELECTOR_PATTERN = f"^{_SEGMENT}(?:\\.{_SEGMENT}){{0,{MAX_SEGMENTS - 1}}}$"
_SELECTOR = re.compile(SELECTOR_PATTERN[1:-1])
_EXAMPLE = "componentRefs.gpu-operator.version"
_SHOWN_KEYS = 20  # keys listed in a 404: enough to spot a typo, never a whole values file


def _malformed(text: str, reason: str) -> InvalidRequestError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return InvalidRequestError(
        f"invalid selector {shown!r}: {reason} (a dot path such as {_EXAMPLE})",
        details={"field": "selector", "value": shown, "reason": reason},
    )


def parse_selector(text: str) -> tuple[str, ...]:
    """The segments of a dot path; a malformed one is an :class:`InvalidRequestError` naming
    the field ``selector`` and what is wrong."""
    if len(text) <= MAX_SELECTOR_CHARS and _SELECTOR.fullmatch(text):
        return tuple(text.split("."))
    if not text:
        raise _malformed(text, "it is empty")
    if len(text) > MAX_SELECTOR_CHARS:
        raise _malformed(text, f"longer than {MAX_SELECTOR_CHARS} characters")
    for index, char in enumerate(text):
        if ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0:
            raise _malformed(text, f"control character {char!r} at position {index}")
    segments = tuple(text.split("."))
    if len(segments) > MAX_SEGMENTS:
        raise _malformed(text, f"more than {MAX_SEGMENTS} segments")
    for index, segment in enumerate(segments):
        if not segment:
            raise _malformed(text, f"segment {index + 1} is empty (a leading, trailing or doubled dot)")
        if segment != segment.strip():
            raise _malformed(text, f"segment {index + 1} ({segment!r}) has blanks around it")
    raise AssertionError(f"selector {text!r} refused by the pattern for no reason found")  # pragma: no cover


def hydrate(recipe: Recipe, files: Mapping[str, bytes]) -> dict[str, Any]:
    """The document :func:`select` walks (see the module's docstring): a new dict, the caller's
    to keep. A values file the recipe names but ``files`` lacks is a :class:`NotFoundError`."""
    document = recipe.to_document()
    refs = {ref["name"]: ref for ref in document.get("componentRefs", [])}
    parsed: dict[str, dict[str, Any]] = {}  # a values file named by several components parsed once
    document["componentRefs"] = {
        ref.name: {**refs[ref.name], "values": recipe_values(ref, files, parsed)} for ref in recipe.component_refs
    }
    document["constraints"] = {c["name"]: c["value"] for c in document.get("constraints", [])}
    return document


def _dotted_key(node: Mapping[str, Any], path: tuple[str, ...], at: int) -> str | None:
    """The longest key of ``node`` with dots in it spelled by ``path[at:]``'s first segments."""
    best: str | None = None
    for key in node:
        if isinstance(key, str) and "." in key and (best is None or len(key) > len(best)):
            parts = key.count(".") + 1
            if ".".join(path[at : at + parts]) == key:
                best = key
    return best


def _not_found(path: tuple[str, ...], at: int, node: Any) -> NotFoundError:
    found = ".".join(path[:at])
    missing = path[at]
    if isinstance(node, Mapping):
        keys = [str(k) for k in node]
        available: str = ", ".join(keys[:_SHOWN_KEYS]) + (", ..." if len(keys) > _SHOWN_KEYS else "")
        has = f"keys: {available}" if keys else "it is empty"
    elif isinstance(node, list):
        keys = []
        has = f"a list of {len(node)}: index 0 to {len(node) - 1}" if node else "an empty list"
    else:
        keys = []
        has = f"a {type(node).__name__ if node is not None else 'null'} value, not a mapping"
    where = f"{found!r} exists" if found else "the recipe is a mapping"
    return NotFoundError(
        f"nothing at {'.'.join(path)!r}: {where}, {missing!r} does not ({has})",
        details={"field": "selector", "found": found, "missing": missing, "available": keys[:_SHOWN_KEYS]},
    )


def select(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` (the node itself: read it, do not modify it). A path that leaves the
    document is a :class:`NotFoundError` naming the longest prefix that exists (``details.found``)
    and the first segment that does not (``details.missing``)."""
    node: Any = document
    at = 0
    while at < len(path):
        segment = path[at]
        if isinstance(node, Mapping):
            key = _dotted_key(node, path, at)
            if key is not None:
                node = node[key]
                at += key.count(".") + 1
                continue
            if segment in node:
                node = node[segment]
                at += 1
                continue
        elif isinstance(node, list) and segment.isascii() and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
            at += 1
            continue
        raise _not_found(path, at, node)
    return node


def query_recipe(recipe: Recipe, files: Mapping[str, bytes], selector: str) -> Any:
    """The value of ``recipe`` at ``selector``: parsed (400 when malformed), hydrated with
    ``files`` (the recipe data's values files), selected (404 naming the longest path that
    exists)."""
    path = parse_selector(selector)
    return select(hydrate(recipe, files), path)
